"""Input sets for proving the Excel-formula workbook against the Python engine, and the comparison itself.

Shared by tests/test_native.py and benchmarks/bench_native.py. An input set is {input id: cell value} with the
values a person can type into the native workbook: numbers, 是/否, option labels or numbers, blanks (None) and
some junk text. ``edge_sets`` hits every band, threshold and step edge exactly in cents and one cent either side;
``input_set`` (hypothesis) mixes edges, zero denominators, blanks, partial checklist points and huge values.
"""
from __future__ import annotations

import math
import random
from fractions import Fraction

from hypothesis import strategies as st

from perfscore.engine import rules as R
from perfscore.engine.scoring import score_case

JUNK = ["abc", "十二", "95%%", "—", "不适用"]  # 不适用 is junk where an input does not declare it


# ------------------------------------------------------------------------------------------ layout
def expected_cells(system, raw) -> dict:
    """(sheet, coordinate) -> what the workbook must show for ``raw``: a number, or str for "a message"."""
    res = score_case(system, raw)
    out = {}
    n = len(system.indicators)
    for k, r in enumerate(res.indicators):
        v = r.score if r.error is None else str
        out[("评分表", f"G{4 + k}")] = v
        out[("扣分说明", f"F{3 + k}")] = v
    out[("评分表", f"G{4 + n}")] = res.total if res.total is not None else str
    out[("评分表", f"G{5 + n}")] = res.grade if res.grade is not None else str
    row = 3 + n + 3  # a blank row, the 小计 title, the header
    for levels, results in ((system.level1, res.level1), (system.level2, res.level2)):
        for lv in levels:
            s = results[lv.id].score
            out[("扣分说明", f"F{row}")] = s if s is not None else str
            row += 1
    return out


def family_of(system, key) -> str:
    sheet, coord = key
    n = len(system.indicators)
    row = int(coord[1:])
    k = row - 4 if sheet == "评分表" else row - 3
    if 0 <= k < n and coord[0] in "GF":
        ind = system.indicators[k]
        fam = ind.rule.family
        if isinstance(ind.rule, R.Composite):
            fam += "(" + "+".join(r.family for _, r in ind.rule.parts) + ")"
        return f"{fam} {ind.name}"
    return "合计/等级"


def disagreements(system, raw, got: dict) -> list[tuple[str, str]]:
    """[(family, description)] where ``got`` (key -> value from a spreadsheet) differs from the engine."""
    out = []
    for key, want in expected_cells(system, raw).items():
        v = got.get(key)
        if want is str:
            ok = isinstance(v, str) and v != ""
        elif isinstance(want, str):
            ok = v == want
        else:
            ok = isinstance(v, float) and not isinstance(v, bool) and v == want
        if not ok:
            out.append((family_of(system, key), f"{key[0]}!{key[1]}: 引擎 {want!r}，表格 {v!r}"))
    return out


# ------------------------------------------------------------------------------------------ edges
def measure_edges(system) -> dict:
    """measure id -> sorted edges (fractions) that its rules compare against."""
    edges: dict = {}

    def add(m, *vals):
        for v in vals:
            if v is not None and math.isfinite(v):
                edges.setdefault(m.id, set()).add(Fraction(str(v)))

    def visit(rule):
        if isinstance(rule, R.Composite):
            for _, r in rule.parts:
                visit(r)
        elif isinstance(rule, R.Bands):
            for iv, *_ in rule.bands:
                add(rule.measure, iv.lo, iv.hi)
        elif isinstance(rule, R.RatioPoints):
            add(rule.measure, rule.zero_above, rule.cap)
        elif isinstance(rule, R.LinearDeduction):
            add(rule.measure, *[rule.threshold + k / 100 for k in range(0, 12)])
        elif isinstance(rule, R.StepDeduction):
            add(rule.measure, *[rule.target - k * rule.step for k in range(0, 5)])

    for ind in system.indicators:
        visit(ind.rule)
    return {k: sorted(v) for k, v in edges.items()}


def _kind(system, iid):
    return system.inputs[iid].kind


