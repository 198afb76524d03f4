"""VBA project (vbaProject.bin) built from source text, in pure Python.

See :mod:`perfscore.excel.vba.project` for the public API; :mod:`.ovba` is the
MS-OVBA compression and :mod:`.cfb` the compound-file writer underneath.
The LibreOffice check of a built workbook (``perfscore/uno/lo_list_modules.py``) is a standalone script for the system Python (UNO).
"""

from perfscore.excel.vba.project import (
    VbaModule,
    build_vba_project,
    document_modules,
    parse_module_file,
    read_module_file,
    save_xlsm,
    stored_source,
    xlwings_modules,
)

__all__ = [
    "VbaModule",
    "build_vba_project",
    "document_modules",
    "parse_module_file",
    "read_module_file",
    "save_xlsm",
    "stored_source",
    "xlwings_modules",
]
