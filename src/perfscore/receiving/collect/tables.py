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
from collections import Counter

from perfscore.receiving.collect.rows import dept_key, system_key, system_of
from perfscore.receiving.collect.sources import display_path

SUMMARY, RANKING, RATES, GRADES, PROBLEMS = "汇总", "排名", "指标得分率", "等级分布", "异常"
DUPLICATE = "部门重复"
UNRANKED = "未排名"
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


def summary_tables(files, rows, *, names=None, links=None, previous=None) -> tuple[list, dict]:
    """The sheets (summary.Table) and facts for the title rows and the terminal: 汇总, 排名, 指标得分率, 等级分布,
    异常, and 与上次对比 when ``previous`` (a Previous) is given. ``names``: the file names to show (relative to
    the collected folder); ``links``: relative hyperlink targets (or None)."""
    from perfscore.receiving.summary import INT, LINK, NUMBER, PCT, SCORE, TEXT, WRAP, Column, Table
    names = names or [display_path(f) for f in files]
    links = links or [None] * len(files)
    systems = _systems(rows)
    score_cols = _score_columns(systems)
    mark_duplicates(names, rows)
    counted = [r for r in rows if r.get("scores") is not None and not r.get("copy")]

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

    # several systems: one block per system (ranks restart), named in the first column
    cols = (([Column("指标体系", TEXT, 20)] if several else []) + [Column("排名", INT), Column("部门名称", TEXT, 30), Column("综合评分", SCORE), Column("评分等级", TEXT)]
            + [Column(c, SCORE) for c in score_cols]
            + [Column("检查结果", TEXT, 16), Column("预算年度", INT), Column("规则年度", INT), Column("文件", LINK),
               Column("问题", WRAP, 36)])
    srows, slinks = [], []
    for k in order:
        r = rows[k]
        scores = dict.fromkeys(score_cols)
        if r.get("scores") is not None:
            for ind, v in zip(systems[system_key(r)].indicators, r["scores"]):
                scores[ind.name] = v
        problems = "；".join(x for x in (r.get("dup"), r.get("problems")) if x) or None
        srows.append(([system_label(r)] if several else []) + [
                      rank.get(k, UNRANKED if r.get("total") is not None else None), r.get("department"),
                      r.get("total"), r.get("grade"), *scores.values(), r["status"], r.get("budget_year"),
                      r.get("year"), names[k], problems])
        slinks.append(links[k])

    rcols = ([Column("指标体系", TEXT, 20)] if several else []) + [
        Column("排名", INT), Column("部门名称", TEXT, 30), Column("综合评分", SCORE), Column("评分等级", TEXT),
        Column("检查结果", TEXT, 16), Column("文件", LINK)]
    rrows = [([system_label(rows[k])] if several else [])
             + [rank[k], rows[k]["department"], rows[k]["total"], rows[k]["grade"], rows[k]["status"], names[k]]
             for k in ranked]

    rate_rows = []
    for key, s in systems.items():
        mine = [r for r in counted if system_key(r) == key]
        for j, ind in enumerate(s.indicators):
            vals = [r["scores"][j] for r in mine if r["scores"][j] is not None]
            rate_rows.append(([s.region] if several else []) + [s.year, j + 1, ind.level1.name, ind.name, ind.weight,
                              sum(vals) / len(vals) if vals else None,
                              sum(v / ind.weight for v in vals) / len(vals) if vals else None,
                              len(vals), len(mine) - len(vals)])
    tcols = ([Column("地区", TEXT)] if several else []) + [Column("规则年度", INT), Column("序号", INT), Column("一级指标", TEXT), Column("指标", TEXT, 36),
             Column("分值", NUMBER), Column("平均得分", SCORE), Column("平均得分率", PCT), Column("计分文件数", INT),
             Column("未能计分文件数", INT)]

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
             "duplicates": sum(1 for r in rows if r.get("dup")), "copies": copies, "problems": len(problems)}
    head = ("、".join(regions) if regions else "") + "部门整体支出绩效自评汇总"
    tables = [
        Table(SUMMARY, f"{head}（按综合评分排序）", cols, srows, slinks, freeze_cols=2,
              notes=[f"注：{UNRANKED}——部门名称重复的文件（见“异常”表）。分数均由 perfscore 按工作簿中的输入重新计算。"]
              if any(v[0] == UNRANKED for v in srows) else []),
        Table(RANKING, f"{head}：排名", rcols, rrows, [links[k] for k in ranked], freeze_cols=2),
        Table(RATES, f"{head}：各指标平均得分率", tcols, rate_rows),
        Table(GRADES, f"{head}：等级分布", [Column("等级", TEXT), Column("文件数", INT), Column("占比", PCT)], grows,
              chart={"sheet": GRADES + "图", "categories": 0, "values": 1, "title": f"{head}：等级分布（计入 {graded} 个文件）",
                     "y": "文件数", "x": "评分等级"},
              notes=[f"注：{copies} 个重复副本未计入。"] if copies else []),
        Table(PROBLEMS, f"{head}：异常（无法读取、未通过检查或部门重复的文件，附原因）", pcols, problems, plinks),
    ]
    if previous is not None:
        from perfscore.receiving.collect.lastyear import compare_table  # (lastyear reads what this module writes)
        table, cmp_facts = compare_table(rows, rank, order, systems, previous)
        tables.append(table)
        facts["compare"] = cmp_facts
    return tables, facts


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

    from perfscore.files import atomic_output
    with (contextlib.nullcontext(path) if staged else atomic_output(path)) as tmp:
        with open(tmp, "w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f, lineterminator="\r\n")
            w.writerow([csv_cell(c.name) for c in table.columns])
            for row in table.rows:
                w.writerow([_csv_value(v) for v in row])


def write_summary(tables, output, subtitle: str, *, staged: bool = False) -> None:
    from perfscore.files import atomic_output
    from perfscore.receiving.summary import write_workbook
    with (contextlib.nullcontext(output) if staged else atomic_output(output)) as tmp:
        write_workbook(tmp, tables, subtitle)
