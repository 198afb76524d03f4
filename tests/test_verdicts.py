"""A verdict the bureau can rely on (issue 25): every way found to gain a point without check saying 未通过, built
from freshly generated workbooks of both kinds, must fail check (exit 1) or be refused (exit 2), must never be
ranked or rated by collect, and freeze must not turn it into a clean-looking 提交版. The honest file beside them
passes, and is the only one ranked."""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from perfscore.cli import main
from perfscore.engine.case import REFERENCE_CASE, load_case
from perfscore.engine.system import load_system
from perfscore.errors import PerfscoreError
from perfscore.excel.cache import sheet_parts
from perfscore.excel.workbook import build_workbook, write_workbook
from perfscore.receiving.check import check_workbook

KINDS = ("python", "excel")
SUFFIX = {"python": ".xlsm", "excel": ".xlsx"}


@pytest.fixture(scope="module")
def genuine(tmp_path_factory):
    """The reference case written fresh in both kinds."""
    d = tmp_path_factory.mktemp("genuine")
    system, case = load_system(2020), load_case(REFERENCE_CASE)
    return {k: write_workbook(build_workbook(system, case, engine=k), d / f"真{SUFFIX[k]}") for k in KINDS}


# ------------------------------------------------------------------------------------------------ editing a package
def _edit(src: Path, dst: Path, edits: dict) -> Path:
    """Copy ``src`` to ``dst`` with ``edits``: part name or sheet title -> function(text) -> text; a part name
    not in the package is added ("+name")."""
    with zipfile.ZipFile(src) as z:
        parts = sheet_parts(z)
        infos = z.infolist()
        data = {i.filename: z.read(i.filename) for i in infos}
    for key, fn in edits.items():
        if key.startswith("+"):
            data[key[1:]] = fn(None).encode("utf-8")
            continue
        name = parts.get(key, key)
        data[name] = fn(data[name].decode("utf-8")).encode("utf-8")
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
        for name, body in data.items():
            out.writestr(name, body)
    return dst


def _sub(pattern, repl, count=1):
    def fn(text):
        new, n = re.subn(pattern, repl, text, count=count, flags=re.S)
        assert n, pattern
        return new
    return fn


def _charrefs(text: str) -> str:
    return "".join(ch if ord(ch) < 128 else f"&#{ord(ch)};" for ch in text)


def _row_attr(row: int, attrs: str):
    return _sub(rf'<row r="{row}"[^>]*>', f'<row r="{row}" {attrs}>')


def _decoy(label: str, value: float, row: int = 70):
    """A row under the table repeating an input's label with another value."""
    cells = (f'<row r="{row}"><c r="B{row}" t="inlineStr"><is><t>{_charrefs(label)}</t></is></c>'
             f'<c r="D{row}"><v>{value}</v></c></row></sheetData>')
    return _sub(r"</sheetData>", cells)


def _copy_sheet(title: str, new_title: str, state: str = "visible"):
    """Edits that add a copy of the sheet ``title`` named ``new_title`` (and set the original's state)."""
    def workbook(text):
        text = re.sub(rf'(<sheet [^>]*name="{_charrefs(title)}"[^>]*state=")visible(")', rf"\g<1>{state}\2", text) \
            if _charrefs(title) in text else re.sub(rf'(<sheet [^>]*name="{title}"[^>]*state=")visible(")',
                                                    rf"\g<1>{state}\2", text)
        return text.replace("</sheets>", f'<sheet xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
                                         f'relationships" name="{new_title}" sheetId="99" state="visible" r:id="rId99"/>'
                                         f"</sheets>")

    def rels(text):
        return text.replace("</Relationships>", '<Relationship Type="http://schemas.openxmlformats.org/officeDocument/'
                                                '2006/relationships/worksheet" Target="/xl/worksheets/sheet99.xml" '
                                                'Id="rId99"/></Relationships>')
    return workbook, rels


