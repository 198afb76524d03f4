"""Recalculate a workbook in LibreOffice for many input sets (one soffice, the workbook loaded once).

Run with the *system* Python, the only one with LibreOffice's UNO bridge (Debian ``libreoffice-calc`` and
``python3-uno``)::

    /usr/bin/python3 lo_recalc.py WORKBOOK.xlsx JOBS.json [--timeout SECONDS] [--save-pdf OUT.pdf]

``JOBS.json``::

    {"read": [["评分表", "G4"], ...],            # cells read after each recalculation
     "sets": [{"政府采购实际数": 14000, "满意度": null, "涉密部门": "否"}, ...]}

For each set, every named input in it is set (a number with setValue, text with setString, null clears the
cell; an input whose value did not change since the previous set is left alone), then ``calculateAll()`` runs and the ``read`` cells are read. Prints JSON to stdout::

    {"results": [[{"v": 1.95} | {"s": "未填写：…"} | {"e": 503} | {"empty": true}, ...], ...],
     "load_s": 1.2, "recalc_s": [0.004, ...]}

Exit status: 0 on success, 2 when LibreOffice/UNO is missing, 1 on any other failure (message on stderr).
``soffice`` runs in its own process group with its own profile and is always ended. This file must stay
standalone (standard library + ``uno`` only): the package does not import it.
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


def _prop(name: str, value):
    from com.sun.star.beans import PropertyValue  # noqa: PLC0415

    p = PropertyValue()
    p.Name = name
    p.Value = value
    return p


def _kill_group(proc: subprocess.Popen) -> None:
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


def _read(cell) -> dict:
    from com.sun.star.table.CellContentType import EMPTY, FORMULA, TEXT  # noqa: PLC0415

    t = cell.getType()
    if t == EMPTY:
        return {"empty": True}
    if t == TEXT:
        return {"s": cell.getString()}
    if t == FORMULA:
        err = cell.getError()
        if err:
            return {"e": err}
        # FormulaResultType2: 1 VALUE, 2 STRING (com.sun.star.sheet.FormulaResult)
        if cell.FormulaResultType2 == 2:
            return {"s": cell.getString()}
    return {"v": cell.getValue()}


def run(path: Path, jobs: dict, timeout: float, pdf: Path | None) -> dict:
    import uno  # noqa: PLC0415

    soffice = shutil.which("soffice")
    if soffice is None:
        raise FileNotFoundError("soffice not found")
    deadline = time.monotonic() + 60
    pipe_name = f"perfscore_recalc_{uuid.uuid4().hex}"
    profile = tempfile.mkdtemp(prefix="perfscore_lo_profile_")
    proc = subprocess.Popen(
        [soffice, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless", "--invisible", "--norestore",
         "--nologo", "--nodefault", "--nolockcheck", f"--accept=pipe,name={pipe_name};urp;"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    watchdog = threading.Timer(timeout, _kill_group, args=(proc,))
    watchdog.daemon = True
    watchdog.start()
    doc = None
    try:
        ctx = _connect(pipe_name, deadline)
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        t0 = time.perf_counter()
        doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(str(path.resolve())), "_blank", 0,
                                           (_prop("Hidden", True), _prop("MacroExecutionMode", 0)))
        if doc is None:
            raise RuntimeError(f"LibreOffice could not load {path}")
        load_s = time.perf_counter() - t0
        names = doc.NamedRanges
        inputs = {}
        for s in jobs["sets"]:
            for name in s:
                if name not in inputs:
                    inputs[name] = names.getByName(name).getReferredCells().getCellByPosition(0, 0)
        sheets = doc.Sheets
        reads = [sheets.getByName(sh).getCellRangeByName(coord) for sh, coord in jobs["read"]]
        results, times = [], []
        last: dict = {}
        for s in jobs["sets"]:
            for name, v in s.items():
                if name in last and last[name] == v and type(last[name]) is type(v):
                    continue  # unchanged since the previous set: one UNO call saved
                last[name] = v
                cell = inputs[name]
                if v is None:
                    cell.setString("")
                elif isinstance(v, str):
                    cell.setString(v)
                else:
                    cell.setValue(float(v))
            t = time.perf_counter()
            doc.calculateAll()
            times.append(time.perf_counter() - t)
            results.append([_read(c) for c in reads])
        if pdf is not None:
            doc.storeToURL(uno.systemPathToFileUrl(str(pdf.resolve())), (_prop("FilterName", "calc_pdf_Export"),))
        return {"results": results, "load_s": load_s, "recalc_s": times}
    finally:
        watchdog.cancel()
        try:
            if doc is not None:
                doc.close(True)
        except Exception:  # noqa: BLE001 - soffice is killed below anyway
            pass
        _kill_group(proc)
        shutil.rmtree(profile, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workbook", type=Path)
    ap.add_argument("jobs", type=Path)
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds for the whole run")
    ap.add_argument("--save-pdf", type=Path, help="after the last set, export the workbook to this PDF")
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
        result = run(args.workbook, json.loads(args.jobs.read_text("utf-8")), args.timeout, args.save_pdf)
    except Exception as exc:  # noqa: BLE001 - report any failure as exit status 1
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    json.dump(result, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
