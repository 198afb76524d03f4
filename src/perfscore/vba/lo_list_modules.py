"""List the VBA modules LibreOffice sees in a workbook (a real-world check of a built .xlsm).

Run with the *system* Python, which is the only one that has LibreOffice's UNO
bridge (Debian packages ``libreoffice-calc`` and ``python3-uno``)::

    /usr/bin/python3 lo_list_modules.py WORKBOOK.xlsm [--timeout SECONDS]

It starts its own headless ``soffice`` (own user profile in a temporary
directory, own named pipe, so it never disturbs another LibreOffice), loads the
workbook with ``MacroExecutionMode`` 0 (never run macros), and prints JSON to
stdout::

    {"libraries": ["Standard", "VBAProject"],
     "modules": {"ThisWorkbook": "<source as LibreOffice imported it>", ...}}

``modules`` are the elements of ``BasicLibraries`` -> ``VBAProject``.  Exit
status: 0 on success, 2 when LibreOffice/UNO is missing, 1 on any other
failure (message on stderr).  ``soffice`` is always killed at the end.

This file must stay standalone (standard library + ``uno`` only): it is not
imported by the package.
"""

from __future__ import annotations

import argparse
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


def _connect(pipe_name: str, deadline: float):
    import uno  # noqa: PLC0415  (only available to the system Python)
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


def _prop(name: str, value):
    from com.sun.star.beans import PropertyValue  # noqa: PLC0415

    p = PropertyValue()
    p.Name = name
    p.Value = value
    return p


def list_modules(path: Path, timeout: float) -> dict:
    import uno  # noqa: PLC0415

    soffice = shutil.which("soffice")
    if soffice is None:
        raise FileNotFoundError("soffice not found")
    deadline = time.monotonic() + timeout
    pipe_name = f"perfscore_lo_{uuid.uuid4().hex}"
    profile = tempfile.mkdtemp(prefix="perfscore_lo_profile_")
    proc = subprocess.Popen(
        [
            soffice,
            f"-env:UserInstallation={Path(profile).as_uri()}",
            "--headless",
            "--invisible",
            "--norestore",
            "--nologo",
            "--nodefault",
            "--nolockcheck",
            f"--accept=pipe,name={pipe_name};urp;",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # own process group: we can end soffice and its children
    )
    # Watchdog: a UNO call that hangs cannot be interrupted from Python, but
    # killing soffice makes it fail at once; so kill it when time is up.
    watchdog = threading.Timer(timeout, _kill_group, args=(proc,))
    watchdog.daemon = True
    watchdog.start()
    doc = None
    try:
        ctx = _connect(pipe_name, deadline)
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        doc = desktop.loadComponentFromURL(
            uno.systemPathToFileUrl(str(path.resolve())),
            "_blank",
            0,
            (_prop("Hidden", True), _prop("MacroExecutionMode", 0), _prop("ReadOnly", True)),
        )
        if doc is None:
            raise RuntimeError(f"LibreOffice could not load {path}")
        libs = doc.BasicLibraries
        result = {"libraries": list(libs.getElementNames()), "modules": {}}
        if libs.hasByName("VBAProject"):
            libs.loadLibrary("VBAProject")
            lib = libs.getByName("VBAProject")
            for name in lib.getElementNames():
                result["modules"][name] = lib.getByName(name)
        return result
    finally:
        watchdog.cancel()
        try:
            if doc is not None:
                doc.close(True)
        except Exception:  # noqa: BLE001 - best effort, soffice is killed below anyway
            pass
        _kill_group(proc)
        shutil.rmtree(profile, ignore_errors=True)


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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workbook", type=Path)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds for start-up and loading")
    args = ap.parse_args(argv)
    try:
        import uno  # noqa: F401, PLC0415
    except ImportError:
        print("python3-uno missing: apt-get install libreoffice-calc python3-uno", file=sys.stderr)
        return 2
    if shutil.which("soffice") is None:
        print("soffice missing: apt-get install libreoffice-calc python3-uno", file=sys.stderr)
        return 2
    try:
        result = list_modules(args.workbook, args.timeout)
    except Exception as exc:  # noqa: BLE001 - report any failure as exit status 1
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