def _doctor(kind: str, src: Path, dst: Path, attack: str) -> Path:
    """One doctored copy of the genuine workbook ``src``: the ways found to gain a point unseen."""
    with zipfile.ZipFile(src) as z:
        input_xml = z.read(sheet_parts(z)["基础数据"]).decode("utf-8")
    # the 政府采购实际数 row: D23 holds 12560 (of a budget of 13200); the attacker wants the score of 13200
    raise_input = _sub(r'(<c r="D23"[^>]*><v>)12560(</v>)', r"\g<1>13200\2")
    if attack == "hidden row behind a decoy label":
        return _edit(src, dst, {"基础数据": lambda t: _decoy("政府采购实际数", 12560)(_row_attr(23, 'hidden="1"')(raise_input(t)))})
    if attack == "decoy label with invisible characters":
        return _edit(src, dst, {"基础数据": lambda t: _decoy("政府采购实际数\u200b", 12560)(
            _row_attr(23, 'hidden="1"')(raise_input(t)))})
    if attack == "0.75-pt row":
        return _edit(src, dst, {"基础数据": lambda t: _row_attr(23, 'ht="0.75" customHeight="1"')(raise_input(t))})
    if attack == "very hidden input sheet behind a visible copy":
        wb, rels = _copy_sheet("基础数据", "基础数据 ", state="veryHidden")
        return _edit(src, dst, {"基础数据": raise_input, "xl/workbook.xml": wb, "xl/_rels/workbook.xml.rels": rels,
                                "+xl/worksheets/sheet99.xml": lambda _: input_xml})
    if attack == "two sheets with the same title":
        wb, rels = _copy_sheet("基础数据", "基础数据")
        return _edit(src, dst, {"基础数据": raise_input, "xl/workbook.xml": wb, "xl/_rels/workbook.xml.rels": rels,
                                "+xl/worksheets/sheet99.xml": lambda _: input_xml})
    if attack == "defined name pointing at row 0":
        return _edit(src, dst, {"xl/workbook.xml": _sub(r"(>'基础数据'!\$D\$)23(<)", r"\g<1>0\2")})
    if attack == "defined name pointing at another cell":
        return _edit(src, dst, {"xl/workbook.xml": _sub(r"(>'基础数据'!\$D\$)23(<)", r"\g<1>22\2")})
    if attack == "sheet-local name shadowing an input":
        return _edit(src, dst, {"xl/workbook.xml": _sub(r"</definedNames>",
                                                       "<definedName name=\"政府采购实际数\" localSheetId=\"2\">"
                                                       "'基础数据'!$D$22</definedName></definedNames>")})
    if attack == "input formula with a false cached value":
        return _edit(src, dst, {"基础数据": _sub(r'(<c r="D23"[^>]*?)( t="n")?><v>12560</v>', r"\1><f>12000+560</f><v>13200</v>")})
    if attack == "score formula replaced by a constant":
        return _edit(src, dst, {"评分表": _sub(r'(<c r="G8"[^>]*?)( t="\w+")?><f>.*?</f><v>[^<]*</v>', r"\1><v>2</v>")})
    if attack == "score formula edited":
        return _edit(src, dst, {"评分表": _sub(r'(<c r="G8"[^>]*><f>)', r"\g<1>0.05+")})
    if attack == "native helper cell replaced by a constant":
        return _edit(src, dst, {"基础数据": _sub(r'(<c r="K23"[^>]*?)( t="\w+")?><f>.*?</f><v>[^<]*</v>', r"\1><v>13200</v>")})
    if attack == "goal-table judgement formula replaced":
        return _edit(src, dst, {"自评表": _sub(r'(<c r="G18"[^>]*?)( t="\w+")?><f>.*?</f>(<v>[^<]*</v>)?', r'\1 t="str"><v>达成</v>')})
    if attack == "locked label edited":
        return _edit(src, dst, {"评分表": _sub(r"(<c r=\"D8\"[^>]*><v>)2(</v>)", r"\g<1>1\2")})
    if attack == "merged cell covering a score":
        return _edit(src, dst, {"评分表": _sub(r"<mergeCells( count=\"\d+\")?>", '<mergeCells><mergeCell ref="F8:G8"/>')})
    if attack == "extra VBA module":
        from perfscore.excel.vba import build_vba_project, document_modules, parse_module_file, xlwings_modules
        from perfscore.excel.xlwings_bridge import generate_udf_module
        system = load_system(2020)
        wb = openpyxl.load_workbook(src, keep_vba=True)
        evil = parse_module_file('Attribute VB_Name = "Helper"\r\nSub Auto_Open()\r\n'
                                 '  Sheets(3).Range("G8").Value = 2\r\nEnd Sub\r\n', "Helper.bas")
        modules = xlwings_modules() + [parse_module_file(generate_udf_module(dst.name, [system]), "xlwings_udfs.bas"),
                                       evil] + document_modules(wb)
        vba = build_vba_project(modules)
        return _replace_vba(src, dst, vba)
    if attack == "rules year relabelled":
        return _edit(src, dst, {"基础数据": lambda t: _sub(r'(<c r="C7"[^>]*><v>)2020(</v>)', r"\g<1>2021\2")(
            t.replace("2020 年版", "2021 年版").replace(_charrefs("2020 年版"), _charrefs("2021 年版")))})
    if attack.startswith("rules region "):
        region = attack.removeprefix("rules region ")
        return _edit(src, dst, {"基础数据": _sub(r'(<c r="C8"[^>]*t=")inlineStr("><is><t>)shenzhen(</t>)',
                                                rf"\g<1>inlineStr\g<2>{region}\3")})
    raise AssertionError(attack)


