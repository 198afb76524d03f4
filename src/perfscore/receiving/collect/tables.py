"""The summary workbook's sheets, built from the rows, and the CSV.

``summary_tables`` makes the sheets (``summary.Table``; written by receiving/summary.py with XlsxWriter):
汇总 (one row per file in rank order: 排名, 部门名称, 综合评分, 评分等级, every indicator score in table order —
always the engine's recomputed scores, never the ones stored in the file — then 检查结果, years, file and
problems), 排名 (files with a total, highest first; equal totals share a rank; ranks restart for each indicator
system), 指标得分率 (mean of score/分值 over the files where the indicator could be scored, per rules year),
等级分布 (counts, with a bar chart on a chart sheet of its own, 等级分布图), 异常 (every file or folder that could
not be read, did not pass its check or shares its department name with another file, with the reason) and, with
``--compare``, 与上次对比 (lastyear.py).

Duplicates (``mark_duplicates``): files with the same 部门名称 (compared without spaces, full-width folded) are
all listed in 异常. Exact copies (same scores, total, grade and budget year) are ranked and counted once; copies
that differ are not ranked at all, since nobody can tell which one is the department's result.

``write_summary`` writes the workbook atomically (temporary file beside it, then ``os.replace``); ``write_csv``
writes the 汇总 rows in UTF-8 with BOM: every text cell that Excel would take for a formula (starting with
= + - @, tab or CR) is prefixed with ``'``; numbers stay numbers (years as integers).
"""
from __future__ import annotations

import contextlib
import math
from collections import Counter

from perfscore.receiving.collect.lastyear import compare_table
from perfscore.receiving.collect.names import (DETAIL, DUPLICATE, GRADES, ISSUES, PROBLEMS, RANKING, RATES,
                                               SCORES, SUMMARY, UNRANKED)
from perfscore.receiving.collect.roster import match_roster, roster_table
from perfscore.receiving.collect.rows import dept_key, system_key, system_of
from perfscore.receiving.collect.sources import display_path
from perfscore.files import atomic_output
from perfscore.receiving.summary import Column, INT, LINK, NUMBER, PCT, SCORE, Table, TEXT, WRAP, write_workbook

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _systems(rows):
    return {k: system_of(k[1], region=k[0]) for k in sorted({system_key(r) for r in rows if r.get("scores") is not None})}


def _score_columns(systems) -> list[str]:
    cols: list[str] = []
    for s in systems.values():
        cols += [i.name for i in s.indicators if i.name not in cols]
    return cols


def mark_duplicates(names, rows) -> None:
    """Several files for one department (same 部门名称): every one is flagged. Exact copies (same scores, total,
    grade and budget year) keep the first one ranked; when the copies differ, none is ranked, since nobody can
    tell which one is the department's result. Sets ``rank_ok`` and ``dup`` (a reason) on the rows."""
    groups: dict = {}
    for k, r in enumerate(rows):
        r["rank_ok"] = r.get("total") is not None
        key = dept_key(r.get("department")) if r.get("scores") is not None else None
        if key:
            groups.setdefault(key, []).append(k)
    for key, idx in groups.items():
        if len(idx) < 2:
            continue
        sig = {(rows[k].get("scores"), rows[k].get("total"), rows[k].get("grade"), rows[k].get("budget_year"))
               for k in idx}
        same = len(sig) == 1
        listed = "、".join(names[k] for k in idx[:10]) + (f" 等 {len(idx)} 个" if len(idx) > 10 else "")
        for n, k in enumerate(idx):
            r = rows[k]
            if same:
                why = (f"部门名称重复：{len(idx)} 个文件的部门名称都是“{r['department']}”，数据完全相同（{listed}），"
                       + ("按一份参加排名" if n == 0 else "本文件是重复副本，未参加排名、未计入统计")
                       + "；请核实是否重复提交")
                r["rank_ok"] = r["rank_ok"] and n == 0
                r["copy"] = n > 0
            else:
                why = (f"部门名称重复：{len(idx)} 个文件的部门名称都是“{r['department']}”，但数据不同（{listed}）："
                       f"无法确定以哪份为准，均未参加排名；若是不同单位，请在工作簿中填写单位全称后重新汇总")
                r["rank_ok"] = False
            r["dup"] = why


