"""Fill a workbook in LibreOffice and save it, as a user filling it in LibreOffice Calc and pressing Save would.

Run with the *system* Python, the only one with LibreOffice's UNO bridge (Debian ``libreoffice-calc`` and
``python3-uno``)::

    /usr/bin/python3 lo_fill_save.py IN.xlsx|IN.xlsm JOBS.json OUT.xlsx|OUT.xlsm [--view] [--timeout SECONDS]

``JOBS.json``::

    {"set": {"政府采购实际数": 14000, "涉密部门": "否", "满意度": null},   # defined names of input cells
     "cells": [["基础数据", "C3", "某某局"], ...],                        # optional: sheet, coordinate, value
     "recalc": true}                                                      # optional, default false

The workbook is loaded hidden with macros never run (``MacroExecutionMode`` 0; LibreOffice still imports the VBA
source, which is what it writes back). Each named input cell (the first cell of what the name refers to) and each
listed cell is set: a number with ``setValue``, ``true``/``false`` as 1/0, text with ``setString`` (never a formula,
also when it starts with ``=``), ``null`` clears the cell as the Delete key does (value, text, date, formula; the
formatting stays). As in Calc with automatic calculation on, the formulas that depend on a changed cell are
recalculated at once (in an .xlsm the ``PERF_`` calls then become ``#VALUE!``: LibreOffice cannot run them), the
others keep the values the file had; ``"recalc": true`` also runs ``calculateAll()``. The document is stored to
``OUT`` with the filter that LibreOffice's Save keeps for that format: ``.xlsx`` → "Calc MS Excel 2007 XML"
(Excel 2007–365), ``.xlsm`` → "Calc MS Excel 2007 VBA XML" (Excel 2007–365 (macro-enabled)), the filter it also
loads an .xlsm with; by ``storeAsURL`` (Save As keeping the format) from the loaded document.

A hidden document has no view, and LibreOffice then stores no view settings: the frozen panes of 基础数据, 评分表
and 扣分说明 are lost. ``--view`` loads it with a view (still no window: soffice runs headless), so that the file is
stored with them, as after a user's Save; nothing else in the file differs.

What LibreOffice 7.4 changes in a perfscore workbook when it saves (measured with scripts/lo_save_diff.py, see
docs/libreoffice-save.md): it rewrites every formula's text (sheet quotes dropped, ``1E-09`` → ``0.000000001``,
``4E-15`` → ``4E-015``, at most 15 significant digits; the same by perfscore.receiving.formula_key) and
``xl/vbaProject.bin`` (its own VBA export: every module gains a final empty line, the class module ``Dictionary``
loses all ``Attribute`` lines but ``VB_Name`` and gains ``Option ClassModule``, the PROJECT stream loses
``Class=Dictionary``, module order changes), and drops the code names of the workbook and the sheets; ``.xlsx``
written from an ``.xlsm`` has no VBA project.

Prints JSON to stdout::

    {"filter": "Calc MS Excel 2007 VBA XML", "loaded_as": "<the import filter>", "set": 3, "cells": 1,
     "load_s": 1.2, "save_s": 0.4}

Exit status: 0 on success, 2 when LibreOffice/UNO is missing, 1 on any other failure (message on stderr: an
unknown defined name, a name that refers to no cell, an unknown sheet, an unknown output suffix …). ``soffice``
runs in its own process group with its own profile and is always ended. This file must stay standalone (standard
library + ``uno`` only): the package does not import it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from lo_uno import loaded, prop, script_main

FILTERS = {".xlsx": "Calc MS Excel 2007 XML", ".xlsm": "Calc MS Excel 2007 VBA XML"}
CLEAR = 1 | 2 | 4 | 16  # com.sun.star.sheet.CellFlags VALUE | DATETIME | STRING | FORMULA: what Delete removes


def _check_value(value, what: str) -> None:
    if value is not None and not isinstance(value, (str, bool, int, float)):
        raise ValueError(f"{what}: a value must be a number, text or null, not {type(value).__name__}")


def _check_jobs(jobs) -> None:
    """The jobs file's shape, checked before soffice starts."""
    if not isinstance(jobs, dict):
        raise ValueError("the jobs file must hold a JSON object")
    unknown = set(jobs) - {"set", "cells", "recalc"}
    if unknown:
        raise ValueError(f"unknown keys in the jobs file: {sorted(unknown)}")
    if not isinstance(jobs.get("set") or {}, dict):
        raise ValueError('"set" must be an object: {"<defined name>": value, ...}')
    for name, value in (jobs.get("set") or {}).items():
        _check_value(value, name)
    if not isinstance(jobs.get("cells") or [], list):
        raise ValueError('"cells" must be a list of ["<sheet>", "<coordinate>", value]')
    for entry in jobs.get("cells") or []:
        if not (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], str)
                and isinstance(entry[1], str)):
            raise ValueError(f'"cells": each entry must be ["<sheet>", "<coordinate>", value], not {entry!r}')
        _check_value(entry[2], f"{entry[0]}!{entry[1]}")


def _put(cell, value) -> None:
    if value is None:
        cell.clearContents(CLEAR)
    elif isinstance(value, str):
        cell.setString(value)
    else:
        cell.setValue(float(value))


def run(src: Path, jobs: dict, out: Path, timeout: float, view: bool = False) -> dict:
    import uno  # noqa: PLC0415

    suffix = out.suffix.lower()
    if suffix not in FILTERS:
        raise ValueError(f"output must end in {' or '.join(FILTERS)}: {out}")
    _check_jobs(jobs)
    t0 = time.perf_counter()
    with loaded(src, timeout, hidden=not view) as doc:
        load_s = time.perf_counter() - t0
        loaded_as = next((a.Value for a in doc.getArgs() if a.Name == "FilterName"), None)
        names = doc.NamedRanges
        for name, value in (jobs.get("set") or {}).items():
            if not names.hasByName(name):
                raise KeyError(f"no defined name {name!r} in {src.name}")
            try:
                cells = names.getByName(name).getReferredCells()
            except Exception as exc:  # noqa: BLE001 - a UNO error: say which name
                raise ValueError(f"defined name {name!r} does not refer to cells: {exc}") from None
            if cells is None:
                raise ValueError(f"defined name {name!r} does not refer to cells")
            _put(cells.getCellByPosition(0, 0), value)
        sheets = doc.Sheets
        for entry in jobs.get("cells") or []:
            sheet, coord, value = entry
            if not sheets.hasByName(sheet):
                raise KeyError(f"no sheet {sheet!r} in {src.name}")
            _put(sheets.getByName(sheet).getCellRangeByName(coord), value)
        if jobs.get("recalc"):
            doc.calculateAll()
        t1 = time.perf_counter()
        doc.storeAsURL(uno.systemPathToFileUrl(str(out.resolve())),
                       (prop("FilterName", FILTERS[suffix]), prop("Overwrite", True)))
        save_s = time.perf_counter() - t1
    return {"filter": FILTERS[suffix], "loaded_as": loaded_as, "set": len(jobs.get("set") or {}),
            "cells": len(jobs.get("cells") or []), "load_s": round(load_s, 3), "save_s": round(save_s, 3)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workbook", type=Path)
    ap.add_argument("jobs", type=Path)
    ap.add_argument("output", type=Path)
    ap.add_argument("--view", action="store_true", help="load with a view, so that view settings are saved")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds for the whole run")
    args = ap.parse_args(argv)
    return script_main(lambda: run(args.workbook, json.loads(args.jobs.read_text("utf-8")), args.output,
                                   args.timeout, args.view))


if __name__ == "__main__":
    sys.exit(main())