def _replace_vba(src: Path, dst: Path, vba: bytes) -> Path:
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
        for i in z.infolist():
            out.writestr(i.filename, vba if i.filename == "xl/vbaProject.bin" else z.read(i.filename))
    return dst


ATTACKS = ["hidden row behind a decoy label", "decoy label with invisible characters", "0.75-pt row",
           "very hidden input sheet behind a visible copy", "two sheets with the same title",
           "defined name pointing at row 0", "defined name pointing at another cell", "sheet-local name shadowing an input",
           "input formula with a false cached value", "score formula replaced by a constant", "score formula edited",
           "goal-table judgement formula replaced", "locked label edited", "merged cell covering a score",
           "rules year relabelled", "rules region /tmp/evil", "rules region ../../etc", "rules region shenzhen/../x"]
CASES = [(k, a) for k in KINDS for a in ATTACKS] + [("excel", "native helper cell replaced by a constant"),
                                                   ("python", "extra VBA module")]


@pytest.fixture(scope="module")
def doctored(genuine, tmp_path_factory):
    d = tmp_path_factory.mktemp("doctored")
    out = {}
    for n, (kind, attack) in enumerate(CASES):
        out[kind, attack] = _doctor(kind, genuine[kind], d / f"改{n:02d}{SUFFIX[kind]}", attack)
    return out


def test_genuine_files_pass(genuine):
    for kind, path in genuine.items():
        rep = check_workbook(path)
        assert rep.passed and rep.status == "通过", (kind, rep.items)


@pytest.mark.parametrize("kind,attack", CASES)
def test_doctored_file_fails_with_a_reason(doctored, kind, attack, capsys):
    path = doctored[kind, attack]
    code = main(["check", str(path)])
    out, err = capsys.readouterr()
    assert code in (1, 2), (attack, out, err)
    text = out + err
    assert "检查结果：通过" not in text
    assert "内部错误" not in text and "Traceback" not in text
    if code == 1:  # the first finding names what was done, in Chinese, not a wall of cells
        first = next(line for line in out.splitlines() if line.startswith("  ["))
        assert first.startswith("  [错误]"), (attack, out)
    else:
        assert err.startswith("perfscore：") and len(err) < 600, err


def test_doctored_file_messages(doctored):
    """Each attack is named for what it is, so the reviewer can tell why a file failed."""
    want = {"hidden row behind a decoy label": "第 23 行（隐藏）", "0.75-pt row": "行高压到 0.75 磅",
            "decoy label with invisible characters": "多了",
            "very hidden input sheet behind a visible copy": "深度隐藏",
            "two sheets with the same title": "都叫“基础数据”",
            "defined name pointing at row 0": "应指向 基础数据!D23",
            "sheet-local name shadowing an input": "局部名称", "input formula with a false cached value": "是公式",
            "score formula replaced by a constant": "固定数值", "score formula edited": "公式被改动",
            "goal-table judgement formula replaced": "固定数值", "locked label edited": "内容被改动",
            "merged cell covering a score": "盖住", "extra VBA module": "多了模块“Helper”"}
    for (kind, attack), path in doctored.items():
        if attack not in want:
            continue
        rep = check_workbook(path)
        text = "\n".join(f"{i.where}：{i.message}" for i in rep.items)
        assert want[attack] in text, (kind, attack, text)
        assert not rep.passed


@pytest.mark.parametrize("attack", ["rules year relabelled", "rules region /tmp/evil", "rules region ../../etc",
                                    "rules region shenzhen/../x"])
def test_relabelled_rules_are_refused_not_looked_up(doctored, attack):
    for kind in KINDS:
        with pytest.raises(PerfscoreError) as e:
            check_workbook(doctored[kind, attack])
        msg = str(e.value)
        assert ("未知的规则地区" in msg) if "region" in attack else ("2021 年度的指标体系" in msg), msg