MAX_PROBLEM_CELL = 120    # characters of a 汇总 问题 cell: longer lists are cut, the whole list is in 异常
MAX_PROBLEM_LINES = 3
MAX_UNITS_CELL = 150      # characters of a 问题清单 涉及单位 cell: the rest are in 扣分明细


def cap_problems(text, listed: bool):
    """A 问题 cell that reads on paper: at most ``MAX_PROBLEM_LINES`` lines and ``MAX_PROBLEM_CELL`` characters,
    the rest said to be in 异常 (``listed``: the file has its rows there) or in perfscore check."""
    if not text:
        return text
    lines = text.split("\n")
    if len(text) <= MAX_PROBLEM_CELL and len(lines) <= MAX_PROBLEM_LINES:
        return text
    tail = f"……共 {len(lines)} 条，见“异常”表" if listed else f"……共 {len(lines)} 条，用 perfscore check 查看全部"
    room = MAX_PROBLEM_CELL - len(tail) - 1
    kept = []
    for line in lines[:MAX_PROBLEM_LINES - 1]:
        if room <= 0:
            break
        kept.append(line if len(line) <= room else line[:room - 1] + "…")
        room -= len(kept[-1]) + 1
    return "\n".join(kept + [tail])


def _low_rate(system) -> float:
    """A score is “low” below the share of the weight that the worst grade starts under (差: under 60 of 100)."""
    worst = system.grades[-1][0]
    full = sum(i.weight for i in system.indicators)
    hi = worst.hi if math.isfinite(worst.hi) else worst.lo
    return hi / full if full else 0.6


def _col_letter(j: int) -> str:
    out = ""
    j += 1
    while j:
        j, rem = divmod(j - 1, 26)
        out = chr(65 + rem) + out
    return out


