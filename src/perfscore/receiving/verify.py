"""How a received workbook differs from the genuine layout it claims (``compare``), worst first.

The genuine layout (``perfscore.excel.fingerprint.Layout``) is the blank template regenerated for the file's
indicator system, rules year, region and kind. Only the cells the template leaves unlocked may differ; formulas are
compared by meaning (``formula_key``), so the re-spelling Excel, WPS and LibreOffice do on saving is not a change.
A finding that can change a score, or what a reviewer takes for one, is ``decisive`` and makes the file 未通过.
"""
from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass

from perfscore.excel.fingerprint import LAYOUT_PLACEHOLDER, LAYOUT_TEXT, Layout, normal_value, normal_vba
from perfscore.excel.package import Package, Sheet, col_letter, rc, single_cell
from perfscore.receiving.formula_key import describe_difference, formula_key
from perfscore.excel.vba.extract import VbaReadError, read_modules

ERROR, WARNING = "错误", "警告"
MIN_VISIBLE_HEIGHT = 6.0     # points: a row lower than this cannot show a line of 9-pt text
MIN_VISIBLE_WIDTH = 1.0      # characters
BUILTIN_NAMES = ("_xlnm.print_area", "_xlnm.print_titles", "_xlnm._filterdatabase")


# --------------------------------------------------------------------------------------------- comparison
@dataclass
class Finding:
    level: str
    where: str
    message: str
    decisive: bool = False   # can change a score or what the reviewer takes for one


def _invisible_free(s: str) -> str:
    s = unicodedata.normalize("NFKC", s)
    return "".join(ch for ch in s if unicodedata.category(ch) not in ("Cf", "Cc", "Zs", "Zl", "Zp")).strip()


def compare(pkg: Package, lay: Layout) -> list[Finding]:
    """Everything in which ``pkg`` differs from the genuine layout, worst first."""
    out: list[Finding] = []
    out += _compare_sheets(pkg, lay)
    out += _compare_names(pkg, lay)
    for title, _state in lay.sheets:
        sheet = pkg.sheet(title)
        if sheet is not None:
            out += _compare_cells(sheet, lay)
            out += _compare_rows_cols(sheet, lay)
            out += _compare_sheet_details(sheet, lay)
    if lay.kind == "python":
        out += _compare_vba(pkg, lay)
    out.sort(key=lambda f: (not f.decisive, f.level != ERROR))
    return out


def _compare_sheets(pkg: Package, lay: Layout) -> list[Finding]:
    out = []
    titles = [s.title for s in pkg.sheets]
    want = {t: st for t, st in lay.sheets}
    for t in {t for t in titles if titles.count(t) > 1}:
        out.append(Finding(ERROR, "工作表", f"有 {titles.count(t)} 张工作表都叫“{t}”：正常的工作簿不会有同名工作表，"
                                         f"审阅者看到的可能不是计分用的那张", True))
    for title, state in lay.sheets:
        s = pkg.sheet(title)
        if s is None:
            out.append(Finding(ERROR, "工作表", f"缺少工作表“{title}”（被删除或改名）", True))
        elif s.state != state and state == "visible":
            what = "深度隐藏（在 Excel 中无法直接取消隐藏）" if s.state == "veryHidden" else "隐藏"
            out.append(Finding(ERROR, title, f"工作表被{what}：审阅时看不到“{title}”，计分却用它的内容；请取消隐藏", True))
        elif s.state != state:
            out.append(Finding(WARNING, title, f"工作表的可见性被改动（应为{_state_text(state)}，文件中为{_state_text(s.state)}）"))
    known = {_invisible_free(t): t for t, _ in lay.sheets}
    for s in pkg.sheets:
        if s.title in want:
            continue
        like = known.get(_invisible_free(s.title))
        if like:
            out.append(Finding(ERROR, "工作表", f"多出一张与“{like}”名称几乎相同的工作表“{_show_title(s.title)}”"
                                             f"（{_state_text(s.state)}）：审阅者可能把它当成计分用的“{like}”", True))
        else:
            out.append(Finding(WARNING, "工作表", f"多出一张生成时没有的工作表“{_show_title(s.title)}”"
                                               f"（{_state_text(s.state)}）：计分不使用它，请核实其内容"))
    order = [t for t in titles if t in want]
    if not out and order != [t for t, _ in lay.sheets if t in order]:
        out.append(Finding(WARNING, "工作表", "工作表的顺序被改动"))
    return out


