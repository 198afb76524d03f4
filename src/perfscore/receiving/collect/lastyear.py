"""``collect --compare LAST.xlsx``: last time's summary beside this time's (the sheet 与上次对比).

(Not to be confused with receiving/compare.py, which compares the parts of a regenerated workbook.)

LAST is a summary written by collect (this version or an earlier one: the header row is found by its labels).
Departments are matched by name (``dept_key``); the workbooks have no department-code field. Last time's total,
grade and rules year are shown beside this time's; the change is computed only when both come from the same
indicator system (same region and rules year, or rules-year files with no difference), and otherwise the sheet
says why not. Departments present only once are listed. LAST is checked like a received workbook (zip sanity,
bombs, DTDs) and its sheet extent is bounded before parsing; anything that is not such a summary is a usage error
(exit 2) with a message in Chinese.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

from perfscore.errors import PerfscoreError
from perfscore.receiving.collect.rows import clean, dept_key, system_key
from perfscore.receiving.collect.names import SUMMARY, UNRANKED
from perfscore.engine.system import available_years
from perfscore.excel.cache import sheet_parts
from perfscore.excel.package import check_package
from perfscore.receiving.annual import diff_systems
from perfscore.receiving.summary import Column, INT, SCORE, Table, TEXT, WRAP

COMPARE = "与上次对比"
CHANGES = "指标增减"
MAX_PREVIOUS_ROWS = 100_000


class Previous:
    """A summary written earlier by collect: per department (matched by name) its total, grade, rules year."""

    def __init__(self, name, region, rows, scores=None):
        self.name, self.region, self.rows = name, region, rows  # rows: [(key, department, total, grade, year, budget)]
        self.scores = scores or [{} for _ in rows]   # per row: column name -> number (indicator scores, subtotals)


def read_previous(path) -> Previous:
    """Read the 汇总 sheet of an earlier collect summary. Anything else is a PerfscoreError saying what is wrong."""
    import zipfile

    path = Path(path)
    what = f"上次的汇总表“{path.name}”"
    if not path.exists():
        raise PerfscoreError(f"找不到{what}：请检查 --compare 后的文件名")
    if path.is_dir() or path.suffix.lower() not in (".xlsx", ".xlsm"):
        raise PerfscoreError(f"{what}不是 .xlsx 文件：--compare 需要上次用 perfscore collect 生成的汇总表")
    try:
        check_package(path)
    except PerfscoreError as exc:
        raise PerfscoreError(f"{what}无法读取：{exc}") from None
    not_ours = f"{what}不是 perfscore collect 生成的汇总表（{{}}）：请用上次 collect 输出的 .xlsx 文件"
    try:
        with zipfile.ZipFile(path) as z:
            parts = sheet_parts(z)
            if SUMMARY not in parts:
                raise PerfscoreError(not_ours.format(f"没有“{SUMMARY}”工作表"))
            xml = z.read(parts[SUMMARY])
    except PerfscoreError:
        raise
    except Exception:
        raise PerfscoreError(not_ours.format("工作簿结构不完整")) from None
    # calamine builds a dense range up to the last cell reference: bound it before parsing
    refs = re.findall(rb'<c r="([A-Z]+)([0-9]+)"', xml)
    dims = re.findall(rb'<dimension ref="(?:[A-Z]+[0-9]+:)?([A-Z]+)([0-9]+)"', xml)
    for col, row in refs + dims:
        if len(col) > 2 or (len(col) == 2 and col > b"CZ") or int(row) > MAX_PREVIOUS_ROWS + 10:
            raise PerfscoreError(not_ours.format(f"“{SUMMARY}”表的范围异常（到 {col.decode()}{row.decode()}），"
                                                 f"上限为 {MAX_PREVIOUS_ROWS} 行"))
    try:
        from python_calamine import CalamineWorkbook
        data = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(SUMMARY).to_python()
    except Exception:
        raise PerfscoreError(not_ours.format(f"“{SUMMARY}”表无法解析")) from None
    head_at = next((i for i, r in enumerate(data[:6]) if "部门名称" in r and "综合评分" in r), None)
    if head_at is None:
        raise PerfscoreError(not_ours.format(f"“{SUMMARY}”表中找不到“部门名称”“综合评分”表头"))
    head = [str(x) for x in data[head_at]]
    col = {h: head.index(h) for h in ("部门名称", "综合评分", "评分等级", "规则年度", "预算年度") if h in head}
    region = None
    for r in data[:head_at]:
        for x in r:
            m = re.search(r"地区[：:]\s*([^；;｜|\s]+)", str(x))
            if m and m.group(1) not in ("—", "-"):
                region = m.group(1)
    out, scores = [], []
    known = {"排名", "部门名称", "综合评分", "评分等级", "规则年度", "预算年度", "失分指标数", "检查结果", "问题", "文件",
             "主管部门", "指标体系"}
    numeric = [(j, h) for j, h in enumerate(head) if h and h not in known]

    def get(r, h):
        j = col.get(h)
        v = r[j] if j is not None and j < len(r) else None
        return None if v == "" else v

    def year(v):
        if isinstance(v, float) and v.is_integer():
            return int(v)
        return clean(v) if v is not None else None
    for r in data[head_at + 1:]:
        name = get(r, "部门名称")
        key = dept_key(clean(name)) if isinstance(name, (str, float, int)) else None
        if not key:
            continue
        total = get(r, "综合评分")
        total = total if isinstance(total, (int, float)) and not isinstance(total, bool) and math.isfinite(total) else None
        grade = get(r, "评分等级")
        out.append((key, clean(name), total, clean(grade) if isinstance(grade, str) else None,
                    year(get(r, "规则年度")), year(get(r, "预算年度"))))
        scores.append({h: r[j] for j, h in numeric if j < len(r) and isinstance(r[j], (int, float))
                       and not isinstance(r[j], bool) and math.isfinite(r[j])})
    if not any(x[2] is not None for x in out):
        raise PerfscoreError(f"{what}中没有任何部门的综合评分：请确认这是上次 collect 输出的汇总表")
    return Previous(path.name, region, out, scores)


def _same_system(region_a, year_a, region_b, year_b, cache={}) -> bool:
    """Scores are comparable when both come from the same indicator system: same region and rules year, or
    rules-year files with no difference at all (perfscore rules diff)."""
    if region_a and region_b and region_a != region_b:
        return False
    if year_a == year_b:
        return True
    key = (year_a, year_b)
    if key not in cache:
        years = available_years()
        try:
            cache[key] = (isinstance(year_a, int) and isinstance(year_b, int) and year_a in years
                          and year_b in years and not diff_systems(str(year_a), str(year_b)))
        except PerfscoreError:
            cache[key] = False
    return cache[key]


def compare_table(rows, rank, order, systems, prev: Previous, drop: float = 0.5):
    """The sheets 与上次对比 (totals, one row per department of either summary) and 指标增减 (each indicator's
    change for the departments in both, under the same indicator system); drops of ``drop`` points or more are
    highlighted. Same budget year in both summaries: said once, in the title and the notes."""
    regions = {k: s.region for k, s in systems.items()}
    before: dict = {}
    for (key, name, total, grade, year, budget), scores in zip(prev.rows, prev.scores):
        before.setdefault(key, []).append((name, total, grade, year, budget, scores))
    out, seen, changes = [], set(), []
    facts = Counter()
    same_budget = set()
    for k in order:
        r = rows[k]
        key = dept_key(r.get("department"))
        if not key or key in seen:
            continue
        seen.add(key)
        cur = [r["department"], rank.get(k, UNRANKED), r.get("total"), r.get("grade"), r.get("year")]
        last = before.get(key)
        if not last:
            out.append([*cur[:1], "仅本次有", *cur[1:], None, None, None, None, "上次汇总中没有这个部门"])
            facts["only_now"] += 1
            continue
        if len(last) > 1:
            out.append([*cur[:1], "无法对应", *cur[1:], None, None, None, None,
                        f"上次汇总中有 {len(last)} 行同名部门，无法确定对应哪一行"])
            facts["ambiguous"] += 1
            continue
        name, total, grade, year, budget, scores = last[0]
        note, change = [], None
        region_now = regions.get(system_key(r))
        if total is None:
            note.append("上次没有综合评分（当时无法读取或无法计分）")
        elif r.get("total") is None:
            note.append(f"本次没有综合评分（{r.get('status')}，见“异常”表）")
        elif _same_system(region_now, r.get("year"), prev.region, year):
            change = round(r["total"] - total, 2)
            if year != r.get("year"):
                note.append(f"规则年度不同（上次 {year}，本次 {r['year']}），但两年的指标体系完全相同，可直接相减")
            s = systems[system_key(r)]
            per = [round(v - scores[i.name], 2) if v is not None and i.name in scores else None
                   for i, v in zip(s.indicators, r["scores"])]
            changes.append((r, k, total, change, per))
        else:
            why = (f"地区不同（上次 {prev.region}，本次 {region_now}）" if prev.region and region_now
                   and prev.region != region_now else f"规则年度不同（上次 {year}，本次 {r['year']}）")
            note.append(f"{why}，指标体系不同：上次的分数并列显示，不相减")
            facts["other_system"] += 1
        if budget is not None and budget == r.get("budget_year"):
            same_budget.add(budget)
        out.append([*cur[:1], "两年都有", *cur[1:], total, grade, year, change, "；".join(note) or None])
        facts["both"] += 1
    gone = []
    for key, items in before.items():
        if key not in seen:
            for name, total, grade, year, budget, _ in items:
                gone.append([name, "仅上次有", None, None, None, None, total, grade, year, None, "本次没有收到这个部门的工作簿"])
    facts["only_before"] = len(gone)
    out += gone
    facts["same_budget"] = sorted(same_budget)
    cols = [Column("部门名称", TEXT, 30), Column("对比情况", TEXT), Column("本次排名", INT), Column("本次综合评分", SCORE),
            Column("本次评分等级", TEXT), Column("本次规则年度", INT), Column("上次综合评分", SCORE),
            Column("上次评分等级", TEXT), Column("上次规则年度", INT), Column("增减", SCORE), Column("说明", WRAP, 60)]
    regions_now = "、".join(sorted(set(regions.values())))
    warning = (f"——注意：上次与本次的预算年度相同（{'、'.join(map(str, sorted(same_budget)))}），请确认上次的汇总表选得对"
               if same_budget else "")
    title = (f"{regions_now}部门整体支出绩效自评汇总：与上次汇总（{prev.name}"
             f"{'，' + prev.region if prev.region else ''}）对比{warning}")
    notes = ["按部门名称匹配（忽略空格和全角/半角差异）：评分工作簿中没有部门代码字段。"
             "指标体系不同（规则年度或地区不同）时，上次的分数并列显示，不计算增减。"
             f"增减为 −{drop:g} 分或更低的标为红色（--drop-threshold）。"]
    if same_budget:
        notes.append(f"上次与本次汇总中同一部门的预算年度相同（{'、'.join(map(str, sorted(same_budget)))}）："
                     f"“上次”通常应是上一预算年度的汇总表，请确认 --compare 给出的文件。")
    table = Table(COMPARE, title, cols, out, freeze_cols=1, notes=notes,
                  highlights=[{"cols": (9, 9), "style": "bad", "at_most": -drop}] if out else [])
    return [table, _changes_table(changes, systems, prev, drop, regions_now)], dict(facts)


def _changes_table(changes, systems, prev, drop, regions_now):
    """指标增减: per department in both summaries (same indicator system), each indicator's change."""
    names: list[str] = []
    for s in systems.values():
        names += [i.name for i in s.indicators if i.name not in names]
    out = []
    for r, k, total, change, per in changes:
        s = systems[system_key(r)]
        vals = dict.fromkeys(names)
        vals.update((i.name, c) for i, c in zip(s.indicators, per))
        drops = [(i.name, c) for i, c in zip(s.indicators, per) if c is not None and c <= -drop + 1e-9]
        drops.sort(key=lambda x: x[1])
        out.append([r["department"], r.get("total"), total, change, len(drops),
                    "、".join(f"{n}（{c:+.2f}）" for n, c in drops) or None, *vals.values()])
    missing = any(all(c is None for c in per) for *_, per in changes)
    cols = [Column("部门名称", TEXT, 24), Column("本次综合评分", SCORE), Column("上次综合评分", SCORE), Column("增减", SCORE),
            Column("下降的指标数", INT), Column("下降的指标", WRAP, 40)] + [Column(n, SCORE) for n in names]
    marks = [{"cols": (3, 3), "style": "bad", "at_most": -drop}]
    marks += [{"cols": (6, 5 + len(names)), "style": "bad", "at_most": -drop}] if names else []
    notes = [f"各指标为本次得分减上次得分；下降 {drop:g} 分或更多的标为红色（--drop-threshold）。只列两次都有、指标体系相同的部门。"]
    if missing:
        notes.append("上次的汇总表没有各指标得分（由较早版本的 perfscore 生成）：各指标的增减空缺。")
    return Table(CHANGES, f"{regions_now}部门整体支出绩效自评汇总：各指标与上次汇总（{prev.name}）相比的增减", cols, out,
                 freeze_cols=1, notes=notes, highlights=marks if out else [], empty="无（两次都有、指标体系相同的部门为 0 个）",
                 repeat_cols=1)   # 27 columns: at full size across pages, 部门名称 on every page
