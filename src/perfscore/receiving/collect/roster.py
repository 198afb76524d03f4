"""``collect --roster 名单.xlsx|csv``: the units that ought to submit, checked against the files received.

The roster is a table with a header row: a column of unit names (单位名称, 部门名称, 单位全称 …) and, optionally,
主管部门 and a code (单位代码, 统一社会信用代码 …). A .csv may be UTF-8 (with or without BOM) or GB18030 (what
Excel on a Chinese Windows saves); a .xlsx/.xlsm is read from its first sheet, after the same package checks as a
received workbook. Names are matched as duplicates are (``dept_key``: spaces and full-/half-width ignored).

``match_roster`` gives every row its roster entry; ``roster_table`` the sheet 名单核对: each roster unit in roster
order with 未提交 / 已提交 / 重复提交 (and the check result of its files), then each department name that matches
no roster name, with the closest roster name. The roster's 主管部门 becomes a column of 汇总, 排名 and 扣分明细.
Anything that is not such a table is a usage error (exit 2) saying what to fix.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from perfscore.errors import PerfscoreError
from perfscore.receiving.collect.rows import clean, dept_key
from perfscore.excel.package import check_package
from perfscore.receiving.summary import Column, INT, LINK, Table, TEXT, WRAP

ROSTER = "名单核对"
NOT_SUBMITTED, SUBMITTED, TWICE, UNLISTED = "未提交", "已提交", "重复提交", "名单外"
NAME_HEADS = ("单位名称", "部门名称", "单位全称", "部门全称", "部门（单位）名称", "单位（部门）名称", "预算单位名称",
              "预算单位", "单位", "部门", "名称")
DEPT_HEADS = ("主管部门", "主管单位", "上级主管部门", "主管部门名称", "归口部门")
CODE_HEADS = ("单位代码", "部门代码", "统一社会信用代码", "单位编码", "部门编码", "预算单位编码", "预算单位代码", "代码", "编码")
MAX_ROSTER_ROWS = 100_000
CLOSE = 0.5           # similarity below which no roster name is offered as the closest


@dataclass
class Entry:
    line: int             # row of the roster file (as the reviewer sees it: 1 = first row)
    name: str
    dept: str | None
    code: str | None
    key: str


@dataclass
class Roster:
    name: str             # the file's name, for titles
    entries: list[Entry] = field(default_factory=list)
    has_dept: bool = False
    has_code: bool = False

    def by_key(self) -> dict:
        return {e.key: e for e in self.entries}


def _cell(v):
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    s = clean(str(v))
    return s or None


def _head(v) -> str:
    import re
    import unicodedata
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(v or ""))).replace("(", "（").replace(")", "）")


def _rows_of(path: Path, what: str) -> list[list]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        import csv
        import io
        data = path.read_bytes()
        if len(data) > 50 * 1024 * 1024:
            raise PerfscoreError(f"{what}过大（超过 50 MB）：请只保留单位名称、主管部门、单位代码三列")
        for enc in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:  # pragma: no cover - gb18030 decodes any byte string
            raise PerfscoreError(f"{what}的编码无法识别：请另存为“CSV UTF-8”")
        try:
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;，")
        except csv.Error:
            dialect = csv.excel
        return [row for row in csv.reader(io.StringIO(text), dialect)]
    if suffix in (".xlsx", ".xlsm"):
        try:
            check_package(path)
        except PerfscoreError as exc:
            raise PerfscoreError(f"{what}无法读取：{exc}") from None
        try:
            from python_calamine import CalamineWorkbook
            wb = CalamineWorkbook.from_path(str(path))
            return wb.get_sheet_by_index(0).to_python()[:MAX_ROSTER_ROWS + 20]
        except Exception:
            raise PerfscoreError(f"{what}无法解析：请用 Excel 打开后另存为 .xlsx 或 .csv 再试") from None
    raise PerfscoreError(f"{what}不是 .xlsx 或 .csv 文件：--roster 需要一张有“单位名称”列的表格（.xlsx 或 .csv）")


def read_roster(path) -> Roster:
    path = Path(path)
    what = f"名单“{path.name}”"
    if not path.is_file():
        raise PerfscoreError(f"找不到{what}：请检查 --roster 后的文件名")
    rows = _rows_of(path, what)
    found = None
    for i, row in enumerate(rows[:10]):
        heads = [_head(v) for v in row]
        name_col = next((heads.index(h) for h in NAME_HEADS if h in heads), None)
        if name_col is not None:
            found = (i, heads, name_col)
            break
    if found is None:
        raise PerfscoreError(f"{what}的前 10 行中找不到单位名称列（表头写“单位名称”或“部门名称”）：请在名单第一行写表头"
                             f"“单位名称”，可另加“主管部门”“单位代码”两列")
    i, heads, name_col = found
    dept_col = next((heads.index(h) for h in DEPT_HEADS if h in heads), None)
    code_col = next((heads.index(h) for h in CODE_HEADS if h in heads and heads.index(h) != name_col), None)
    roster = Roster(path.name, has_dept=dept_col is not None, has_code=code_col is not None)
    seen: dict[str, Entry] = {}
    twice = []

    def get(row, j):
        return _cell(row[j]) if j is not None and j < len(row) else None
    for n, row in enumerate(rows[i + 1:], start=i + 2):
        name = get(row, name_col)
        key = dept_key(name)
        if not key:
            continue
        e = Entry(n, name, get(row, dept_col), get(row, code_col), key)
        if key in seen:
            twice.append(f"第 {seen[key].line} 行与第 {n} 行（“{name}”）")
            continue
        seen[key] = e
        roster.entries.append(e)
        if len(roster.entries) > MAX_ROSTER_ROWS:
            raise PerfscoreError(f"{what}超过 {MAX_ROSTER_ROWS} 个单位：请分批汇总")
    if twice:
        raise PerfscoreError(f"{what}中有同名的单位：" + "；".join(twice[:5]) + (f" 等 {len(twice)} 处" if len(twice) > 5 else "")
                             + "。名单中每个单位只能出现一次，请删去重复的行（不同单位请写全称）后再汇总")
    if not roster.entries:
        raise PerfscoreError(f"{what}中没有任何单位名称：请在“{heads[name_col]}”列下逐行填写单位名称")
    return roster


def match_roster(roster: Roster, rows) -> dict[int, Entry]:
    """Row index -> its roster entry (by department name)."""
    keys = roster.by_key()
    out = {}
    for k, r in enumerate(rows):
        e = keys.get(dept_key(r.get("department")))
        if e is not None:
            out[k] = e
    return out


def closest(key: str, roster: Roster, by_key: dict | None = None) -> tuple[Entry | None, float]:
    """The roster entry whose name is most like ``key`` (difflib's ratio), or None below ``CLOSE``."""
    by_key = by_key or roster.by_key()
    got = difflib.get_close_matches(key, list(by_key), n=1, cutoff=CLOSE)
    if not got:
        return None, 0.0
    e = by_key[got[0]]
    return e, difflib.SequenceMatcher(None, key, e.key).ratio()


def roster_table(roster: Roster, rows, names, links, matched: dict[int, Entry]):
    """The 名单核对 sheet and its facts: {"listed", "submitted", "missing", "twice", "unlisted", "nameless"}."""
    files: dict[str, list[int]] = {}
    for k, e in matched.items():
        files.setdefault(e.key, []).append(k)
    out, out_links = [], []
    facts = {"listed": len(roster.entries), "submitted": 0, "missing": 0, "twice": 0, "unlisted": 0, "nameless": 0}
    missing_names, twice_names, unlisted = [], [], []
    for n, e in enumerate(roster.entries, 1):
        ks = files.get(e.key, [])
        if not ks:
            state, note = NOT_SUBMITTED, "没有收到这个单位的工作簿"
            facts["missing"] += 1
            missing_names.append(e)
        else:
            facts["submitted"] += 1
            results = "、".join(dict.fromkeys(rows[k]["status"] for k in ks))
            if len(ks) > 1:
                state = TWICE
                facts["twice"] += 1
                twice_names.append(e)
                note = f"收到 {len(ks)} 个文件（检查结果：{results}），见“异常”表的部门重复说明"
            else:
                state, note = SUBMITTED, None
        out.append([n, e.name, e.dept, e.code, state, len(ks), "、".join(names[k] for k in ks[:5])
                    + (f" 等 {len(ks)} 个" if len(ks) > 5 else "") or None,
                    "、".join(dict.fromkeys(rows[k]["status"] for k in ks)) or None, None, note])
        out_links.append(links[ks[0]] if len(ks) == 1 else None)
    seen_unlisted: dict[str, list[int]] = {}
    for k, r in enumerate(rows):
        if k in matched:
            continue
        key = dept_key(r.get("department"))
        if not key:
            facts["nameless"] += 1
            continue
        seen_unlisted.setdefault(key, []).append(k)
    by_key = roster.by_key()
    for key, ks in seen_unlisted.items():
        r = rows[ks[0]]
        near, ratio = closest(key, roster, by_key)
        if near is not None:
            note = (f"名单中最接近的是“{near.name}”（名单第 {near.line} 行，相似度 {ratio:.0%}）：若是同一单位，"
                    f"请统一名称（改名单或请该单位改工作簿中的部门名称）后重新汇总")
        else:
            note = "名单中没有相近的名称：请核实这个单位是否应在名单中"
        facts["unlisted"] += len(ks)
        unlisted.append((r.get("department"), near, ratio))
        out.append([None, r.get("department"), None, None, UNLISTED, len(ks),
                    "、".join(names[k] for k in ks[:5]) + (f" 等 {len(ks)} 个" if len(ks) > 5 else ""),
                    "、".join(dict.fromkeys(rows[k]["status"] for k in ks)), near.name if near else None, note])
        out_links.append(links[ks[0]] if len(ks) == 1 else None)
    cols = [Column("名单序号", INT), Column("单位名称", TEXT, 30), Column("主管部门", TEXT, 20), Column("单位代码", TEXT, 20),
            Column("提交情况", TEXT), Column("文件数", INT), Column("文件", LINK, 30), Column("检查结果", TEXT, 16),
            Column("名单中最接近的名称", TEXT, 24), Column("说明", WRAP, 40)]
    if not roster.has_code:
        cols, out = _drop(cols, out, 3)
    if not roster.has_dept:
        cols, out = _drop(cols, out, 2)
    state_col = [c.name for c in cols].index("提交情况")
    letter = chr(ord("A") + state_col)
    notes = [f"名单 {facts['listed']} 个单位：已提交 {facts['submitted']} 个（其中重复提交 {facts['twice']} 个），"
             f"未提交 {facts['missing']} 个；名单外 {facts['unlisted']} 个文件。按单位名称匹配（忽略空格和全角/半角差异）。"]
    if facts["nameless"]:
        notes.append(f"另有 {facts['nameless']} 个文件读不出部门名称（见“异常”表），未能与名单核对：其中可能有“未提交”的单位。")
    table = Table(ROSTER, f"名单核对（{roster.name}）：未提交、重复提交和名单外的单位", cols, out, out_links,
                  freeze_cols=2, notes=notes,
                  highlights=[{"cols": (state_col, state_col), "style": "bad", "formula": f'=${letter}{{row}}="{NOT_SUBMITTED}"'},
                              {"cols": (state_col, state_col), "style": "warn",
                               "formula": f'=OR(${letter}{{row}}="{TWICE}",${letter}{{row}}="{UNLISTED}")'}])
    facts.update(missing_list=missing_names, twice_list=twice_names, unlisted_list=unlisted)
    return table, facts


def _drop(cols, rows, j):
    return cols[:j] + cols[j + 1:], [r[:j] + r[j + 1:] for r in rows]