def summary_tables(files, rows, *, names=None, links=None, previous=None, roster=None,
                   drop: float = 0.5) -> tuple[list, dict]:
    """The sheets (summary.Table) and facts for the title rows, the terminal and the memo: 汇总, 排名, 各指标得分,
    问题清单, 扣分明细, 指标得分率, 等级分布, 异常, 名单核对 when ``roster`` (roster.Roster) is given, and
    与上次对比 and 指标增减 when ``previous`` (a Previous) is given (drops of ``drop`` points or more highlighted).
    ``names``: the file names to show (relative to the collected folder); ``links``: relative hyperlink targets."""
    names = names or [display_path(f) for f in files]
    links = links or [None] * len(files)
    systems = _systems(rows)
    score_cols = _score_columns(systems)
    level1_cols: list[str] = []
    for s in systems.values():
        level1_cols += [lv.name for lv in s.level1 if lv.name not in level1_cols]
    mark_duplicates(names, rows)
    counted = [r for r in rows if r.get("scores") is not None and not r.get("copy")]
    matched = {}
    if roster is not None:
        matched = match_roster(roster, rows)
    with_dept = roster is not None and roster.has_dept

    def dept_of(k):
        e = matched.get(k)
        return e.dept if e else None

    # ranks within each indicator system (scores under different systems are not comparable): equal totals
    # (to 2 decimals) share a rank
    several = len(systems) > 1
    ranked = sorted((k for k, r in enumerate(rows) if r["rank_ok"]),
                    key=lambda k: (system_key(rows[k]), -round(rows[k]["total"], 2),
                                   dept_key(rows[k]["department"]) or "", names[k]))
    rank: dict[int, int] = {}
    pos = 0
    for i, k in enumerate(ranked):
        prev = ranked[i - 1] if i else None
        if prev is None or system_key(rows[prev]) != system_key(rows[k]):
            pos = 0
        pos += 1
        same = (prev is not None and system_key(rows[prev]) == system_key(rows[k])
                and round(rows[prev]["total"], 2) == round(rows[k]["total"], 2))
        rank[k] = rank[prev] if same else pos

    def system_label(r):
        s = systems.get(system_key(r))
        return f"{s.region} {s.year} 年版" if s else None
    unranked = sorted((k for k, r in enumerate(rows) if r.get("total") is not None and not r["rank_ok"]),
                      key=lambda k: (-rows[k]["total"], names[k]))
    rest = [k for k, r in enumerate(rows) if r.get("total") is None]
    order = ranked + unranked + rest
    listed = {k for k, r in enumerate(rows) if r.get("category") or r.get("dup")}

    def by_name(r, values, cols):
        """A row's indicator scores or 一级 subtotals (in its system's order) under the columns of every system
        (matched by name; ``cols`` is score_cols or level1_cols)."""
        out = dict.fromkeys(cols)
        s = systems.get(system_key(r))
        if s is not None and values is not None:
            keys = [i.name for i in s.indicators] if cols is score_cols else [lv.name for lv in s.level1]
            out.update(zip(keys, values))
        return list(out.values())

    def lost_count(r):
        return None if r.get("scores") is None else sum(1 for x in (r.get("lost") or ()))

    # 汇总: the main table first (what prints: rank, unit, total, grade, 一级 subtotals, problems), then every
    # indicator score, years and file (on screen and for filtering)
    lead = [Column("指标体系", TEXT, 20)] if several else []
    head = lead + [Column("排名", INT), Column("部门名称", TEXT, 30)] + ([Column("主管部门", TEXT, 16)] if with_dept else [])
    main = head + [Column("综合评分", SCORE), Column("评分等级", TEXT)] + [Column(c, SCORE) for c in level1_cols] + [
        Column("失分指标数", INT), Column("检查结果", TEXT, 14), Column("问题", WRAP, 34)]
    cols = main + [Column(c, SCORE) for c in score_cols] + [
        Column("预算年度", INT), Column("规则年度", INT), Column("文件", LINK)]
    srows, slinks = [], []
    for k in order:
        r = rows[k]
        problems = "；".join(x for x in (r.get("dup"), r.get("problems")) if x) or None
        srows.append(([system_label(r)] if several else []) + [
                     rank.get(k, UNRANKED if r.get("total") is not None else None), r.get("department")]
                     + ([dept_of(k)] if with_dept else [])
                     + [r.get("total"), r.get("grade"), *by_name(r, r.get("level1"), level1_cols), lost_count(r),
                        r["status"], cap_problems(problems, k in listed), *by_name(r, r.get("scores"), score_cols),
                        r.get("budget_year"), r.get("year"), names[k]])
        slinks.append(links[k])

    def grade_marks(total_col, grade_col):
        """差 in red, 中 (the grade above the worst) in amber: the total and the grade cells."""
        labels = [[g for _, g in s.grades] for s in systems.values()]
        worst = {x[-1] for x in labels if x}
        next_worst = {x[-2] for x in labels if len(x) > 1} - worst
        g = _col_letter(grade_col)
        out = []
        for style, grades in (("bad", worst), ("warn", next_worst)):
            if grades:
                test = ",".join(f'${g}{{row}}="{x}"' for x in sorted(grades))
                out.append({"cols": (total_col, grade_col), "style": style,
                            "formula": f"=OR({test})" if len(grades) > 1 else "=" + test})
        return out

    def low_marks(col_weights):
        """Scores below the 差 share of their weight (60 %), in red."""
        return [{"cols": (j, j), "style": "bad", "below": round(w * rate, 6)} for j, w, rate in col_weights]
    first_system = {}
    for s in systems.values():
        for lv in s.level1:
            first_system.setdefault(("l1", lv.name), (lv.weight, _low_rate(s)))
        for ind in s.indicators:
            first_system.setdefault(("ind", ind.name), (ind.weight, _low_rate(s)))
    names_at = [c.name for c in cols]
    total_at = names_at.index("综合评分")
    marks = grade_marks(total_at, total_at + 1)
    marks += low_marks([(names_at.index(c), *first_system[("l1", c)]) for c in level1_cols])
    marks += low_marks([(len(main) + j, *first_system[("ind", c)]) for j, c in enumerate(score_cols)])

    rcols = head + [Column("综合评分", SCORE), Column("评分等级", TEXT)] + [Column(c, SCORE) for c in level1_cols] + [
        Column("失分指标数", INT), Column("检查结果", TEXT, 16), Column("文件", LINK)]
    rrows = [([system_label(rows[k])] if several else []) + [rank[k], rows[k]["department"]]
             + ([dept_of(k)] if with_dept else [])
             + [rows[k]["total"], rows[k]["grade"], *by_name(rows[k], rows[k].get("level1"), level1_cols),
                lost_count(rows[k]), rows[k]["status"], names[k]] for k in ranked]
    rnames = [c.name for c in rcols]
    rmarks = grade_marks(rnames.index("综合评分"), rnames.index("综合评分") + 1)
    rmarks += low_marks([(rnames.index(c), *first_system[("l1", c)]) for c in level1_cols])

    # 各指标得分: every scored file, indicators grouped under their 一级指标 (its subtotal first), printed at full
    # size across pages with 排名 and 部门名称 repeated, a page break before each 一级指标
    icols = lead + [Column("排名", INT), Column("部门名称", TEXT, 22)]
    groups: list[tuple[str, list[str]]] = []
    for s in systems.values():
        for lv in s.level1:
            members = [i.name for i in s.indicators if i.level1.id == lv.id]
            g = next((x for x in groups if x[0] == lv.name), None)
            if g is None:
                groups.append((lv.name, list(members)))
            else:
                g[1].extend(m for m in members if m not in g[1])
    breaks, imarks = [], []
    for l1, members in groups:
        if len(icols) > len(lead) + 2:
            breaks.append(len(icols))
        w, rate = first_system[("l1", l1)]
        imarks += low_marks([(len(icols), w, rate)])
        icols.append(Column(f"{l1}小计（{w:g}分）", SCORE))
        for m in members:
            w, rate = first_system[("ind", m)]
            imarks += low_marks([(len(icols), w, rate)])
            icols.append(Column(f"{m}（{w:g}分）", SCORE))
    irows = []
    for k in order:
        r = rows[k]
        if r.get("scores") is None:
            continue
        l1 = dict(zip(level1_cols, by_name(r, r.get("level1"), level1_cols)))
        sc = dict(zip(score_cols, by_name(r, r["scores"], score_cols)))
        irows.append(([system_label(r)] if several else []) + [rank.get(k, UNRANKED), r.get("department")]
                     + [v for l1name, members in groups for v in [l1.get(l1name)] + [sc.get(m) for m in members]])

    head_text = ("、".join(sorted({s.region for s in systems.values()}))) + "部门整体支出绩效自评汇总"
    issues, detail, issue_facts = _problem_tables(rows, order, rank, systems, counted, names, dept_of, with_dept,
                                                  several, system_label, head_text)

    rate_rows = []
    for key, s in systems.items():
        mine = [r for r in counted if system_key(r) == key]
        for j, ind in enumerate(s.indicators):
            vals = [r["scores"][j] for r in mine if r["scores"][j] is not None]
            lost = sum(1 for r in mine if r["scores"][j] is not None and r["scores"][j] < ind.weight - 1e-9)
            rate_rows.append(([s.region] if several else []) + [s.year, j + 1, ind.level1.name, ind.name, ind.weight,
                              sum(vals) / len(vals) if vals else None,
                              sum(v / ind.weight for v in vals) / len(vals) if vals else None,
                              len(vals), len(mine) - len(vals), lost])
    tcols = ([Column("地区", TEXT)] if several else []) + [Column("规则年度", INT), Column("序号", INT), Column("一级指标", TEXT), Column("指标", TEXT, 36),
             Column("分值", NUMBER), Column("平均得分", SCORE), Column("平均得分率", PCT), Column("计分文件数", INT),
             Column("未能计分文件数", INT), Column("失分文件数", INT)]

    labels: list[str] = []
    for s in systems.values():
        labels += [g for _, g in s.grades if g not in labels]
    counts = Counter(r.get("grade") for r in counted if r.get("grade"))
    graded = sum(counts.values())
    grows = [[g, counts.get(g, 0), counts.get(g, 0) / graded if graded else 0.0] for g in labels]
    copies = sum(1 for r in rows if r.get("copy"))

    problems, plinks = [], []
    for k in order:
        r = rows[k]
        if r.get("category") or r.get("dup"):
            cat = r.get("category") or DUPLICATE
            why = "；".join(x for x in (r.get("reason") or r.get("problems"), r.get("dup")) if x)
            problems.append([names[k], r.get("department"), cat, why])
            plinks.append(links[k])
    pcols = [Column("文件", LINK), Column("部门名称", TEXT, 30), Column("类别", TEXT), Column("原因", WRAP, 80)]

    regions = sorted({s.region for s in systems.values()})
    facts = {"regions": regions, "years": sorted({y for _, y in systems}), "n": len(rows), "ranked": len(ranked),
             "duplicates": sum(1 for r in rows if r.get("dup")), "copies": copies, "problems": len(problems),
             "graded": graded, **issue_facts}
    main_cols = len(main)
    tables = [
        Table(SUMMARY, f"{head_text}（按综合评分排序）", cols, srows, slinks, freeze_cols=len(lead) + 2,
              notes=[f"注：{UNRANKED}——部门名称重复的文件（见“异常”表）。分数均由 perfscore 按工作簿中的输入重新计算。"]
              if any(v[len(lead)] == UNRANKED for v in srows) else [], print_cols=main_cols, highlights=marks),
        Table(RANKING, f"{head_text}：排名", rcols, rrows, [links[k] for k in ranked], freeze_cols=len(lead) + 2,
              highlights=rmarks),
        Table(SCORES, f"{head_text}：各指标得分（按一级指标分页打印，每页重复排名和部门名称）", icols, irows,
              freeze_cols=len(lead) + 2, repeat_cols=len(lead) + 2, breaks=breaks, highlights=imarks,
              notes=["注：红色——低于该项分值的 60%（“差”等级的界限）。"] if irows else []),
        issues, detail,
        Table(RATES, f"{head_text}：各指标平均得分率", tcols, rate_rows),
        Table(GRADES, f"{head_text}：等级分布", [Column("等级", TEXT), Column("文件数", INT), Column("占比", PCT)], grows,
              chart={"sheet": GRADES + "图", "categories": 0, "values": 1, "title": f"{head_text}：等级分布（计入{graded}个文件）",
                     "y": "文件数", "x": "评分等级"},
              notes=[f"注：{copies} 个重复副本未计入。"] if copies else []),
        Table(PROBLEMS, f"{head_text}：异常（无法读取、未通过检查或部门重复的文件，附原因）", pcols, problems, plinks,
              empty="无"),
    ]
    if roster is not None:
        table, facts["roster"] = roster_table(roster, rows, names, links, matched)
        tables.append(table)
    if previous is not None:
        more, cmp_facts = compare_table(rows, rank, order, systems, previous, drop=drop)
        tables += more
        facts["compare"] = cmp_facts
    return tables, facts


