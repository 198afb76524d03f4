"""Many filled perfscore workbooks, fast: one real workbook written by ``write_workbook``, then variants made by
rewriting cells inside its zip (a few milliseconds each instead of ~0.2 s).

A test and benchmark helper, not part of the package: users never need synthetic workbooks. It lives beside the
tests (``benchmarks/bench_collect.py`` imports it from here) so that both exercise exactly the same files.

Each variant stays internally consistent: the department's inputs in 基础数据 are replaced, and every formula cell
that depends on them (评分表 scores, total and grade; 扣分说明 scores, deductions, 得分率, reasons and subtotals;
自评表 department name) gets the value the builder would cache for those inputs. The values come from a small
evaluator of the template's own formulas (``Built.formulas``) over ``score_case`` and the ``udfs`` helpers, so
the layout is learnt from the builder rather than restated here; ``tests/test_collect.py`` checks the result
against ``build_workbook(system, case).cached`` cell by cell.
"""
from __future__ import annotations

import math
import random
import re
import struct
import zipfile
import zlib
from pathlib import Path
from xml.sax.saxutils import escape

from perfscore import udfs
from perfscore.excel.cache import sheet_parts
from perfscore.excel.native import evaluate
from perfscore.engine.case import Case, CaseInput
from perfscore.engine.scoring import score_case
from perfscore.excel.workbook import HEADER_FIELDS, YEAR_NAME, build_workbook, write_workbook

INPUT_SHEET, SCORE_SHEET = "基础数据", "评分表"
_CELL = r'<c r="{coord}"(?P<attrs>[^>]*?)(?:/>|>(?P<body>.*?)</c>)'
_REF = re.compile(r"^\$?([A-Z]+)\$?([0-9]+)$")


def _defined_names(z: zipfile.ZipFile) -> dict[str, tuple[str, str]]:
    """defined name -> (sheet title, coordinate)."""
    wb = z.read("xl/workbook.xml").decode("utf-8")
    out = {}
    for m in re.finditer(r'<definedName name="([^"]+)"[^>]*>([^<]+)</definedName>', wb):
        sheet, _, ref = m.group(2).rpartition("!")
        cell = _REF.match(ref)
        if cell:
            out[m.group(1)] = (sheet.strip("'").replace("&apos;", "'"), cell.group(1) + cell.group(2))
    return out


def _xml_value(value) -> tuple[str | None, str]:
    """(cell type attribute or None for a number, the <v> text) of a cached formula value."""
    if isinstance(value, bool):
        return "b", "1" if value else "0"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return "e", "#NUM!"
        return None, repr(float(value)) if isinstance(value, float) else str(value)
    return "str", escape(str(value))


def _strip_type(attrs: str) -> str:
    return re.sub(r'\s+t="[^"]*"', "", attrs)


def _deflate(data: bytes) -> tuple[bytes, int, int]:
    """(raw deflate stream, crc32, uncompressed size) — what a zip entry stores."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(), zlib.crc32(data), len(data)


def _write_zip(path, entries) -> None:
    """A plain zip (deflate, no extras) from precompressed entries: zipfile cannot copy compressed bytes, and
    recompressing the unchanged parts (VBA project, styles, theme) would be most of a variant's cost."""
    local, central, offset = [], [], 0
    for info, packed, crc, size in entries:
        name = info.filename.encode("utf-8")
        flags = 0x800 if not name.isascii() else 0
        dt = info.date_time
        dostime = dt[3] << 11 | dt[4] << 5 | dt[5] // 2
        dosdate = (dt[0] - 1980) << 9 | dt[1] << 5 | dt[2]
        head = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, 8, dostime, dosdate, crc, len(packed), size,
                           len(name), 0)
        local += [head, name, packed]
        central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, flags, 8, dostime, dosdate, crc,
                                   len(packed), size, len(name), 0, 0, 0, 0, info.external_attr, offset) + name)
        offset += len(head) + len(name) + len(packed)
    cd = b"".join(central)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(cd), offset, 0)
    with open(path, "wb") as f:
        f.write(b"".join(local) + cd + end)


