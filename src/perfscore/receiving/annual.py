"""The annual refresh: what changed between two years' indicator systems, and carrying a department's standing
fields (name, contacts, 编制数 …) into the new year's workbook with the year's figures left blank."""
from __future__ import annotations

import difflib
from pathlib import Path

from perfscore.engine.system import DEFAULT_REGION, load_system_file, require_exact_year, year_files
from perfscore.engine.case import Case, CaseInput
from perfscore.engine.tomlfile import read_toml
from perfscore.errors import PerfscoreError, SystemFileError, UnknownYear
from perfscore.excel.layout import CONF_SHEET
from perfscore.excel.workbook import build_workbook, write_workbook
from perfscore.excel.xlconf import PORTABLE, read_conf_sheet, write_conf_sheet
from perfscore.files import check_output
from perfscore.receiving.reader import raw_inputs, read_filled, rules_system

KEYED = ("id", "label", "input", "name")  # how list items are matched between years


def _system_path(spec: str, region=DEFAULT_REGION) -> Path:
    spec = spec if spec.endswith(".toml") and Path(spec).exists() else spec.strip()
    if spec.endswith(".toml"):
        return Path(spec)
    if not spec.isdigit():
        raise UnknownYear(f"“{spec}”既不是年度也不是 .toml 文件")
    files = year_files(region, None)
    if int(spec) not in files:
        raise UnknownYear(f"没有 {spec} 年度的指标体系：现有年度为 {'、'.join(map(str, sorted(files)))}")
    return files[int(spec)]


def _key(item):
    if isinstance(item, dict):
        for k in KEYED:
            if isinstance(item.get(k), str):
                return item[k]
    return None


def _short(v, n=60) -> str:
    s = v if isinstance(v, str) else repr(v)
    return s if len(s) <= n else s[: n - 1] + "…"


def _walk(a, b, path, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in a:
            if k not in b:
                out.append(f"{path}.{k}：删除（原为 {_short(a[k])}）")
        for k in b:
            if k not in a:
                out.append(f"{path}.{k}：新增 {_short(b[k])}")
            else:
                _walk(a[k], b[k], f"{path}.{k}" if path else str(k), out)
    elif isinstance(a, list) and isinstance(b, list) and all(_key(x) for x in a + b) and a and b:
        ka, kb = {_key(x): x for x in a}, {_key(x): x for x in b}
        for k in ka:
            if k not in kb:
                out.append(f"{path}[{k}]：删除")
        for k in kb:
            if k not in ka:
                out.append(f"{path}[{k}]：新增")
            else:
                _walk(ka[k], kb[k], f"{path}[{k}]", out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for k, (x, y) in enumerate(zip(a, b)):
            _walk(x, y, f"{path}[{k}]", out)
    elif a != b:
        if isinstance(a, str) and isinstance(b, str) and (len(a) > 60 or len(b) > 60):
            sm = difflib.SequenceMatcher(None, a, b)
            changes = [f"“{a[i1:i2]}”→“{b[j1:j2]}”" for tag, i1, i2, j1, j2 in sm.get_opcodes() if tag != "equal"]
            out.append(f"{path}：文字改动 " + "；".join(_short(c, 80) for c in changes[:5]))
        else:
            out.append(f"{path}：{_short(a)} → {_short(b)}")


def diff_systems(a: str, b: str) -> list[str]:
    """Readable list of what changed from system ``a`` to ``b`` (years or .toml paths). Both are validated first."""
    pa, pb = _system_path(a), _system_path(b)
    sa, sb = load_system_file(pa), load_system_file(pb)  # strict validation of both
    da, db = (read_toml(p, SystemFileError) for p in (pa, pb))
    out = []
    ia, ib = {i.id: i for i in sa.indicators}, {i.id: i for i in sb.indicators}
    for iid in ia.keys() - ib.keys():
        out.append(f"删除指标：{ia[iid].name}（{iid}，分值 {ia[iid].weight:g}）")
    for iid in ib.keys() - ia.keys():
        out.append(f"新增指标：{ib[iid].name}（{iid}，分值 {ib[iid].weight:g}）")
    details = []
    da.get("system", {}).pop("year", None)
    db.get("system", {}).pop("year", None)
    _walk(da, db, "", details)
    return out + details


def carry_forward(last, year: int, output, *, system_path=None, old_system_path=None, force: bool = False):
    """New year's workbook with the department's standing fields copied from last year's; figures blank.

    An input of the new year takes last year's value of the input its ``carry_from`` names (三公经费预算 →
    上年三公经费预算), or of itself when it is ``standing`` (核定编制数). -> (carried, not carried) as names."""
    check_output(output, Path(output).suffix.lower(), force, "新年度工作簿", inputs=[last])  # never over last year's
    filled = read_filled(last)
    old = rules_system(filled, old_system_path)
    new = load_system_file(system_path) if system_path else require_exact_year(year, region=filled.region)
    if new.year <= old.year and not system_path:
        raise PerfscoreError(f"上一年度工作簿按 {old.year} 年规则填写，新年度 {year} 应晚于它")
    h = filled.header
    case = Case(str(last), "自评工作簿", str(h.get("部门名称") or ""), year, str(h.get("填报人") or ""),
                "" if h.get("联系电话") is None else str(h.get("联系电话")).removesuffix(".0"))
    carried, missing = [], []
    last_values = raw_inputs(filled, old)
    for spec in new.inputs.values():
        source = spec.carry_from or (spec.id if spec.standing else None)
        if source is None:
            continue
        v = last_values.get(source)
        if v is None or (isinstance(v, str) and not v.strip()):
            missing.append(spec.name)
            continue
        case.inputs[spec.id] = CaseInput(v)
        was = old.inputs[source].name
        carried.append(spec.name if was == spec.name else f"{spec.name}（取上年“{was}”）")
    built = build_workbook(new, case)
    kept = _carry_conf(last, built)
    write_workbook(built, output, force=force)
    return carried + kept, missing


def _carry_conf(last, built) -> list[str]:
    """Keep the keys of last year's ``xlwings.conf`` sheet that perfscore does not set itself (e.g. an
    ``INTERPRETER_WIN`` with a %VARIABLE% path the IT department put there); ours are rewritten."""
    old = read_conf_sheet(last) or []
    extra = {}
    for k, v in old:
        if k.upper() not in PORTABLE and k.upper() not in {x.upper() for x in extra}:
            extra[k] = "" if v is None else v
    if not extra:
        return []
    ws = built.wb[CONF_SHEET]
    ws.delete_rows(1, ws.max_row)
    write_conf_sheet(ws, extra)
    return [f"xlwings.conf 中的 {k}" for k in extra]
