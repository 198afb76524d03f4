"""What a genuine workbook looks like: the ``Layout`` of the blank template perfscore generates.

perfscore generated every workbook it receives: the indicator system, its rules year and region, the workbook kind
(Python 版 / Excel 公式版) and the generator's version determine every sheet, cell, formula, defined name, data
validation, merged range, protection flag, hidden row or column and the VBA project. So the receiving side does not
guess what tampering looks like; it regenerates the blank template the file claims to be (``template_for``), takes
its ``Layout`` (the same one-pass package reader as for received files, so both sides are normalised alike) and
compares (``compare``). Only the cells the template leaves unlocked for the department (``Layout.inputs``) may
differ; formulas are compared by meaning (``formula_key``), so a save by Excel, WPS or LibreOffice, which
re-spell formulas, is not a change.

Every workbook records the id of its layout (a hash of the ``Layout``) in the hint beside 规则地区. A file whose id
is not the current template's is verified against the layout stored for that id in ``layouts/`` (one file per
released layout, written by ``scripts/record_layouts.py``), or is told plainly to be regenerated — never called
tampered. Layouts are cached in memory and on disk (``cache_dir``), keyed by the generator's source and the
system file, so a ``check`` of one file does not rebuild a workbook.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from perfscore.excel.package import CellError, Package, read_package, single_cell
from perfscore.excel.layout import CONF_SHEET
from perfscore.excel.vba.extract import read_modules

LAYOUT_TEXT = re.compile(r"（版式 ([0-9a-f]{12})）")
LAYOUT_PLACEHOLDER = "（版式 000000000000）"
LAYOUTS_DIR = Path(__file__).with_name("layouts")  # one JSON file per released layout


@dataclass
class Layout:
    """The comparable content of a genuine blank workbook of one system, region, rules year and kind."""
    region: str
    year: int
    kind: str                                            # python, excel or values
    layout_id: str = ""
    sheets: list = field(default_factory=list)           # [title, state] in order
    names: dict = field(default_factory=dict)            # defined name -> [sheet, coordinate]
    cells: dict = field(default_factory=dict)            # "sheet!coord" -> ["f", formula] | ["v", value]
    inputs: list = field(default_factory=list)           # "sheet!coord" of the cells the department fills
    layout_cell: str = ""                                # "sheet!coord" of the hint holding the layout id
    hidden_rows: dict = field(default_factory=dict)      # sheet -> [row, ...] hidden in the template
    hidden_cols: dict = field(default_factory=dict)      # sheet -> [[first, last], ...]
    merged: dict = field(default_factory=dict)           # sheet -> [range, ...]
    validations: dict = field(default_factory=dict)      # sheet -> [[sqref, type, operator, f1, f2], ...]
    protected: list = field(default_factory=list)        # sheets protected in the template
    vba: dict = field(default_factory=dict)              # module name -> normalised source (python kind)
    vba_sha256: str = ""                                 # of the generated vbaProject.bin
    labels: dict = field(default_factory=dict)           # "sheet!coord" -> what a reader calls the cell (messages)

    def digest(self) -> str:
        d = asdict(self)
        for derived in ("layout_id", "vba_sha256", "labels"):
            d.pop(derived)
        return hashlib.sha256(json.dumps(d, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()[:12]

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True, indent=0)

    @classmethod
    def from_json(cls, text: str) -> "Layout":
        return cls(**json.loads(text))

    @property
    def input_set(self) -> frozenset:
        return _frozen(self, "inputs")


def _frozen(layout, attr):
    cache = layout.__dict__.setdefault("_cache", {})
    if attr not in cache:
        cache[attr] = frozenset(getattr(layout, attr))
    return cache[attr]


# --------------------------------------------------------------------------------------------- layout of a package
def normal_value(v):
    """A constant as compared: numbers as floats to 12 significant digits, text with \r\n folded, booleans."""
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return float(f"{float(v):.12g}")
    if isinstance(v, CellError):
        return str(v)
    return str(v).replace("\r\n", "\n")


def layout_of(pkg: Package, region: str, year: int, kind: str, inputs: set, layout_cell: str) -> Layout:
    """The Layout of a generated blank workbook (``inputs``: its unlocked cells, as "sheet!coord")."""
    lay = Layout(region, year, kind, inputs=sorted(inputs), layout_cell=layout_cell)
    for s in pkg.sheets:
        lay.sheets.append([s.title, s.state])
        for coord in set(s.values) | set(s.formulas):
            key = f"{s.title}!{coord}"
            if key in inputs:
                continue
            if coord in s.formulas:
                lay.cells[key] = ["f", s.formulas[coord]]
            else:
                v = normal_value(s.values[coord])
                if key == layout_cell and isinstance(v, str):
                    v = LAYOUT_TEXT.sub(LAYOUT_PLACEHOLDER, v)
                lay.cells[key] = ["v", v]
        lay.hidden_rows[s.title] = sorted(r for r, (hidden, _) in s.rows.items() if hidden)
        lay.hidden_cols[s.title] = sorted([lo, hi] for lo, hi, hidden, _ in s.cols if hidden)
        lay.merged[s.title] = sorted(s.merged)
        lay.validations[s.title] = sorted(list(v) for v in s.validations)
        if s.protected:
            lay.protected.append(s.title)
        lay.labels.update(_labels(s, inputs))
    for name, ref in pkg.names.items():
        target = single_cell(ref)
        if target:
            lay.names[name] = list(target)
    if pkg.vba is not None:
        lay.vba = {k: normal_vba(v) for k, v in read_modules(pkg.vba).items()}
        lay.vba_sha256 = hashlib.sha256(pkg.vba).hexdigest()
    lay.layout_id = lay.digest()
    return lay


_LABEL_COLUMNS = {"基础数据": "BA", "评分表": "CA", "扣分说明": "DCA", "自评表": "BCA"}


def _labels(sheet, inputs) -> dict:
    """For each formula and input cell, the text a reader knows its row by (an input's, an indicator's or a
    line's name), from the sheet's name column."""
    out = {}
    for coord in list(sheet.formulas) + [k.partition("!")[2] for k in inputs if k.startswith(sheet.title + "!")]:
        row = coord.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        for col in _LABEL_COLUMNS.get(sheet.title, "CBAD"):
            v = sheet.values.get(col + row)
            if isinstance(v, str) and v.strip() and len(v) <= 30 and col + row != coord and col + row not in sheet.formulas:
                out[f"{sheet.title}!{coord}"] = v.strip()
                break
    return out


def normal_vba(source: str) -> str:
    """A module's source as compared: line endings folded; blank lines, trailing blanks, Attribute lines (which
    Excel and LibreOffice rewrite) and the ``Option ClassModule`` line LibreOffice adds to class modules dropped."""
    lines = [ln.rstrip() for ln in source.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(ln for ln in lines if ln and not ln.startswith("Attribute ") and ln != "Option ClassModule")


# --------------------------------------------------------------------------------------------- templates
def generator_digest() -> str:
    """Changes whenever the code that writes workbooks changes (the layout cache is keyed by it)."""
    return _generator_digest()


@lru_cache(maxsize=1)
def _generator_digest() -> str:
    import perfscore  # lazy: only the package's folder, when hashing the generator
    root = Path(perfscore.__file__).parent
    h = hashlib.sha256()
    for sub in ("excel", "engine", "udfs.py"):
        p = root / sub
        for f in sorted(p.rglob("*.py")) if p.is_dir() else [p]:
            h.update(f.relative_to(root).as_posix().encode())
            h.update(f.read_bytes())
    try:
        from importlib.metadata import version
        h.update(version("xlwings").encode())
    except Exception:
        pass
    return h.hexdigest()


def cache_dir() -> Path:
    base = os.environ.get("PERFSCORE_CACHE") or os.environ.get("XDG_CACHE_HOME") or (Path.home() / ".cache")
    return Path(base) / "perfscore" / "layouts"


_MEMO: dict = {}


def template_for(system, kind: str) -> Layout:
    """The Layout of the blank workbook this perfscore generates for ``system`` (kind python, excel or values),
    from memory, the disk cache, or built and saved once in a temporary folder."""
    source = getattr(system, "source", "") or ""
    key = hashlib.sha256(f"{generator_digest()}\0{system.key}\0{system.year}\0{kind}\0{source}".encode()).hexdigest()
    if key in _MEMO:
        return _MEMO[key]
    path = cache_dir() / f"{key[:32]}.json"
    lay = None
    try:
        lay = Layout.from_json(path.read_text("utf-8"))
    except (OSError, ValueError, TypeError):
        pass
    if lay is None:
        lay = build_layout(system, kind)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(lay.to_json())
            os.replace(tmp, path)
        except OSError:  # a read-only home: work without the disk cache
            pass
    _MEMO[key] = lay
    return lay


def build_layout(system, kind: str) -> Layout:
    """Generate the blank workbook of ``kind``, save it as the template command would, and read it back."""
    from perfscore.excel.workbook import build_workbook, layout_cell, unlocked_cells, write_workbook  # lazy: cycle
    engine = "excel" if kind == "excel" else "python"
    built = build_workbook(system, None, engine=engine)
    inputs = unlocked_cells(built.wb)
    with tempfile.TemporaryDirectory(prefix="perfscore_layout_") as d:
        path = write_workbook(built, Path(d) / ("t.xlsx" if engine == "excel" else "t.xlsm"), stamp=False)
        pkg = read_package(path)
    if kind == "values":  # the values-only copy freeze writes: no xlwings.conf, no VBA, formulas become values
        pkg.sheets = [s for s in pkg.sheets if s.title != CONF_SHEET]
        pkg.vba = None
    return layout_of(pkg, system.key or "shenzhen", system.year, kind, inputs, layout_cell(built))


@lru_cache(maxsize=64)
def stored_layout(layout_id: str) -> Layout | None:
    """A released layout kept in the package (``layouts/<id>.json.gz``), or None."""
    if not re.fullmatch(r"[0-9a-f]{12}", layout_id or ""):
        return None
    path = LAYOUTS_DIR / f"{layout_id}.json.gz"
    try:
        return Layout.from_json(gzip.decompress(path.read_bytes()).decode("utf-8"))
    except (OSError, ValueError, TypeError, EOFError):
        return None