class _Template:
    """One sheet part split around the cells we rewrite: literal chunks and (coordinate, attrs, formula) slots."""

    def __init__(self, xml: str, coords):
        self.chunks, self.slots = [], []
        spans = []
        for coord in coords:
            m = re.search(_CELL.format(coord=coord), xml, re.S)
            if m is None:
                raise ValueError(f"cell {coord} not found")
            f = re.search(r"<f>(.*?)</f>", m.group("body") or "", re.S)
            spans.append((m.start(), m.end(), coord, _strip_type(m.group("attrs")), f.group(1) if f else None))
        spans.sort()
        pos = 0
        for start, end, coord, attrs, formula in spans:
            self.chunks.append(xml[pos:start])
            self.slots.append((coord, attrs, formula))
            pos = end
        self.chunks.append(xml[pos:])

    def render(self, values: dict) -> bytes:
        out = []
        for chunk, (coord, attrs, formula) in zip(self.chunks, self.slots):
            out.append(chunk)
            v = values[coord]
            if formula is not None:
                t, text = _xml_value(v)
                typed = f' t="{t}"' if t else ""
                out.append(f'<c r="{coord}"{attrs}{typed}><f>{formula}</f><v>{text}</v></c>')
            elif v is None or v == "":
                out.append(f'<c r="{coord}"{attrs}/>')
            elif isinstance(v, bool):
                out.append(f'<c r="{coord}"{attrs} t="b"><v>{int(v)}</v></c>')
            elif isinstance(v, (int, float)):
                out.append(f'<c r="{coord}"{attrs} t="n"><v>{v!r}</v></c>')
            else:
                out.append(f'<c r="{coord}"{attrs} t="inlineStr"><is><t>{escape(str(v))}</t></is></c>')
        out.append(self.chunks[-1])
        return "".join(out).encode("utf-8")


