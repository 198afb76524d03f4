"""Many filled workbooks, fast: one real workbook written by perfscore, then variants made by rewriting the
input cells of 基础数据 and the stored values of the 评分表 score cells inside the zip (milliseconds each).
Each variant is internally consistent for what `check`/`collect` read: its stored scores, total and grade are
what the engine computes for its inputs. (Cells on other sheets keep the base workbook's cached values.)

Used by benchmarks/bench_collect.py and tests/test_collect.py.
"""
from __future__ import annotations

import random
import re
import zipfile
from pathlib import Path

from perfscore import REFERENCE_CASE, load_case, load_system, score_case
from perfscore.cache import _sheet_paths
from perfscore.workbook import build_workbook, write_workbook

VARIED = ("procurement_actual", "satisfaction_rate", "outside_staff", "key_tasks_unfinished", "effectiveness_score",
          "q4_progress", "fixed_assets_in_use", "projects_done")


def _set_cell(xml: str, coord: str, value) -> str:
    """Replace one cell's value, keeping its style and formula; text goes in as an inline string."""
    from xml.sax.saxutils import escape
    m = re.search(rf'<c r="{coord}"([^>]*?)(?:/>|>(.*?)</c>)', xml, re.S)
    if not m:
        raise ValueError(f"cell {coord} not found")
    attrs = re.sub(r'\s+t="[^"]*"', "", m.group(1))
    f = re.search(r"<f>.*?</f>", m.group(2) or "", re.S)
    f = f.group(0) if f else ""
    if value is None:
        body = f
    elif isinstance(value, str):
        attrs += ' t="str"' if f else ' t="inlineStr"'
        body = f + (f"<v>{escape(value)}</v>" if f else f"<is><t>{escape(value)}</t></is>")
    else:
        body = f + f"<v>{float(value)!r}</v>"
    return xml[:m.start()] + f'<c r="{coord}"{attrs}>{body}</c>' + xml[m.end():]


class Synth:
    def __init__(self, workdir):
        self.system = load_system(2020)
        self.case = load_case(REFERENCE_CASE)
        built = build_workbook(self.system, self.case)
        Path(workdir).mkdir(parents=True, exist_ok=True)
        self.base = Path(workdir) / "base.xlsm"
        if not self.base.exists():
            write_workbook(built, self.base)
        wb = built.wb
        self.input_cell = {s.id: wb.defined_names[s.name].attr_text.split("!")[1].replace("$", "")
                           for s in self.system.inputs.values()}
        ws = wb["评分表"]
        self.score_cell = {ws.cell(r, 3).value: f"G{r}" for r in range(4, 25)}
        self.total_cell, self.grade_cell = "G25", "G26"
        with zipfile.ZipFile(self.base) as z:
            self.infos = z.infolist()
            self.parts = {i.filename: z.read(i.filename) for i in self.infos}
            sheets = _sheet_paths(z)
        self.input_part, self.score_part = sheets["基础数据"], sheets["评分表"]
        self.name_cell = wb.defined_names["部门名称"].attr_text.split("!")[1].replace("$", "")

    def variant_inputs(self, rnd: random.Random) -> dict:
        raw = self.case.raw_values()
        raw["procurement_actual"] = round(13200 * rnd.uniform(0.5, 1.05), 2)
        raw["satisfaction_rate"] = round(rnd.uniform(0.75, 1.0), 4)
        raw["outside_staff"] = rnd.randint(0, 5)
        raw["key_tasks_unfinished"] = rnd.choice([0, 0, 0, 1, 2])
        raw["effectiveness_score"] = rnd.randrange(30, 51) / 2
        raw["q4_progress"] = round(rnd.uniform(0.8, 1.0), 4)
        raw["fixed_assets_in_use"] = round(132825.86 * rnd.uniform(0.5, 1.0), 2)
        raw["projects_done"] = rnd.randint(2, 4)
        return raw

    def write(self, path, raw: dict, department: str, *, stored_override: dict | None = None):
        """Write a variant with inputs ``raw``; ``stored_override`` {cell: value} tampers with stored scores."""
        res = score_case(self.system, raw)
        inp = self.parts[self.input_part].decode("utf-8")
        for iid in VARIED:
            inp = _set_cell(inp, self.input_cell[iid], raw[iid])
        inp = _set_cell(inp, self.name_cell, department)
        sc = self.parts[self.score_part].decode("utf-8")
        for r in res.indicators:
            sc = _set_cell(sc, self.score_cell[r.indicator.name], r.score if r.error is None else r.error)
        sc = _set_cell(sc, self.total_cell, res.total)
        sc = _set_cell(sc, self.grade_cell, res.grade)
        for cell, value in (stored_override or {}).items():
            sc = _set_cell(sc, cell, value)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
            for info in self.infos:
                data = self.parts[info.filename]
                if info.filename == self.input_part:
                    data = inp.encode("utf-8")
                elif info.filename == self.score_part:
                    data = sc.encode("utf-8")
                z.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
        return res

    def generate(self, outdir, n: int, seed: int = 0) -> list[Path]:
        rnd = random.Random(seed)
        outdir = Path(outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        paths = []
        for i in range(n):
            p = outdir / f"单位{i:05d}.xlsm"
            self.write(p, self.variant_inputs(rnd), f"测试单位{i:05d}")
            paths.append(p)
        return paths