def _problem_tables(rows, order, rank, systems, counted, names, dept_of, with_dept, several, system_label, head_text):
    """问题清单 (one row per problem of an indicator, the units that have it, how many, points lost; the most
    common first) and 扣分明细 (one row per unit and indicator that lost points, with the engine's reason)."""
    counted_ids = {id(r) for r in counted}
    groups: dict = {}      # (system key, indicator index, problem) -> [(row index, points)]
    drows = []
    for k in order:
        r = rows[k]
        if id(r) not in counted_ids or not r.get("lost"):
            continue
        s = systems[system_key(r)]
        for j, lost, reason, items in r["lost"]:
            ind = s.indicators[j]
            for label, d in items:
                groups.setdefault((system_key(r), j, label), []).append((k, d))
            drows.append((([system_label(r)] if several else []) + [rank.get(k, UNRANKED), r.get("department")]
                          + ([dept_of(k)] if with_dept else [])
                          + [ind.level1.name, ind.name, ind.weight, r["scores"][j], lost,
                             "；".join(label for label, _ in items), reason], (system_key(r), j, -lost, names[k]), k))
    drows.sort(key=lambda x: x[1])
    n_by_system = Counter(system_key(r) for r in counted)
    irows = []
    for (key, j, label), members in groups.items():
        s = systems[key]
        ind = s.indicators[j]
        pts = [d for _, d in members]
        units = sorted(members, key=lambda m: (-m[1], rank.get(m[0], 10**9), names[m[0]]))
        listed, shown = "", 0
        for k, d in units:
            item = f"{rows[k].get('department') or names[k]}（扣 {d:g} 分）"
            if len(listed) + len(item) > MAX_UNITS_CELL:
                break
            listed += ("、" if listed else "") + item
            shown += 1
        if shown < len(units):
            listed += f" 等 {len(units)} 个单位，全部见“{DETAIL}”表"
        irows.append(([f"{s.region} {s.year} 年版"] if several else []) + [
            j + 1, ind.level1.name, ind.name, ind.weight, label, len(members), len(members) / n_by_system[key],
            round(sum(pts), 6) / len(pts), round(sum(pts), 6), max(pts), listed])
    n_lead = 1 if several else 0
    irows.sort(key=lambda v: (-v[n_lead + 5], -v[n_lead + 8], v[n_lead], v[n_lead + 4]))
    irows = [[n, *v] for n, v in enumerate(irows, 1)]
    lead = [Column("指标体系", TEXT, 20)] if several else []
    icols = [Column("序号", INT)] + lead + [
        Column("指标序号", INT), Column("一级指标", TEXT, 9), Column("指标", WRAP, 14), Column("分值", SCORE),
        Column("问题", WRAP, 22), Column("单位数", INT), Column("占计分单位", PCT), Column("平均扣分", SCORE),
        Column("合计扣分", SCORE), Column("最多扣分", SCORE), Column("涉及单位", WRAP, 32)]
    total = len(counted)
    issues = Table(ISSUES, f"{head_text}：问题清单（各指标失分的问题，同一问题在各单位合并，按涉及单位数排序）", icols, irows,
                   freeze_cols=0, empty="无（参加统计的单位都没有失分）" if counted else "无（没有通过检查、参加统计的单位）",
                   notes=[f"注：按通过检查、参加统计的 {total} 个单位计（重复副本不计）；“问题”按评分标准归并，"
                          f"各单位的得分和扣分理由见“{DETAIL}”表；一个指标可有几个问题，合计扣分之和等于该指标的扣分。"]
                   if irows else [])
    dcols = lead + [Column("排名", INT), Column("部门名称", TEXT, 20)] + (
        [Column("主管部门", TEXT, 14)] if with_dept else []) + [
        Column("一级指标", TEXT, 9), Column("指标", WRAP, 14), Column("分值", SCORE), Column("得分", SCORE),
        Column("扣分", SCORE), Column("问题", WRAP, 20), Column("扣分理由", WRAP, 34)]
    detail = Table(DETAIL, f"{head_text}：扣分明细（每个单位每项失分的指标、扣分和扣分理由）", dcols,
                   [v for v, _, _ in drows], freeze_cols=len(lead) + 2, empty="无")
    facts = {"issues": len(irows), "deductions": len(drows)}
    return issues, detail, facts


def csv_cell(v):
    """A cell for CSV: text that Excel would read as a formula gets a leading ' ; numbers are left as numbers."""
    if isinstance(v, str) and v.startswith(FORMULA_START):
        return "'" + v
    return v


def _csv_value(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, int):
        return str(v)
    return csv_cell(str(v))


def write_csv(table, path, *, staged: bool = False) -> None:
    """The 汇总 rows in UTF-8 with BOM (Excel opens it directly), text escaped against formula injection.
    Written atomically; ``staged``: ``path`` is already a temporary file (collect puts its outputs in place
    together, files.StagedOutputs)."""
    import csv

    with (contextlib.nullcontext(path) if staged else atomic_output(path)) as tmp:
        with open(tmp, "w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f, lineterminator="\r\n")
            w.writerow([csv_cell(c.name) for c in table.columns])
            for row in table.rows:
                w.writerow([_csv_value(v) for v in row])


def write_summary(tables, output, subtitle: str, *, staged: bool = False) -> None:
    with (contextlib.nullcontext(output) if staged else atomic_output(output)) as tmp:
        write_workbook(tmp, tables, subtitle)
