"""The scoring workbook, generated from a year's indicator system (openpyxl), with live PERF_* formulas.

Sheets: 填报说明, 基础数据 (inputs with Chinese defined names and validation), 评分表 (the official table with a
live formula in every 分数 cell), 自评表 (goal-completion table), 扣分说明 (deductions and reasons), and the hidden
``xlwings.conf``. Each sheet is written by its own module in ``sheets/`` (see ``sheets/__init__.py``); this module
puts them together and saves the file. The VBA project is assembled from source (xlwings.bas, Dictionary.cls, the
generated xlwings_udfs module). Every formula cell also carries the value the engine computes for the inputs present
(injected after openpyxl saves, see ``cache.py``), so WPS, LibreOffice and previewers show the right numbers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook

from perfscore.excel.layout import CONF_SHEET, HEADER_FIELDS, REGION_NAME, YEAR_NAME
from perfscore.excel.sheets import deductions, goal_table, guide, inputs, scores
from perfscore.excel.sheets.context import Context, amount_unit
from perfscore.excel.sheets.formulas import STATUS_TEXT
from perfscore.excel.sheets.goal_table import GOAL_ROWS_PER_CATEGORY, GOAL_TASK_ROWS
from perfscore.excel.sheets.scores import grade_bands
from perfscore.excel.sheets.style import INPUT_FILL
from perfscore.excel.xlconf import write_conf_sheet
from perfscore.excel.cache import inject_cached_values
from perfscore.excel.fingerprint import LAYOUT_PLACEHOLDER, layout_of
from perfscore.excel.package import read_package
from perfscore.excel.vba import build_vba_project, document_modules, parse_module_file, save_xlsm, xlwings_modules
from perfscore.excel.xlwings_bridge import generate_udf_module
from perfscore.files import atomic_output, check_output

CALC_ID = 191029

__all__ = ["Built", "build_workbook", "write_workbook",
           # re-exported for callers (CLI, receiving, tests, benchmarks)
           "CONF_SHEET", "HEADER_FIELDS", "REGION_NAME", "YEAR_NAME", "GOAL_ROWS_PER_CATEGORY", "GOAL_TASK_ROWS",
           "INPUT_FILL", "STATUS_TEXT", "amount_unit", "grade_bands"]


@dataclass
class Built:
    """The workbook plus what the engine computed for each formula cell (for cached values and tests)."""
    wb: Workbook
    system: object = None                         # the indicator system it was built from
    cached: dict = field(default_factory=dict)    # (sheet title, coordinate) -> value
    formulas: dict = field(default_factory=dict)  # (sheet title, coordinate) -> formula text
    engine: str = "python"                        # "python" (PERF_* functions) or "excel" (native formulas)
    exprs: dict = field(default_factory=dict)     # (sheet title, coordinate) -> native.X, where built from one
    names: dict = field(default_factory=dict)     # defined name -> (sheet title, coordinate)


def build_workbook(system, case=None, password=None, engine="python") -> Built:
    """Build the workbook in memory (no VBA yet); ``case`` fills in the inputs. ``engine``: "python" for PERF_*
    functions (the .xlsm), "excel" for the rules as native formulas (the .xlsx for WPS, LibreOffice, Mac …)."""
    if case is not None:
        case.check_against(system)
    ctx = Context(Built(Workbook(), system), case, password, engine)
    wb = ctx.built.wb
    wb.remove(wb.active)
    wb.properties.creator = "perfscore"
    wb.properties.title = f"{system.title}（{system.year} 年版）"
    guide.write(ctx, wb.create_sheet("填报说明"))
    inputs.write(ctx, wb.create_sheet("基础数据"))
    scores.write(ctx, wb.create_sheet("评分表"))
    if system.goal_table:
        goal_table.write(ctx, wb.create_sheet("自评表"))
    deductions.write(ctx, wb.create_sheet("扣分说明"))
    if ctx.fx.engine == "python":
        conf = wb.create_sheet(CONF_SHEET)  # portable keys only, see xlconf.py
        write_conf_sheet(conf)
        conf.sheet_state = "hidden"
    wb.active = 1
    # openpyxl writes calcId 124519 (Excel 2007), and Excel recalculates in full a file last calculated by another
    # version: on a PC without Python every PERF_ cache would become an error. 191029 is Excel 2019 / Microsoft 365's
    # (docs/excel-formula-workbook.md says what each version does).
    wb.calculation.calcId = CALC_ID
    return ctx.built


def unlocked_cells(wb) -> set:
    """"sheet!coord" of every cell the department may fill (unlocked on a protected sheet)."""
    return {f"{ws.title}!{c.coordinate}" for ws in wb.worksheets for c in ws._cells.values()
            if c.protection is not None and c.protection.locked is False}


def layout_cell(built: Built) -> str:
    """"sheet!coord" of the hint beside 规则地区, where the workbook records its layout id."""
    sheet, coord = built.names[REGION_NAME]
    return f"{sheet}!E{coord.lstrip('ABCDEFGHIJKLMNOPQRSTUVWXYZ')}"


def layout_stamp(built: Built, path, kind: str | None = None) -> dict:
    """The text replacement that records the saved file's layout id in its hint cell (for ``inject_cached_values``)."""
    lay = layout_of(read_package(path), built.system.key or "shenzhen", built.system.year, kind or built.engine,
                    unlocked_cells(built.wb), layout_cell(built))
    return {LAYOUT_PLACEHOLDER: f"（版式 {lay.layout_id}）"}


def write_workbook(built: Built, path, *, force: bool = False, stamp: bool = True) -> Path:
    """Save as a macro-enabled workbook with the VBA project and cached values, its layout id recorded (unless
    ``stamp`` is false: the layout reader's own copy). Never overwrites silently."""

    if built.engine == "excel":
        path = check_output(path, ".xlsx", force, "Excel 公式版工作簿")
        with atomic_output(path) as tmp:
            built.wb.save(tmp)
            inject_cached_values(tmp, built.cached, layout_stamp(built, tmp) if stamp else None)
        return path
    path = check_output(path, ".xlsm", force, "含宏的工作簿")
    wb = built.wb
    # the wrappers of exactly the functions this workbook's system defines, with its own arguments
    modules = xlwings_modules() + [parse_module_file(generate_udf_module(path.name, [built.system]), "xlwings_udfs.bas")]
    vba_bin = build_vba_project(modules + document_modules(wb))
    with atomic_output(path) as tmp:
        save_xlsm(wb, tmp, vba_bin)
        inject_cached_values(tmp, built.cached, layout_stamp(built, tmp) if stamp else None)
    return path
