"""xlwings 0.37.8 configuration as its VBA (``xlwings.bas``, embedded in every perfscore workbook) reads it.

Facts from xlwings 0.37.8's ``xlwings.bas`` (line numbers of the file shipped in the wheel):
- ``GetConfig`` (l. 649-712) looks a key up in layers and takes the FIRST hit: the workbook's ``xlwings.conf``
  sheet, then ``xlwings.conf`` in the workbook's folder, then the per-user ``%USERPROFILE%\\.xlwings\\xlwings.conf``
  (``GetConfigFilePath``, l. 601-607), then the default. Every value goes through ``ExpandEnvironmentStrings``,
  so ``%LOCALAPPDATA%\\...`` paths work. A per-user file therefore cannot override a key the sheet sets, but it
  silently supplies every key the sheet leaves out (e.g. a stale ``INTERPRETER_WIN`` written by
  ``xlwings config create``, which ``xlwings addin install`` runs: xlwings/cli.py ``_addin_install``/``config_create``).
- ``GetConfigFromSheet`` (l. 623-646): keys in column A from A1 down to the first blank cell (``End(xlDown)``),
  upper-cased, values in column B; a duplicate key makes ``Dictionary.Add`` fail.
- ``GetConfigFromFile`` (l. 766-791): ``Input #`` reads comma-separated ``"KEY","VALUE"`` lines, key compared
  case-insensitively, first match wins.
- ``UDF MODULES`` is read only by ``GetUdfModules`` (l. 337-367), which only ``ImportPythonUDFsBase`` (l. 539,
  the "Import Functions" button) calls. perfscore's generated wrappers name ``perfscore.udfs`` in every
  ``XLPy.CallUDF`` call, so the key matters only if someone re-imports the functions.
- ``ADD_WORKBOOK_TO_PYTHONPATH`` (``XLPyCommand``, l. 409) is passed to ``xlwings.utils.prepare_sys_path``, which resolves the
  workbook's folder - including OneDrive/SharePoint URLs, which raise when no local copy is found
  (xlwings/utils.py ``fullname_url_to_local_path``) - only when the value is ``"true"``. perfscore never needs
  the workbook's folder on ``sys.path``.
"""
from __future__ import annotations

import re
from perfscore.errors import PerfscoreError
from perfscore.excel.layout import CONF_SHEET
from perfscore.files import xml_text

UDF_MODULE = "perfscore.udfs"
# what every perfscore workbook carries: portable (no machine path), and enough for Excel to run the wrappers
PORTABLE = {"UDF MODULES": UDF_MODULE, "ADD_WORKBOOK_TO_PYTHONPATH": "FALSE"}
_WIN_ABS = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")


def conf_rows(extra=None) -> list[tuple[str, str]]:
    """Key/value rows for the ``xlwings.conf`` sheet: ours first, then any other keys (in their order)."""
    rows = list(PORTABLE.items())
    for k, v in (extra or {}).items():
        if k.upper() not in PORTABLE and str(k).strip():
            rows.append((k, v))
    return rows


def write_conf_sheet(ws, extra=None) -> None:
    """Fill an (empty) ``xlwings.conf`` worksheet: keys in A, values in B from row 1, no blank row between."""
    for r, (k, v) in enumerate(conf_rows(extra), 1):  # extra keys come from last year's workbook: text as XML holds it
        ws.cell(r, 1, xml_text(k))
        ws.cell(r, 2, xml_text(v))


def sheet_entries(rows) -> list[tuple[str, object]]:
    """(key, value) pairs exactly as ``GetConfigFromSheet`` collects them from the sheet's rows: column A from A1
    down to the first blank cell (A1 alone when A2 is blank). Keys are returned as written."""
    out = []
    for r in rows:
        key = r[0] if r else None
        if key is None or (isinstance(key, str) and key == ""):
            break
        out.append((str(key), r[1] if len(r) > 1 and r[1] != "" else None))
    return out


def sheet_config(rows) -> tuple[dict, list[str]]:
    """Upper-cased key -> value as the VBA sees it, plus the keys that occur twice (a runtime error in Excel)."""
    conf, dups = {}, []
    for k, v in sheet_entries(rows):
        if k.upper() in conf:
            dups.append(k)
        conf.setdefault(k.upper(), v)
    return conf, dups


def read_conf_sheet(path) -> list[tuple[str, object]] | None:
    """The ``xlwings.conf`` sheet of a workbook as (key, value) pairs, or None when it has no such sheet."""
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
        if CONF_SHEET not in wb.sheet_names:
            return None
        return sheet_entries(wb.get_sheet_by_name(CONF_SHEET).to_python())
    except BaseException as exc:  # calamine's parse errors (pyo3 panics are BaseException)
        if isinstance(exc, (KeyboardInterrupt, SystemExit, MemoryError)):
            raise
        raise PerfscoreError(f"工作簿中的 {CONF_SHEET} 工作表无法读取（文件已损坏）：请对方用 Excel 重新保存后再用") from None


_LINE = re.compile(r'^\s*"([^"]*)"\s*,\s*"([^"]*)"')


def parse_user_conf(text: str) -> dict:
    """The per-user ``xlwings.conf`` (``"KEY","VALUE"`` lines, as xlwings's ``update_user_config`` writes them):
    upper-cased key -> value, first occurrence wins (``GetConfigFromFile`` stops at the first match)."""
    out = {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if m and m.group(1).upper() not in out:
            out[m.group(1).upper()] = m.group(2)
    return out


def is_machine_path(value) -> bool:
    """A drive-letter or UNC path with no %VARIABLE%: right on one PC only."""
    return isinstance(value, str) and bool(_WIN_ABS.match(value.strip())) and "%" not in value


def effective(key: str, sheet: dict | None, directory: dict | None, user: dict | None, default=None):
    """(value, layer) that ``GetConfig`` returns for ``key``: the first layer that has the key at all (an empty
    value included: ``Exists``/``GetConfigFromFile`` only ask whether the key is there), else the default."""
    key = key.upper()
    for layer, conf in (("sheet", sheet), ("directory", directory), ("user", user)):
        if conf and key in conf:
            return ("" if conf[key] is None else conf[key]), layer
    return default, "default"