def _state_text(state: str) -> str:
    return {"visible": "可见", "hidden": "隐藏", "veryHidden": "深度隐藏"}.get(state, state)


def _show_title(t: str) -> str:
    shown = "".join(ch if unicodedata.category(ch) not in ("Cf", "Cc") else f"\\u{ord(ch):04x}" for ch in t)
    return shown if shown == t else f"{shown}（含不可见字符）"


def _compare_names(pkg: Package, lay: Layout) -> list[Finding]:
    out = []
    for name, (sheet, coord) in lay.names.items():
        ref = pkg.names.get(name)
        got = single_cell(ref) if ref is not None else None
        if ref is None:
            out.append(Finding(ERROR, name, f"名称“{name}”被删除：公式无法再取到 {sheet}!{coord} 的值", True))
        elif got is None or got[0] != sheet or got[1] != coord:
            out.append(Finding(ERROR, name, f"名称“{name}”应指向 {sheet}!{coord}，文件中指向 {_cut(ref)}："
                                            f"公式会取错单元格，分数可能随之改变", True))
    for name in pkg.repeated_names:
        out.append(Finding(ERROR, name, f"名称“{name}”被定义了两次：公式取哪一个由打开它的程序决定", True))
    template_names = {n.lower() for n in lay.names}
    sheet_titles = [s.title for s in pkg.sheets]
    for idx, name, ref in pkg.local_names:
        if name.lower() in BUILTIN_NAMES:
            continue
        where = sheet_titles[idx] if 0 <= idx < len(sheet_titles) else "?"
        if name.lower() in template_names:
            out.append(Finding(ERROR, name, f"“{where}”表中另有一个同名的局部名称“{name}”（指向 {_cut(ref)}）："
                                            f"该表的公式会改用它，分数可能随之改变", True))
        else:
            out.append(Finding(WARNING, name, f"多出生成时没有的名称“{name}”（{where}，指向 {_cut(ref)}）"))
    for name, ref in pkg.names.items():
        if name not in lay.names and name.lower() not in BUILTIN_NAMES:
            out.append(Finding(WARNING, name, f"多出生成时没有的名称“{name}”（指向 {_cut(ref)}）"))
    return out


def _compare_cells(sheet: Sheet, lay: Layout) -> list[Finding]:
    out = []
    title = sheet.title
    prefix = title + "!"
    inputs = lay.input_set
    seen = set()
    for key, coord, kind, want in _sheet_cells(lay, title):
        seen.add(coord)
        if kind == "f":
            got = sheet.formulas.get(coord)
            if lay.kind == "values":
                continue  # the values-only copy holds the engine's numbers where the template has formulas
            if got is None:
                out.append(Finding(ERROR, _where(lay, title, coord), "公式被替换为固定数值（或被删除）：该单元格不再按输入计算，"
                                                                     "分数可能被手工改过", True))
            elif got != want and formula_key(got, title) != formula_key(want, title):  # same text: no parsing
                out.append(Finding(ERROR, _where(lay, title, coord),
                                   f"公式被改动（{describe_difference(want, got, title)}；文件中为 ={_cut(got)}）："
                                   f"与 {lay.year} 年版规则生成的公式不同，分数可能被手工改过", True))
        else:
            got = sheet.values.get(coord)
            if coord in sheet.formulas:
                out.append(Finding(ERROR, _where(lay, title, coord), f"本应是固定文字“{_cut(str(want), 30)}”，"
                                                                     f"文件中改成了公式 ={_cut(sheet.formulas[coord])}", True))
            elif key == lay.layout_cell:
                if not isinstance(got, str) or LAYOUT_TEXT.sub(LAYOUT_PLACEHOLDER, normal_value(got)) != want:
                    out.append(Finding(ERROR, _where(lay, title, coord), "版式说明被改动", True))
            elif got != want and (got is None or normal_value(got) != want):
                out.append(Finding(ERROR, _where(lay, title, coord),
                                   f"内容被改动：应为“{_cut(str(want), 40)}”，文件中为“{_cut(_text(got), 40)}”"
                                   f"（该单元格已锁定，填报时不能修改）", True))
    for coord in sheet.values.keys() | sheet.formulas.keys():
        if coord in seen:
            continue
        key = prefix + coord
        if key in inputs:
            if coord in sheet.formulas:
                out.append(Finding(ERROR, _where(lay, title, coord),
                                   f"填报单元格中是公式（={_cut(sheet.formulas[coord])}）而不是填写的数值：计分用的是公式保存的结果，"
                                   f"无法核实；请直接填写数值", True))
            continue
        v = sheet.values.get(coord)
        if coord not in sheet.formulas and (v is None or v == ""):
            continue
        what = f"公式 ={_cut(sheet.formulas[coord])}" if coord in sheet.formulas else f"“{_cut(_text(v), 40)}”"
        out.append(Finding(ERROR, _where(lay, title, coord), f"生成时为空的锁定单元格中多了 {what}：审阅者可能把它当成表中的内容",
                           True))
    return out


