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
import sys
import time
from pathlib import Path

from lo_uno import loaded, prop, script_main


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

    t0 = time.perf_counter()
    with loaded(path, timeout) as doc:
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
            doc.storeToURL(uno.systemPathToFileUrl(str(pdf.resolve())), (prop("FilterName", "calc_pdf_Export"),))
        return {"results": results, "load_s": load_s, "recalc_s": times}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workbook", type=Path)
    ap.add_argument("jobs", type=Path)
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds for the whole run")
    ap.add_argument("--save-pdf", type=Path, help="after the last set, export the workbook to this PDF")
    args = ap.parse_args(argv)
    return script_main(lambda: run(args.workbook, json.loads(args.jobs.read_text("utf-8")), args.timeout,
                                   args.save_pdf))


if __name__ == "__main__":
    sys.exit(main())