def edge_values(system, m, e: Fraction, rng: random.Random, offset: int = 0):
    """Inputs that put measure ``m`` exactly on ``e`` (offset 0) or one cent / one unit beside it; None if not
    reachable with this measure's inputs."""
    if not m.den:
        (iid, _), = m.num
        if _kind(system, iid) != "rate":
            return None
        v = e + Fraction(offset, 10000)
        if not 0 <= v <= 1:
            return None
        return {iid: float(v) if rng.random() < 0.5 else float(v * 100)}
    ids = [i for i, _ in m.num] + [i for i, _ in m.den]
    if all(_kind(system, i) == "count" for i in ids):
        for _ in range(400):
            vals = {i: rng.randint(0, 60) for i in dict.fromkeys(ids)}
            n = sum(s * vals[i] for i, s in m.num)
            d = sum(s * vals[i] for i, s in m.den)
            if d > 0 and Fraction(n, d) == e:
                first = m.num[0][0]
                vals[first] += offset
                return {k: float(v) for k, v in vals.items()} if vals[first] >= 0 else None
        return None
    if any(_kind(system, i) != "amount" for i in ids) or set(i for i, _ in m.num) & set(i for i, _ in m.den):
        return None
    # amounts in cents: the denominator a multiple of e's denominator, the first numerator term solved for
    q = e.denominator
    scale = rng.choice([10**3, 10**6, 10**9, 2 * 10**11])
    vals = {}
    den_terms = list(m.den)
    for i, s in den_terms[1:]:
        vals[i] = rng.randint(0, scale // 10)
    rest = sum(s * vals[i] for i, s in den_terms[1:])
    total_den = q * rng.randint(max(1, scale // (10 * q)), max(2, scale // q))
    first, s0 = den_terms[0]
    vals[first] = s0 * (total_den - rest)
    if vals[first] < 0:
        return None
    n_target = e * total_den
    if n_target.denominator != 1:
        return None
    num_terms = list(m.num)
    pos = next((k for k, (_, s) in enumerate(num_terms) if s > 0), None)
    if pos is None:
        return None
    for k, (i, s) in enumerate(num_terms):
        if k != pos:
            vals[i] = rng.randint(0, max(1, scale // 10))
    others = sum(s * vals[i] for k, (i, s) in enumerate(num_terms) if k != pos)
    vals[num_terms[pos][0]] = int(n_target) - others + offset
    if any(v < 0 for v in vals.values()):
        return None
    return {i: v / 100 for i, v in vals.items()}


def base_raw(system, case) -> dict:
    raw = {k: v for k, v in case.raw_values().items() if k in system.inputs}
    for iid, spec in system.inputs.items():
        if iid not in raw and spec.default is not None:
            d = spec.default
            raw[iid] = ("是" if d else "否") if isinstance(d, bool) else d
    for k, v in list(raw.items()):
        kind = system.inputs[k].kind
        if kind in ("amount", "count", "rate", "score"):
            raw[k] = system.inputs[k].parse(v)  # as the workbook writer puts it in the cell: a number
        elif isinstance(v, bool):
            raw[k] = "是" if v else "否"
        elif isinstance(v, int):
            raw[k] = float(v)
    return raw


def edge_sets(system, case=None, seed=0, base=None) -> list[dict]:
    """Every edge of every measure, exactly and one cent (one unit) either side, over the reference inputs."""
    rng = random.Random(seed)
    base = base if base is not None else base_raw(system, case)
    out = []
    for mid, edges in measure_edges(system).items():
        m = system.measures[mid]
        for e in edges:
            for offset in (0, -1, 1):
                for _ in range(2):
                    vals = edge_values(system, m, e, rng, offset)
                    if vals is not None:
                        out.append({**base, **vals})
    # “不适用” where an input declares it (scored as declared), all of them at once, and where one does not (a message)
    na = [i for i, spec in system.inputs.items() if spec.not_applicable]
    out += [{**base, i: "不适用"} for i in na]
    if na:
        out.append({**base, **{i: "不适用" for i in na}})
    other = next((i for i, spec in system.inputs.items() if spec.kind == "judgement" and not spec.not_applicable), None)
    if other:
        out.append({**base, other: "不适用"})
    return out


# ------------------------------------------------------------------------------------------ hypothesis
def _value(system, iid, typed=True):
    spec = system.inputs[iid]
    k = spec.kind
    blank_or_junk = st.sampled_from([None, None, *JUNK])
    if k == "amount":
        v = st.one_of(st.integers(0, 10**9).map(lambda c: c / 100), st.just(0.0),
                      st.integers(10**12, 10**14).map(lambda c: c / 100), st.floats(-100, -0.01).map(lambda x: round(x, 2)))
    elif k == "count":
        v = st.one_of(st.integers(0, 40).map(float), st.just(2.5), st.just(-1.0))
    elif k == "rate":
        v = st.one_of(st.integers(0, 10000).map(lambda b: b / 10000), st.sampled_from([0.25, 0.5, 0.75, 1.0, 0.9, 0.95, 0.8]),
                      st.integers(2, 100).map(float), st.just(1.5 * 100))
    elif k == "judgement":
        na = ["不适用", "不适用"] if spec.not_applicable else []  # scores as declared (full points)
        v = st.one_of(st.sampled_from(["是", "否", "是", "否", 0.0, spec.max, *na]),
                      st.integers(0, int(spec.max * 1000)).map(lambda x: x / 1000), st.just(spec.max + 1))
    elif k == "score":
        v = st.one_of(st.integers(0, int(spec.max * 100)).map(lambda x: x / 100), st.just(spec.max + 0.5),
                      *([st.just("不适用")] if spec.not_applicable else []))
    elif k == "flag":
        v = st.sampled_from(["是", "否", "否", 1.0, 0.0])
    elif k == "choice":
        v = st.one_of(st.sampled_from(spec.options), st.integers(1, len(spec.options)).map(float), st.just(9.0))
    else:
        return st.none()
    if not typed:
        return st.one_of(v, v, v, v, v, v, blank_or_junk)
    return st.one_of(v, v, v, v, v.flatmap(lambda x: typed_as_text(spec, x)), blank_or_junk,
                     st.sampled_from(TYPED_JUNK))


# what people type or paste that is not a number by the one rule (issue 19): each must be refused alike everywhere
TYPED_JUNK = ["1e3", "3/4", "2020-12-31", "1-2", "+5", "--3", "1.2.3", "１２元5元", "5%%", "%", ".", "-", "12 ３",
              "\u00a012", "①", "是的", "ｙｅｓ", "YES", "Yes ", "有", "√", "0.5.", "１，２３４．５６"]


def _full_width(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in s)


def typed_as_text(spec, v):
    """``v`` as a person may type or paste it as text: commas, spaces, full-width digits, the unit, a % sign."""
    if v is None:
        return st.none()
    if isinstance(v, str):
        return st.sampled_from([v, f" {v}", f"{v} ", f"\u3000{v}", _full_width(v)])
    x = v * 100 if spec.kind == "rate" and v <= 1 else v
    plain = f"{x:.10f}".rstrip("0").rstrip(".")
    commas = f"{x:,.2f}" if abs(x) >= 1000 else plain
    forms = [plain, commas, f" {plain} ", _full_width(commas), f"{plain}{spec.unit}" if spec.unit and spec.unit != "%" else plain]
    if spec.kind == "rate":
        forms += [f"{plain}%", _full_width(f"{plain}%"), f"{v}"]
    return st.sampled_from(forms)


@st.composite
def input_set(draw, system, base: dict, typed: bool = True):
    """The reference inputs with a few changed: kind-wise values (also typed as text, ``typed``), an exact edge, a
    zero denominator."""
    raw = dict(base)
    ids = [i for i in system.inputs if system.inputs[i].kind != "text"]
    for iid in draw(st.lists(st.sampled_from(ids), max_size=8, unique=True)):
        raw[iid] = draw(_value(system, iid, typed))
    how = draw(st.sampled_from(["edge", "edge", "zero", "none"]))
    measures = [m for m in system.measures.values() if m.den or m.num]
    m = draw(st.sampled_from(measures))
    if how == "edge":
        edges = measure_edges(system).get(m.id)
        if edges:
            e = draw(st.sampled_from(edges))
            vals = edge_values(system, m, e, random.Random(draw(st.integers(0, 10**6))), draw(st.sampled_from([0, 0, -1, 1])))
            if vals:
                raw.update(vals)
    elif how == "zero" and m.den:
        for i, _ in m.den:
            raw[i] = 0.0
        for i, _ in m.num:
            raw[i] = draw(st.sampled_from([0.0, 0.0, 5.0]))
    return raw


def generic_base(system) -> dict:
    """Plausible inputs for any system (no reference case): every input filled, every indicator scorable."""
    out = {}
    for iid, spec in system.inputs.items():
        out[iid] = {"amount": 1000.0, "count": 5.0, "rate": 0.9, "judgement": "是", "flag": "否",
                    "score": spec.max, "choice": spec.options[0] if spec.options else None}.get(spec.kind)
    return {k: v for k, v in out.items() if v is not None}