def _index(lay: Layout) -> dict:
    """What every comparison with ``lay`` looks up, worked out once per layout: its cells by sheet as
    (key, coordinate, kind, content), and the rows and columns holding them."""
    cache = lay.__dict__.setdefault("_cache", {})
    if "by_sheet" not in cache:
        by, rows, cols = {}, {}, {}
        for key, (kind, want) in lay.cells.items():
            title, _, coord = key.partition("!")
            by.setdefault(title, []).append((key, coord, kind, want))
            r, c = rc(coord)
            rows.setdefault(title, set()).add(r)
            cols.setdefault(title, set()).add(c)
        cache.update(by_sheet=by, rows=rows, cols=cols)
    return cache


def _sheet_cells(lay: Layout, title: str):
    return _index(lay)["by_sheet"].get(title, [])


def _content_rows_cols(lay: Layout, sheet: Sheet):
    """Rows and columns that hold something a reviewer must see: the template's text and formulas and what the
    department filled in."""
    index = _index(lay)
    rows, cols = set(index["rows"].get(sheet.title, ())), set(index["cols"].get(sheet.title, ()))
    for coord in sheet.values.keys() | sheet.formulas.keys():
        r, c = rc(coord)
        rows.add(r)
        cols.add(c)
    return rows, cols


def _compare_rows_cols(sheet: Sheet, lay: Layout) -> list[Finding]:
    out = []
    hidden_rows = set(lay.hidden_rows.get(sheet.title, []))
    hidden_cols = lay.hidden_cols.get(sheet.title, [])
    rows, cols = _content_rows_cols(lay, sheet)
    bad_rows = []
    for r in sorted(rows):
        if r in hidden_rows:
            continue
        if sheet.row_hidden(r):
            bad_rows.append((r, "隐藏"))
        else:
            ht = sheet.row_height(r)
            if ht is not None and ht < MIN_VISIBLE_HEIGHT:
                bad_rows.append((r, f"行高压到 {ht:g} 磅"))
    if bad_rows:
        shown = "、".join(f"第 {r} 行（{how}）" for r, how in bad_rows[:6]) + ("等" if len(bad_rows) > 6 else "")
        out.append(Finding(ERROR, sheet.title, f"{len(bad_rows)} 行有内容却看不见：{shown}。审阅时看不到这些行，计分却用它们；"
                                               f"请取消隐藏、恢复行高后重新提交", True))
    bad_cols = []
    for c in sorted(cols):
        if any(lo <= c <= hi for lo, hi in hidden_cols):
            continue
        hidden, width = sheet.col_attrs(c)
        if hidden or (width is not None and width < MIN_VISIBLE_WIDTH):
            bad_cols.append(col_letter(c))
    if bad_cols:
        out.append(Finding(ERROR, sheet.title, f"第 {'、'.join(bad_cols[:8])} 列有内容却被隐藏或压到看不见：审阅时看不到；"
                                               f"请取消隐藏后重新提交", True))
    return out