def test_collect_ranks_only_the_verified(genuine, doctored, tmp_path):
    d = tmp_path / "收到的"
    d.mkdir()
    (d / f"真{SUFFIX['excel']}").write_bytes(genuine["excel"].read_bytes())
    for n, path in enumerate(doctored.values()):
        (d / f"改{n:02d}{path.suffix}").write_bytes(path.read_bytes())
    out = tmp_path / "汇总.xlsx"
    code = main(["collect", str(d), "-o", str(out), "--jobs", "2"], out=io.StringIO())
    assert code == 1
    wb = openpyxl.load_workbook(out)
    ranked = [r for r in list(wb["排名"].values)[3:] if any(v is not None for v in r)]
    assert len(ranked) == 1, ranked
    assert ranked[0][:4] == (1, "深圳市科技开发交流中心", pytest.approx(97.93), "优")
    heads = list(wb["指标得分率"].values)[2]
    rates = [dict(zip(heads, r)) for r in list(wb["指标得分率"].values)[3:] if r and isinstance(r[0], int)]
    assert rates and all(r["计分文件数"] == 1 for r in rates), rates  # the one verified file
    summary = [r for r in list(wb["汇总"].values)[3:] if r and r[1] is not None]
    heads = list(wb["汇总"].values)[2]
    col = {h: k for k, h in enumerate(heads)}
    for r in summary:
        if r[col["文件"]] != "真.xlsx":
            assert r[col["综合评分"]] is None and r[col["检查结果"]] in ("未通过", "无法读取"), r
    problems = [r for r in list(wb["异常"].values)[3:] if r and r[0] is not None]
    assert len(problems) == len(doctored)
    for r in problems:
        assert "（空）" not in (r[3] or "").split("\n")[0], r  # the decisive finding first


def test_freeze_refuses_a_doctored_file(doctored, tmp_path, capsys):
    path = doctored["excel", "hidden row behind a decoy label"]
    out = tmp_path / "提交版.xlsx"
    assert main(["freeze", str(path), "-o", str(out)]) == 1
    assert not out.exists() and "未生成提交版" in capsys.readouterr().out
    assert main(["freeze", str(path), "-o", str(out), "--force"]) == 0
    assert main(["check", str(out)]) == 1  # the forced copy carries its verdict


def test_every_current_layout_is_recorded():
    """Each packaged system's current templates have their layout in the package (scripts/record_layouts.py), so
    workbooks made now keep verifying after the template changes."""
    from perfscore.engine.system import PACKAGE_SYSTEMS, available_regions, available_years
    from perfscore.excel.fingerprint import stored_layout, template_for
    for region in available_regions(PACKAGE_SYSTEMS):
        for year in available_years(region, PACKAGE_SYSTEMS):
            system = load_system(year, region=region, root=PACKAGE_SYSTEMS)
            for kind in ("python", "excel", "values"):
                current = template_for(system, kind)
                stored = stored_layout(current.layout_id)
                assert stored is not None, f"{region} {year} {kind}：版式 {current.layout_id} 未记录，请运行 scripts/record_layouts.py"
                assert stored.to_json() == current.to_json()


def test_workbook_of_another_layout_is_told_to_regenerate_not_called_tampered(genuine, tmp_path):
    """A workbook whose recorded layout is unknown here (made by another perfscore version) is not verified and
    says so plainly; it is never called tampered."""
    other = _edit(genuine["excel"], tmp_path / "旧版.xlsx", {"基础数据": lambda t: re.sub(r"（版式 [0-9a-f]{12}）", "（版式 0123456789ab）", t)})
    rep = check_workbook(other)
    assert not rep.passed
    assert [i.where for i in rep.items if i.level == "错误"] == ["版式"], rep.items
    msg = rep.items[0].message
    assert "另一版本" in msg and "不表示它被改过" in msg and "重新生成" in msg and "改动" not in msg.split("无法逐格核对")[0]


def test_check_starts_without_the_workbook_writer():
    """check of one file must start fast (about 0.1 s as a whole process): reading and verifying a workbook imports
    neither openpyxl nor the scoring functions, which only the writers need."""
    import subprocess
    import sys
    code = ("import sys, perfscore.receiving.check; "
            "print(sorted(m for m in ('openpyxl', 'perfscore.udfs', 'perfscore.excel.workbook', 'docx', 'pandas') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", out.stdout