class VariantFactory:
    """``VariantFactory(system, base_case, workdir)`` writes one real workbook, then ``write(path, raw, header)``
    makes a variant with other inputs (``raw``: input id -> value as a department would type it) and header
    (部门名称, 预算年度, 填报人, 联系电话)."""

    def __init__(self, system, base_case, workdir):
        self.system, self.base_case = system, base_case
        template = Path(workdir) / "_template.xlsm"
        built = build_workbook(system, base_case)
        if not template.exists():
            write_workbook(built, template)
        self.template_path = template
        self.formulas, self.base_cached, self.exprs = built.formulas, built.cached, built.exprs
        self.constants = {}  # (sheet, coord) -> value of non-formula cells formulas refer to (分值 columns)
        for (sheet, coord), text in self.formulas.items():
            for ref in re.findall(r"(?<![A-Za-z_'!])\$?([A-Z]{1,2})\$?([0-9]+)(?![0-9(])", text):
                key = (sheet, ref[0] + ref[1])
                if key not in self.formulas:
                    self.constants[key] = built.wb[sheet][key[1]].value
        with zipfile.ZipFile(template) as z:
            self.infos = z.infolist()
            self.data = {i.filename: z.read(i.filename) for i in self.infos}
            parts = sheet_parts(z)
            names = _defined_names(z)
        self.packed = {name: _deflate(data) for name, data in self.data.items()}  # unchanged parts, once
        by_name = {s.name: iid for iid, s in system.inputs.items()}
        self.input_cells = {by_name[n]: cell for n, cell in names.items() if n in by_name}
        self.header_cells = {label: names[label] for label, _ in HEADER_FIELDS}
        self.year_cell = names[YEAR_NAME]
        slots: dict[str, set] = {}
        for sheet, coord in [*self.input_cells.values(), *self.header_cells.values(), self.year_cell, *self.formulas]:
            slots.setdefault(sheet, set()).add(coord)
        self.parts = {parts[sheet]: (sheet, _Template(self.data[parts[sheet]].decode("utf-8"), coords))
                      for sheet, coords in slots.items()}
        self.by_function = {i.function: i.id for i in system.indicators}

    # ---------------------------------------------------------------- values
    def cached_values(self, raw: dict, header: dict):
        """(sheet, coord) -> what the builder caches for these inputs; and the engine's CaseResult."""
        s = self.system
        result = score_case(s, {k: raw.get(k) for k in s.inputs})  # a blank cell is blank, never its default
        scores = {r.id: (r.score if r.error is None else r.error) for r in result.indicators}
        reasons = {r.id: r.reason for r in result.indicators}
        values: dict = {}

        def ref_value(sheet, coord):
            key = (sheet, coord)
            if key in self.formulas:
                return ev(key)
            return self.constants[key]

        def refs(sheet, text):
            out = []
            for part in text.split(","):
                a, _, b = part.partition(":")
                ma, mb = _REF.match(a.strip()), _REF.match((b or a).strip())
                col_a, row_a, col_b, row_b = ma.group(1), int(ma.group(2)), mb.group(1), int(mb.group(2))
                assert col_a == col_b, text
                out += [ref_value(sheet, f"{col_a}{r}") for r in range(row_a, row_b + 1)]
            return out

        def ev(key):
            if key in values:
                return values[key]
            sheet, _ = key
            f = self.formulas[key][1:]
            fn = f.split("(", 1)[0]
            header_ref = re.fullmatch(r'IF\((\w+)="","",\1\)', f)
            if key in self.exprs:  # built from a native expression (扣分说明's 得分, 扣分, 得分率, 小计)
                v = evaluate(self.exprs[key], lambda k: ref_value(*k))
            elif header_ref and header_ref.group(1) in ("部门名称", "填报人"):
                v = header.get(header_ref.group(1)) or ""
            elif header_ref and header_ref.group(1) == "预算年度":
                v = header.get("预算年度", self.base_cached[key])
            elif "填报单位" in f:
                year = header.get("预算年度", self.base_case.year)
                v = f"填报单位（盖章）：{header.get('部门名称') or ''}　　　　预算年度：{year or ''}"
            elif fn in self.by_function:
                v = scores[self.by_function[fn]]
            elif fn == "PERF_TOTAL":
                v = udfs.total(refs(sheet, f[len(fn) + 1:-1]))
            elif fn == "PERF_GRADE":
                v = udfs.grade_by(s, ref_value(sheet, f[len(fn) + 1:-1].split(",")[0]))
            elif fn == "PERF_RATE":
                a, b = f[len(fn) + 1:-1].split(",")
                v = udfs.rate(ref_value(sheet, a), ref_value(sheet, b))
            elif fn == "PERF_REASON":
                v = reasons[self.by_function[f[len(fn) + 1:].split(",")[0].strip('"')]]
            elif m := re.fullmatch(r'IF\(ISNUMBER\((\w+)\),(\w+)-(\w+),"—"\)', f):
                x = ref_value(sheet, m.group(1))
                v = ref_value(sheet, m.group(2)) - x if isinstance(x, (int, float)) and not isinstance(x, bool) else "—"
            elif m := re.fullmatch(r"'([^']+)'!(\w+)", f):
                v = ref_value(m.group(1), m.group(2))
            elif f in ("部门名称", "填报人"):
                v = header.get(f) or 0
            elif f == "预算年度":
                v = header.get(f, self.base_cached[key])
            else:  # SUM of task amounts, PERF_TARGET of goal rows: not touched by the variants
                v = self.base_cached[key]
            values[key] = v
            return v

        for key in self.formulas:
            ev(key)
        return values, result

    # ---------------------------------------------------------------- writing
    def write(self, path, raw: dict, header: dict, *, year=None, overrides=None):
        """Write a variant; ``overrides`` {(sheet, coord): value} replaces cached values after the fact (to fake
        a hand-edited score); ``year`` replaces the 规则年度 cell."""
        values, result = self.cached_values(raw, header)
        if overrides:
            values.update(overrides)
        cells = {}
        for (sheet, coord), v in values.items():
            cells.setdefault(sheet, {})[coord] = v
        for iid, (sheet, coord) in self.input_cells.items():
            cells.setdefault(sheet, {})[coord] = raw.get(iid)
        for label, (sheet, coord) in self.header_cells.items():
            cells.setdefault(sheet, {})[coord] = header.get(label)
        ys, yc = self.year_cell
        cells.setdefault(ys, {})[yc] = self.system.year if year is None else year
        entries = []
        for info in self.infos:
            if info.filename in self.parts:
                sheet, tpl = self.parts[info.filename]
                entries.append((info, *_deflate(tpl.render(cells[sheet]))))
            else:
                entries.append((info, *self.packed[info.filename]))
        _write_zip(path, entries)
        return result

    def case_for(self, raw: dict, header: dict) -> Case:
        """The same inputs as a Case (for ``build_workbook`` in tests)."""
        b = self.base_case
        case = Case("variant", b.title, header.get("部门名称") or "", int(header.get("预算年度") or b.year),
                    header.get("填报人") or "", header.get("联系电话") or "")
        case.inputs = {k: CaseInput(v) for k, v in raw.items() if v is not None}
        case.tasks, case.goal_rows = b.tasks, b.goal_rows
        case.goals_expected, case.goals_actual = b.goals_expected, b.goals_actual
        return case