def _compare_sheet_details(sheet: Sheet, lay: Layout) -> list[Finding]:
    out = []
    want_merged = set(lay.merged.get(sheet.title, []))
    extra = sheet.merged - want_merged
    if extra:
        covered = []
        for rng in extra:
            a, _, b = rng.partition(":")
            if not b:
                continue
            (r1, c1), (r2, c2) = rc(a), rc(b)
            for _, coord, _, _ in _sheet_cells(lay, sheet.title):
                r, c = rc(coord)
                if r1 <= r <= r2 and c1 <= c <= c2 and (r, c) != (r1, c1):
                    covered.append(f"{col_letter(c)}{r}")
        if covered:
            out.append(Finding(ERROR, sheet.title, f"新合并的单元格盖住了表中的内容（{'、'.join(sorted(covered)[:5])}）："
                                                   f"审阅时看不到；请取消合并", True))
        else:
            out.append(Finding(WARNING, sheet.title, f"多了合并单元格 {'、'.join(sorted(extra)[:5])}"))
    if want_merged - sheet.merged:
        out.append(Finding(WARNING, sheet.title, f"合并单元格被拆开：{'、'.join(sorted(want_merged - sheet.merged)[:5])}"))
    want_raw = {tuple(v) for v in lay.validations.get(sheet.title, [])}
    got_raw = {tuple(v) for v in sheet.validations}
    want_dv, got_dv = ({_dv_key(v) for v in want_raw}, {_dv_key(v) for v in got_raw}) if want_raw != got_raw else (set(), set())
    if want_dv - got_dv:
        cells = sorted({v[0] for v in want_dv - got_dv})
        out.append(Finding(WARNING, sheet.title, f"{len(want_dv - got_dv)} 个填报单元格的数据验证被删除或改动（{'、'.join(cells[:5])}"
                                                 f"{'等' if len(cells) > 5 else ''}）：输入不再受检查；本程序仍按规则核对每个输入"))
    if sheet.title in lay.protected and not sheet.protected:
        out.append(Finding(WARNING, sheet.title, "工作表保护被取消：锁定的单元格可以被修改（本程序已逐格核对）"))
    return out


def _dv_key(v) -> tuple:
    """A data validation as compared: its second formula only where the operator uses one (LibreOffice writes a
    meaningless <formula2>0</formula2> to the others)."""
    sqref, typ, op, f1, f2 = v
    if op not in ("between", "notBetween"):
        f2 = ""
    return (sqref, typ, op, formula_key(f1) if f1 else (), formula_key(f2) if f2 else ())


def _compare_vba(pkg: Package, lay: Layout) -> list[Finding]:
    if pkg.vba is None:
        return [Finding(WARNING, "宏", "文件中没有宏工程（可能另存时丢失）：在 Excel 中无法计算 PERF_ 函数；本程序已按输入重新计分")]
    if hashlib.sha256(pkg.vba).hexdigest() == lay.vba_sha256:
        return []
    try:
        got = {k: normal_vba(v) for k, v in read_modules(pkg.vba).items()}
    except (VbaReadError, Exception):  # noqa: BLE001  (a damaged project of any kind)
        return [Finding(ERROR, "宏", "宏工程无法读取（已损坏或被改动）：无法核实工作簿中运行的代码", True)]
    out = []
    for name in sorted(set(got) - set(lay.vba)):
        out.append(Finding(ERROR, "宏", f"宏工程中多了模块“{name}”：生成的工作簿没有它，它可能在 Excel 中改动分数", True))
    for name in sorted(set(lay.vba) - set(got)):
        out.append(Finding(ERROR, "宏", f"宏工程中缺少模块“{name}”", True))
    for name in sorted(set(lay.vba) & set(got)):
        if got[name] != lay.vba[name]:
            out.append(Finding(ERROR, "宏", f"宏模块“{name}”的代码被改动：与生成的不同，它可能在 Excel 中改动分数", True))
    return out


def _where(lay: Layout, title: str, coord: str) -> str:
    label = lay.labels.get(f"{title}!{coord}")
    return f"{title} {coord}" if label is None else f"{label}（{title} {coord}）"


def _text(v) -> str:
    if v is None:
        return "（空）"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _cut(s: str, n: int = 60) -> str:
    s = str(s)
    return s if len(s) <= n else s[: n - 1] + "…"
