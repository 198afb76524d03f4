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
import sys
from pathlib import Path

from lo_uno import loaded, script_main


def list_modules(path: Path, timeout: float) -> dict:
    with loaded(path, timeout, read_only=True) as doc:
        libs = doc.BasicLibraries
        result = {"libraries": list(libs.getElementNames()), "modules": {}}
        if libs.hasByName("VBAProject"):
            libs.loadLibrary("VBAProject")
            lib = libs.getByName("VBAProject")
            for name in lib.getElementNames():
                result["modules"][name] = lib.getByName(name)
        return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workbook", type=Path)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds for start-up and loading")
    args = ap.parse_args(argv)
    return script_main(lambda: list_modules(args.workbook, args.timeout))


if __name__ == "__main__":
    sys.exit(main())
