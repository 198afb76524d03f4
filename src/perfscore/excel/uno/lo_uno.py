"""What the LibreOffice (UNO) scripts beside this file share: start a headless soffice of their own, load one
workbook, always end soffice; and the command-line frame (missing UNO → exit 2, any failure → exit 1, JSON out).

These scripts run under the *system* Python, the only one with LibreOffice's UNO bridge (Debian
``libreoffice-calc`` and ``python3-uno``), as ``/usr/bin/python3 <this folder>/<script>.py``; the script's own
folder is then first on ``sys.path``, which is how they import this module. They must stay standalone (standard
library + ``uno``): the package does not import them. Their folder holds nothing else, so nothing here shadows a
standard-library module.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path


def prop(name: str, value):
    from com.sun.star.beans import PropertyValue  # noqa: PLC0415 (only the system Python has it)

    p = PropertyValue()
    p.Name = name
    p.Value = value
    return p


def _connect(pipe_name: str, deadline: float):
    import uno  # noqa: PLC0415
    from com.sun.star.connection import NoConnectException  # noqa: PLC0415

    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    url = f"uno:pipe,name={pipe_name};urp;StarOffice.ComponentContext"
    while True:
        try:
            return resolver.resolve(url)
        except NoConnectException:
            if time.monotonic() > deadline:
                raise TimeoutError("soffice did not accept a UNO connection in time") from None
            time.sleep(0.2)


def _kill_group(proc: subprocess.Popen) -> None:
    """End the soffice we started (its own process group: launcher + soffice.bin)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=5)
            break
        except subprocess.TimeoutExpired:
            continue


@contextlib.contextmanager
def loaded(path: Path, timeout: float, *, read_only: bool = False, connect_s: float = 60.0, hidden: bool = True):
    """A workbook loaded (hidden, macros never run) in a soffice of our own (own profile, own pipe), ended when
    the block ends or ``timeout`` seconds pass (a hanging UNO call cannot be interrupted, but killing soffice
    makes it fail at once). ``hidden=False`` gives the document a view (no window: soffice runs headless), whose
    settings — frozen panes, for one — LibreOffice then writes when it stores the document, as after a user's
    Save; a hidden document is stored without them."""
    import uno  # noqa: PLC0415

    soffice = shutil.which("soffice")
    if soffice is None:
        raise FileNotFoundError("soffice not found")
    deadline = time.monotonic() + min(connect_s, timeout)
    pipe_name = f"perfscore_lo_{uuid.uuid4().hex}"
    profile = tempfile.mkdtemp(prefix="perfscore_lo_profile_")
    proc = subprocess.Popen(
        [soffice, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless", "--invisible", "--norestore",
         "--nologo", "--nodefault", "--nolockcheck", f"--accept=pipe,name={pipe_name};urp;"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)  # own process group: we can end soffice and its children
    watchdog = threading.Timer(timeout, _kill_group, args=(proc,))
    watchdog.daemon = True
    watchdog.start()
    doc = None
    try:
        ctx = _connect(pipe_name, deadline)
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        props = (prop("Hidden", hidden), prop("MacroExecutionMode", 0)) + ((prop("ReadOnly", True),) if read_only else ())
        doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(str(Path(path).resolve())), "_blank", 0, props)
        if doc is None:
            raise RuntimeError(f"LibreOffice could not load {path}")
        yield doc
    finally:
        watchdog.cancel()
        try:
            if doc is not None:
                doc.close(True)
        except Exception:  # noqa: BLE001 - best effort, soffice is killed below anyway
            pass
        _kill_group(proc)
        shutil.rmtree(profile, ignore_errors=True)


def script_main(work) -> int:
    """Run ``work()`` (which returns a JSON-able result) as a command: exit 2 without UNO or soffice, 1 on any
    failure (message on stderr), else print the JSON and exit 0."""
    try:
        import uno  # noqa: F401, PLC0415
    except ImportError:
        print("python3-uno missing: apt-get install libreoffice-calc python3-uno", file=sys.stderr)
        return 2
    if shutil.which("soffice") is None:
        print("soffice missing: apt-get install libreoffice-calc python3-uno", file=sys.stderr)
        return 2
    try:
        result = work()
    except Exception as exc:  # noqa: BLE001 - report any failure as exit status 1
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    json.dump(result, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0