# -------------------------------------------------------------------- varied inputs
def random_inputs(rng: random.Random, system, base: dict, *, poor: bool = False) -> dict:
    """Plausible inputs near ``base`` (the reference case), by input kind; ``poor`` for a weak department."""
    out = {}
    for iid, spec in system.inputs.items():
        b = base.get(iid)
        k = spec.kind
        if k == "judgement":
            yes = 0.5 if poor else 0.97
            out[iid] = "是" if rng.random() < yes else "否"
        elif k == "amount":
            v = b if isinstance(b, (int, float)) else 1_000_000.0
            out[iid] = round(float(v) * rng.uniform(0.85, 1.15), 2)
        elif k == "count":
            v = int(b) if isinstance(b, (int, float)) else 0
            out[iid] = max(0, v + rng.choice((-1, 0, 0, 1, 2 if poor else 0)))
        elif k == "rate":
            v = b if isinstance(b, (int, float)) else 0.9
            out[iid] = round(min(1.0, max(0.0, float(v) - rng.uniform(0, 0.25 if poor else 0.08))), 4)
        elif k == "score":
            out[iid] = round(spec.max * rng.uniform(0.3 if poor else 0.75, 1.0) * 2) / 2
        elif k == "flag":
            out[iid] = "是" if (b is True or b == "是") else ("是" if poor and rng.random() < 0.2 else "否")
        elif k == "choice":
            out[iid] = b if b in spec.options and rng.random() < (0.6 if poor else 0.95) else rng.choice(spec.options)
        else:
            out[iid] = b
    # keep the quarterly progress increasing, as spending is cumulative
    q = [i for i in ("q1_progress", "q2_progress", "q3_progress", "q4_progress") if i in out]
    if q:
        for i, v in zip(q, sorted(out[i] for i in q)):
            out[i] = v
    for part, whole in (("fixed_assets_in_use", "fixed_assets_total"), ("projects_done", "projects_planned"),
                        ("procurement_actual", "procurement_budget")):
        if part in out and whole in out and out[part] > out[whole]:
            out[part], out[whole] = out[whole], out[part]
    return out


def varied(system, base_case, n: int, seed: int = 0, *, require_scored: bool = True):
    """``n`` (raw inputs, header) pairs with distinct department names; every one fully scorable by default."""
    rng = random.Random(seed)
    base = base_case.raw_values()
    made = []
    while len(made) < n:
        k = len(made)
        raw = random_inputs(rng, system, base, poor=rng.random() < 0.15)
        if require_scored and score_case(system, raw).errors:
            continue
        header = {"部门名称": f"测试单位{k + 1:05d}", "预算年度": system.year, "填报人": f"填报人{k % 97}",
                  "联系电话": f"0755-{10000000 + k}"}
        made.append((raw, header))
    return made
