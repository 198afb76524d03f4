"""Fuzz the commands that read files a user (or a hostile sender) supplies: mutated workbook bytes, zip members,
sheet XML, case TOML and indicator-system TOML, with fixed seeds. A run fails when any input ends in exit code 70
(内部错误), a traceback, an exception escaping ``main``, or takes longer than the hang limit.

    PYTHONPATH=src .venv/bin/python scripts/fuzz.py -n 20000          # 20,000 inputs per family
    PYTHONPATH=src .venv/bin/python scripts/fuzz.py -n 200 --seed 7 --family case

Families and what each input runs (in-process through ``perfscore.cli.main``; ``--subprocess K`` also runs every
K-th input as a real ``python -m perfscore`` process):
  workbook  check, collect's per-file worker (``collect.process_file``) and the reading stage freeze and
            carry-forward share (read, rules year, case with its 自评表); full freeze and carry-forward (they rebuild
            and save a workbook, ~0.3 s each) on every ``--heavy-every``-th input and every quarter of that among
            the mutated workbooks that still read
  case      score (case file)
  system    validate, and template --system as freeze above (every K-th, and every K/4-th valid one)
``tests/test_fuzz.py`` runs the same with at least 1,000 inputs per family.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "workbook" / "参考案例_深圳市科技开发交流中心_2020.xlsm"
HANG_SECONDS = 20

# ------------------------------------------------------------------------------------------ mutators
_TOKENS = ["", "0", "-1", "1e400", "-1e308", "1e300", "NaN", "inf", "12560", "2020", "1999", "99999999999999999999",
           "0.0000001", "是", "否", "#VALUE!", "#REF!", "=1+1", "\u202e59.1", "\x00", "&amp;", "&lt;", "<", "]]>",
           "政府采购实际数", "'基础数据'!$D$23", "基础数据!$D$99999", "#REF!", "A1", "XFD1048576", "rId99", "🙂" * 50,
           "x" * 5000]
_T_ATTRS = ["s", "str", "b", "e", "n", "inlineStr", "d", "x", ""]


def _flip(data: bytes, rng: random.Random, k: int | None = None) -> bytes:
    b = bytearray(data)
    if not b:
        return bytes([rng.randrange(256)])
    for _ in range(k or rng.randint(1, 20)):
        b[rng.randrange(len(b))] = rng.randrange(256)
    return bytes(b)


def _splice(data: bytes, rng: random.Random) -> bytes:
    if len(data) < 2:
        return data + data
    i, j = sorted(rng.randrange(len(data)) for _ in range(2))
    op = rng.randrange(4)
    if op == 0:
        return data[:i] + data[j:]                              # delete a range
    if op == 1:
        return data[:j] + data[i:j] + data[j:]                  # duplicate a range
    if op == 2:
        return data[:i]                                         # truncate
    return data[:i] + rng.choice(_TOKENS).encode("utf-8", "surrogatepass") + data[i:]  # insert a token


def _xml_edit(text: str, rng: random.Random) -> str:
    """One structure-aware edit of an OOXML part."""
    edits = [
        (r"<v>[^<]*</v>", lambda m: f"<v>{rng.choice(_TOKENS)}</v>"),
        (r'\bt="[^"]*"', lambda m: f't="{rng.choice(_T_ATTRS)}"'),
        (r'\br="[A-Z]+[0-9]+"', lambda m: f'r="{rng.choice(["A1", "D23", "G8", "BL9999", "XFD1", "A0", "AAA1", "d23", ""])}"'),
        (r'<row r="[0-9]+"', lambda m: m.group(0) + ' hidden="1"'),
        (r"<f>[^<]*</f>", lambda m: f"<f>{rng.choice(['1+1', 'PERF_TOTAL(G4:G24)', 'SUM(', '', 'A1:XFD1048576'])}</f>"),
        (r"<c [^>]*/>", lambda m: m.group(0)[:-2] + "><f>1/0</f><v>#DIV/0!</v></c>"),
        (r"<definedName [^>]*>[^<]*</definedName>",
         lambda m: re.sub(r">[^<]*<", ">" + rng.choice(_TOKENS).replace("<", "&lt;") + "<", m.group(0))),
        (r'name="[^"]*"', lambda m: f'name="{rng.choice(["基础数据", "评分表", "x", "", "政府采购实际数", "_xlnm.Print_Area"])}"'),
        (r'Id="rId[0-9]+"', lambda m: f'Id="rId{rng.randint(0, 12)}"'),
        (r'r:id="rId[0-9]+"', lambda m: f'r:id="rId{rng.randint(0, 12)}"'),
        (r'Target="[^"]*"', lambda m: f'Target="{rng.choice(["worksheets/sheet9.xml", "/xl/worksheets/sheet1.xml", "", "../../etc/passwd", "sharedStrings.xml"])}"'),
        (r"<t>[^<]*</t>", lambda m: f"<t>{rng.choice(_TOKENS).replace('<', '&lt;')}</t>"),
        (r'<dimension ref="[^"]*"', lambda m: f'<dimension ref="{rng.choice(["A1:XFD1048576", "A1", "A1:F66", "Z9:A1"])}"'),
        (r"<col [^>]*>", lambda m: m.group(0).replace("<col ", '<col hidden="1" ', 1)),
        (r"</sheetData>", lambda m: '<row r="70" hidden="1"><c r="B70" t="inlineStr"><is><t>政府采购实际数</t></is></c>'
                                    f'<c r="D70"><v>{rng.choice(_TOKENS[:12])}</v></c></row></sheetData>'),
        (r"<[a-zA-Z]+[^>]*>", lambda m: ""),                   # drop an opening tag
    ]
    pattern, repl = rng.choice(edits)
    hits = list(re.finditer(pattern, text))
    if not hits:
        return text[: rng.randrange(len(text) + 1)]
    m = rng.choice(hits)
    return text[: m.start()] + repl(m) + text[m.end():]


def _rezip(members: list[tuple[zipfile.ZipInfo, bytes]], rng: random.Random) -> bytes:
    import warnings
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        warnings.simplefilter("ignore")  # a duplicated member name is one of the mutations
        for info, data in members:
            zi = zipfile.ZipInfo(info.filename, date_time=(2020, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED if rng.random() > 0.05 else zipfile.ZIP_STORED
            z.writestr(zi, data)
    return buf.getvalue()


def mutate_workbook(base: bytes, members, rng: random.Random) -> tuple[str, bytes]:
    """(how, mutated bytes)."""
    r = rng.random()
    if r < 0.2:
        return "bytes", _flip(base, rng)
    if r < 0.3:
        return "splice", _splice(base, rng)
    ms = list(members)
    k = rng.randrange(len(ms))
    info, data = ms[k]
    if r < 0.4:
        op = rng.randrange(3)
        if op == 0:
            del ms[k]
            how = f"drop {info.filename}"
        elif op == 1:
            ms.append((info, data))
            how = f"duplicate {info.filename}"
        else:
            ms[k] = (info, _flip(data, rng))
            how = f"member bytes {info.filename}"
        return how, _rezip(ms, rng)
    if r < 0.5:
        ms[k] = (info, _splice(data, rng))
        return f"member splice {info.filename}", _rezip(ms, rng)
    # structure-aware: sheets, workbook.xml and its relationships are where the reader looks
    xml = [i for i, (inf, _) in enumerate(ms) if inf.filename.endswith((".xml", ".rels"))]
    weights = [8 if "worksheets/sheet" in ms[i][0].filename or "workbook.xml" in ms[i][0].filename else 1 for i in xml]
    k = rng.choices(xml, weights)[0]
    info, data = ms[k]
    text = data.decode("utf-8")
    for _ in range(rng.randint(1, 3)):
        text = _xml_edit(text, rng)
    ms[k] = (info, text.encode("utf-8", "surrogatepass"))
    return f"xml {info.filename}", _rezip(ms, rng)


_TOML_VALUES = ['""', "0", "-1", "1e400", "nan", "inf", "-inf", "true", "false", "[]", "[1, \"a\"]", "{}",
                '{ source = "x" }', '{ value = "是", source = "x" }', "1979-05-27", "12:00:00", '"\\u202e"',
                '"\\u0000"', '"95.15%"', '"是"', "1_000", "0x10", '"' + "x" * 3000 + '"', "[[[[[[1]]]]]]",
                "99999999999999999999", "2020", "1999", "3000", "\"score.procurement\"", "\"bands\""]


def mutate_toml(text: str, rng: random.Random) -> tuple[str, bytes]:
    r = rng.random()
    data = text.encode("utf-8")
    if r < 0.15:
        return "bytes", _flip(data, rng, rng.randint(1, 5))
    if r < 0.25:
        return "splice", _splice(data, rng)
    if r < 0.3:
        return "bom", b"\xef\xbb\xbf" + data
    lines = text.split("\n")
    numbers = [i for i, ln in enumerate(lines) if re.search(r"= *-?[0-9]", ln)]
    for _ in range(rng.randint(1, 3)):
        k = rng.randrange(len(lines))
        op = rng.randrange(8)
        if op >= 5 and numbers:  # a plausible edit that keeps the file valid: another number
            k = rng.choice(numbers)
            new = rng.choice(["0", "-0.0", "1", "-5", "100", "1e-9", "123456789012", "0.5", "2.5", "1e300",
                              str(round(rng.uniform(-10, 200), rng.randint(0, 4)))])
            lines[k] = re.sub(r"= *-?[0-9][0-9_.eE+-]*", "= " + new, lines[k], count=1)
        elif op == 0 and "=" in lines[k]:
            key = lines[k].split("=", 1)[0]
            lines[k] = key + "= " + rng.choice(_TOML_VALUES)
        elif op == 1:
            del lines[k]
        elif op == 2:
            lines.insert(k, lines[rng.randrange(len(lines))])
        elif op == 3 and "=" in lines[k]:
            lines[k] = rng.choice(["x", "ref", "value", "rule", "kind", "\"\u202e\"", "year", "points"]) + " =" + lines[k].split("=", 1)[1]
        else:
            lines.insert(k, rng.choice(["[inputs]", "[[stated]]", "[case]", "[system]", "[[indicators]]",
                                        "[goal_table]", "[x.y.z]", "a = 1", "[inputs.x]"]))
    return "lines", "\n".join(lines).encode("utf-8")


# ------------------------------------------------------------------------------------------ running
class _Hang(Exception):
    pass


def _on_alarm(signum, frame):
    raise _Hang()


@dataclass
class Outcome:
    runs: int = 0
    codes: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)   # (family, seed, how, command, what)
    slowest: tuple = (0.0, "")

    def add(self, code, seconds, label):
        self.runs += 1
        self.codes[code] = self.codes.get(code, 0) + 1
        if seconds > self.slowest[0]:
            self.slowest = (seconds, label)


def run_main(argv: list[str]) -> tuple[object, str, float]:
    """(exit code or 'exception …' or 'hang', stderr, seconds) of ``perfscore argv`` in this process."""
    from perfscore.cli import main
    err, out = io.StringIO(), io.StringIO()
    t = time.perf_counter()
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(HANG_SECONDS)
    try:
        with contextlib.redirect_stderr(err):
            code = main(argv, out=out)
    except _Hang:
        code = "hang"
    except BaseException as exc:  # noqa: BLE001 — anything escaping main is a failure to report
        if isinstance(exc, KeyboardInterrupt):
            raise
        code = f"exception {type(exc).__name__}: {str(exc)[:200]}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    return code, err.getvalue(), time.perf_counter() - t


def _bad(code, err: str) -> str | None:
    if code == 70 or not isinstance(code, int):
        return f"exit {code}: {err.strip()[:300]}"
    if "Traceback" in err or "内部错误" in err:
        return f"exit {code} with: {err.strip()[:300]}"
    return None


def _system_2021(work: Path) -> Path:
    from perfscore.engine.system import PACKAGE_SYSTEMS
    text = (PACKAGE_SYSTEMS / "shenzhen" / "2020.toml").read_text("utf-8").replace("year = 2020", "year = 2021")
    p = work / "2021.toml"
    p.write_text(text, "utf-8")
    return p


def fuzz_workbooks(n: int, seed: int, work: Path, outcome: Outcome, heavy_every: int = 20, subprocess_every: int = 0):
    from perfscore.receiving import collect
    base = REF.read_bytes()
    with zipfile.ZipFile(REF) as z:
        members = [(i, z.read(i.filename)) for i in z.infolist()]
    sys2021 = _system_2021(work)
    for k in range(n):
        rng = random.Random(f"workbook-{seed}-{k}")
        how, data = mutate_workbook(base, members, rng)
        path = work / "变异.xlsm"
        path.write_bytes(data)
        label = f"workbook seed={seed} k={k} ({how})"
        code, err, secs = run_main(["check", str(path)])
        outcome.add(code, secs, label + " check")
        if (why := _bad(code, err)):
            outcome.failures.append((label, "check", why))
        t = time.perf_counter()
        row = collect.process_file(str(path), file_timeout=0)
        secs = time.perf_counter() - t
        outcome.add(row.get("category") or "ok", secs, label + " collect")
        if row.get("category") == collect.INTERNAL:
            outcome.failures.append((label, "collect", row.get("reason")))
        what = _read_stage(path)
        outcome.add("read-stage ok" if what is None else "read-stage refused", 0, label)
        if what and what.startswith("!"):
            outcome.failures.append((label, "freeze/carry-forward read stage", what[1:]))
        if k % heavy_every == 0 or (code in (0, 1) and k % max(heavy_every // 4, 1) == 0):
            for argv in (["freeze", str(path), "-o", str(work / "提交版.xlsx"), "--force"],
                         ["carry-forward", str(path), "--year", "2021", "--system", str(sys2021), "-o",
                          str(work / "新年度.xlsm"), "--force"]):
                c, e, s = run_main(argv)
                outcome.add(c, s, f"{label} {argv[0]}")
                if (why := _bad(c, e)):
                    outcome.failures.append((label, argv[0], why))
        if subprocess_every and k % subprocess_every == 0:
            _subprocess(["check", str(path)], label, outcome)


def _read_stage(path) -> str | None:
    """What freeze and carry-forward do with the file before they build a new workbook (read it, find its
    rules year, rebuild its case with the 自评表): None if it reads, the reason if refused, "!…" on a defect."""
    from perfscore.errors import PerfscoreError
    from perfscore.receiving.reader import case_from_filled, read_filled, rules_system
    try:
        filled = read_filled(path)
        system = rules_system(filled)
        case_from_filled(filled, system).check_against(system)
    except PerfscoreError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001
        return f"!{type(exc).__name__}: {str(exc)[:200]}"
    return None


def _subprocess(argv, label, outcome):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t = time.perf_counter()
    try:
        p = subprocess.run([sys.executable, "-m", "perfscore", *argv], capture_output=True, text=True,
                           timeout=HANG_SECONDS * 3, env=env)
        code, err = p.returncode, p.stderr
    except subprocess.TimeoutExpired:
        code, err = "hang", ""
    outcome.add(code, time.perf_counter() - t, f"{label} subprocess {argv[0]}")
    if (why := _bad(code, err)):
        outcome.failures.append((label, "subprocess " + argv[0], why))


def fuzz_cases(n: int, seed: int, work: Path, outcome: Outcome, subprocess_every: int = 0):
    from perfscore.engine.case import REFERENCE_CASE
    text = REFERENCE_CASE.read_text("utf-8")
    for k in range(n):
        rng = random.Random(f"case-{seed}-{k}")
        how, data = mutate_toml(text, rng)
        path = work / "案例.toml"
        path.write_bytes(data)
        label = f"case seed={seed} k={k} ({how})"
        for argv in (["score", str(path)],) + ((["score", str(path), "--json"],) if k % 10 == 0 else ()):
            code, err, secs = run_main(argv)
            outcome.add(code, secs, label)
            if (why := _bad(code, err)):
                outcome.failures.append((label, " ".join(argv[:1] + argv[2:]), why))
        if subprocess_every and k % subprocess_every == 0:
            _subprocess(["score", str(path)], label, outcome)


def fuzz_systems(n: int, seed: int, work: Path, outcome: Outcome, heavy_every: int = 20, subprocess_every: int = 0):
    from perfscore.engine.system import PACKAGE_SYSTEMS
    text = (PACKAGE_SYSTEMS / "shenzhen" / "2020.toml").read_text("utf-8")
    for k in range(n):
        rng = random.Random(f"system-{seed}-{k}")
        how, data = mutate_toml(text, rng)
        path = work / f"体系{k % 7}.toml"  # distinct names: the loader caches by path and mtime
        path.write_bytes(data)
        label = f"system seed={seed} k={k} ({how})"
        code, err, secs = run_main(["validate", str(path)])
        outcome.add(code, secs, label)
        if (why := _bad(code, err)):
            outcome.failures.append((label, "validate", why))
        if k % heavy_every == 0 or (code == 0 and k % max(heavy_every // 4, 1) == 0):
            c, e, s = run_main(["template", "--system", str(path), "-o", str(work / "模板.xlsm"), "--force"])
            outcome.add(c, s, label + " template")
            if (why := _bad(c, e)):
                outcome.failures.append((label, "template --system", why))
        if subprocess_every and k % subprocess_every == 0:
            _subprocess(["validate", str(path)], label, outcome)


FAMILIES = {"workbook": fuzz_workbooks, "case": fuzz_cases, "system": fuzz_systems}


def run(n: int, seed: int = 0, families=tuple(FAMILIES), heavy_every: int = 20, subprocess_every: int = 0) -> dict:
    """family -> Outcome."""
    results = {}
    with tempfile.TemporaryDirectory(prefix="perfscore-fuzz-") as d:
        for fam in families:
            work = Path(d) / fam
            work.mkdir()
            outcome = Outcome()
            t = time.perf_counter()
            kw = {"subprocess_every": subprocess_every}
            if fam != "case":
                kw["heavy_every"] = heavy_every
            FAMILIES[fam](n, seed, work, outcome, **kw)
            outcome.seconds = time.perf_counter() - t
            results[fam] = outcome
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=20000, help="mutated inputs per family (default 20000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--family", action="append", choices=list(FAMILIES), help="default: all three")
    ap.add_argument("--heavy-every", type=int, default=20, help="freeze/carry-forward/template on every K-th input")
    ap.add_argument("--subprocess", type=int, default=0, metavar="K", help="also run every K-th input as a process")
    a = ap.parse_args()
    fams = a.family or list(FAMILIES)
    bad = 0
    for fam, o in run(a.n, a.seed, fams, a.heavy_every, a.subprocess).items():
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(o.codes.items(), key=lambda kv: str(kv[0])))
        print(f"{fam}: {a.n} mutated inputs, {o.runs} command runs in {o.seconds:.0f} s; outcomes {{{codes}}}; "
              f"slowest {o.slowest[0]:.2f} s ({o.slowest[1]}); failures {len(o.failures)}")
        for f in o.failures[:20]:
            print("   ", *f)
        bad += len(o.failures)
    print("no exit 70, no traceback, no hang" if not bad else f"{bad} failures")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
