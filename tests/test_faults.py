"""Issue 25, items 3 and 6: a region key is only ever a key, and the faults found by trying the receiving
commands as a user would (corrupt compressed members, control characters, folder-link loops, concurrent or
interrupted collects, outputs over inputs, misleading messages). Every file is made here from the committed
reference workbooks."""
import io
import os
import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

from perfscore.cli import main

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "workbook" / "参考案例_深圳市科技开发交流中心_2020.xlsm"
REFERENCE_NATIVE = ROOT / "workbook" / "参考案例_深圳市科技开发交流中心_2020_公式版.xlsx"
SHENZHEN_2020 = ROOT / "src" / "perfscore" / "systems" / "shenzhen" / "2020.toml"
SYSTEMS = Path(__file__).parent / "data" / "systems"


def _rewrite(src, dst, edit, compression=None):
    """Copy a workbook, passing each part's (name, bytes) through ``edit``; ``compression``: {name: method}."""
    compression = compression or {}
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
        for info in z.infolist():
            out.writestr(info.filename, edit(info.filename, z.read(info.filename)),
                         compress_type=compression.get(info.filename, zipfile.ZIP_DEFLATED))
    return Path(dst)


def _input_sheet_part(path):
    from perfscore.excel.cache import sheet_parts
    with zipfile.ZipFile(path) as z:
        return sheet_parts(z)["基础数据"]


def _with_region(src, dst, region: str):
    """The workbook with its 规则地区 cell (基础数据!C8, the defined name 规则地区) set to ``region``."""
    from xml.sax.saxutils import escape
    part = _input_sheet_part(src)

    def edit(name, data):
        if name != part:
            return data
        text, n = re.subn(r'(<c r="C8"[^>]*><is><t>)[^<]*(</t>)', lambda m: m.group(1) + escape(region) + m.group(2),
                          data.decode("utf-8"))
        assert n == 1
        return text.encode("utf-8")
    return _rewrite(src, dst, edit)


def _run(argv):
    """(exit code, stdout, stderr) of the CLI, in process."""
    import contextlib
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = main(argv, out=out)
    return rc, out.getvalue(), err.getvalue()


# ------------------------------------------------------------------------------------------ item 3: region keys
@pytest.fixture
def evil_systems(tmp_path, monkeypatch):
    """Rules files a sender could point at: an absolute folder, and a folder beside a PERFSCORE_SYSTEMS root
    reached by ../ — each holding a genuine 2020 file, so that a path built from 规则地区 would load it."""
    evil = tmp_path / "evil"
    evil.mkdir()
    shutil.copy(SHENZHEN_2020, evil / "2020.toml")
    root = tmp_path / "systems"
    (root / "shenzhen").mkdir(parents=True)
    shutil.copytree(SYSTEMS / "testprovince", root / "testprovince")
    (tmp_path / "x").mkdir()
    shutil.copy(SHENZHEN_2020, tmp_path / "x" / "2020.toml")
    monkeypatch.setenv("PERFSCORE_SYSTEMS", str(root))
    return tmp_path


def _regions_of(tmp_path):
    return [str(tmp_path / "evil"), "../x", "../../x", "shenzhen/../testprovince", "/tmp/evil", "", "  ",
            "shen zhen", "深圳", "shenzhen/", "C:\\evil", "nonexistent"]


@pytest.mark.parametrize("k", range(12))
def test_check_refuses_a_region_that_is_not_a_key(evil_systems, k):
    region = _regions_of(evil_systems)[k]
    wb = _with_region(REFERENCE, evil_systems / f"改地区{k}.xlsm", region)
    rc, out, err = _run(["check", str(wb)])
    assert rc in (1, 2) and "通过" not in out.replace("未通过", "")
    said = out + err
    if region.strip():
        assert "未知的规则地区" in said, said
        assert "shenzhen（2020）" in said and "testprovince（2018、2020）" in said  # the installed regions
    else:
        assert "规则地区" in said


def test_freeze_report_and_carry_forward_refuse_a_path_as_region(evil_systems):
    wb = _with_region(REFERENCE, evil_systems / "绝对路径.xlsm", str(evil_systems / "evil"))
    new = evil_systems / "x" / "2021.toml"
    new.write_text(SHENZHEN_2020.read_text("utf-8").replace("\nyear = 2020", "\nyear = 2021"), "utf-8")
    for argv in (["freeze", str(wb), "-o", str(evil_systems / "提交版.xlsx")],
                 ["report", str(wb), "-o", str(evil_systems / "报告.docx")],
                 ["carry-forward", str(wb), "--year", "2021", "--system", str(new), "-o", str(evil_systems / "新.xlsm")]):
        rc, out, err = _run(argv)
        assert rc == 2 and "未知的规则地区" in err, (argv, out, err)
    assert not any(evil_systems.glob("提交版*")) and not any(evil_systems.glob("报告*"))


def test_doctor_names_a_path_as_region_without_looking_it_up(evil_systems):
    from perfscore.deploy.doctor import read_workbook
    wb = _with_region(REFERENCE, evil_systems / "绝对路径.xlsm", "../x")
    info = read_workbook(wb)
    assert info.year_problem and "未知的规则地区" in info.year_problem


def test_collect_lists_a_path_as_region_in_the_anomalies(evil_systems):
    d = evil_systems / "收到的"
    d.mkdir()
    shutil.copy(REFERENCE, d / "正常.xlsm")
    for k, region in enumerate([str(evil_systems / "evil"), "../../x", "shenzhen/../testprovince"]):
        _with_region(REFERENCE, d / f"改地区{k}.xlsm", region)
    out = evil_systems / "汇总.xlsx"
    rc, said, err = _run(["collect", str(d), "-o", str(out), "--jobs", "1"])
    assert rc == 1, err
    wb = openpyxl.load_workbook(out)
    anomalies = {r[0]: r for r in wb["异常"].iter_rows(values_only=True) if r and isinstance(r[0], str)}
    for k in range(3):
        row = next(v for name, v in anomalies.items() if f"改地区{k}.xlsm" in name)
        assert any(isinstance(x, str) and "未知的规则地区" in x for x in row), row
    col = [c.value for c in wb["排名"][3]].index("文件")   # (by its header: 排名 has more columns since issue 22)
    ranked = [r[col] for r in wb["排名"].iter_rows(min_row=4, values_only=True) if r and r[col]]
    assert ranked == ["正常.xlsm"]


@pytest.mark.parametrize("region", ["../x", "/tmp/evil", "", "shenzhen/..", "a b"])
def test_region_option_is_a_key(evil_systems, region):
    for argv in (["inputs", "--region", region], ["template", "--year", "2020", "--region", region, "-o",
                                                  str(evil_systems / "t.xlsm")],
                 ["report", str(REFERENCE), "--region", region, "-o", str(evil_systems / "r.docx")]):
        rc, out, err = _run(argv)
        assert rc == 2 and "未知的规则地区" in err, (argv, err)
    assert not (evil_systems / "t.xlsm").exists()


def test_engine_refuses_non_keys_everywhere(evil_systems):
    from perfscore.engine.system import available_years, load_system, require_exact_year, year_files
    from perfscore.errors import UnknownRegion, UnknownYear
    assert issubclass(UnknownRegion, UnknownYear)
    for region in (str(evil_systems / "evil"), "../x", "shenzhen/../testprovince", "", ".", ".."):
        for call in (lambda: year_files(region, None), lambda: available_years(region),
                     lambda: load_system(2020, region=region), lambda: require_exact_year(2020, region=region)):
            with pytest.raises(UnknownRegion, match="未知的规则地区"):
                call()
    assert load_system(2020, region="testprovince").key == "testprovince"


# ------------------------------------------------------------------------------------------ item 6a: damaged members
def _damaged(src, dst, member, method=zipfile.ZIP_LZMA, at=0.5):
    """``src`` with ``member`` compressed by ``method`` and 64 bytes of its compressed data flipped at ``at``."""
    _rewrite(src, dst, lambda name, data: data, {member: method})
    data = bytearray(Path(dst).read_bytes())
    with zipfile.ZipFile(dst) as z:
        info = z.getinfo(member)
    start = info.header_offset + 30 + len(info.filename.encode("utf-8")) + len(info.extra)
    a = start + max(16, int(info.compress_size * at))
    for k in range(a, min(a + 64, start + info.compress_size - 2)):
        data[k] ^= 0x5A
    Path(dst).write_bytes(bytes(data))
    return Path(dst)


@pytest.fixture(scope="module")
def next_year_system(tmp_path_factory):
    p = tmp_path_factory.mktemp("systems") / "shenzhen" / "2021.toml"
    p.parent.mkdir()
    p.write_text(SHENZHEN_2020.read_text("utf-8").replace("\nyear = 2020", "\nyear = 2021"), "utf-8")
    return p


def _commands(wb, tmp_path, system_2021):
    return {"check": ["check", str(wb)],
            "freeze": ["freeze", str(wb), "-o", str(tmp_path / "提交版.xlsx")],
            "report": ["report", str(wb), "-o", str(tmp_path / "报告.docx")],
            "carry-forward": ["carry-forward", str(wb), "--year", "2021", "--system", str(system_2021),
                              "-o", str(tmp_path / "新.xlsm")],
            "doctor": ["doctor", str(wb)]}


@pytest.mark.parametrize("method", [zipfile.ZIP_LZMA, zipfile.ZIP_BZIP2], ids=["lzma", "bzip2"])
@pytest.mark.parametrize("member,at", [("xl/worksheets/sheet2.xml", 0.5), ("xl/workbook.xml", 0.1),
                                       ("xl/styles.xml", 0.9)])
def test_damaged_compressed_member_is_said_as_damaged(tmp_path, next_year_system, method, member, at):
    wb = _damaged(REFERENCE, tmp_path / "损坏.xlsm", member, method, at)
    for name, argv in _commands(wb, tmp_path, next_year_system).items():
        rc, out, err = _run(argv)
        assert rc == 2 and "文件已损坏" in err and "内部错误" not in err, (name, rc, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["损坏.xlsm"]  # nothing written


@pytest.mark.parametrize("method", [zipfile.ZIP_LZMA, zipfile.ZIP_BZIP2], ids=["lzma", "bzip2"])
def test_doctor_says_a_damaged_vba_project_is_damaged(tmp_path, method):
    wb = _damaged(REFERENCE, tmp_path / "宏损坏.xlsm", "xl/vbaProject.bin", method)
    rc, out, err = _run(["doctor", str(wb)])
    assert rc == 2 and "文件已损坏" in err and "内部错误" not in err, err


def test_collect_lists_a_damaged_member_in_the_anomalies(tmp_path):
    d = tmp_path / "收到的"
    d.mkdir()
    shutil.copy(REFERENCE, d / "正常.xlsm")
    _damaged(REFERENCE, d / "损坏.xlsm", "xl/worksheets/sheet2.xml")
    rc, out, err = _run(["collect", str(d), "-o", str(tmp_path / "汇总.xlsx"), "--jobs", "1"])
    assert rc == 1, err
    rows = [r for r in openpyxl.load_workbook(tmp_path / "汇总.xlsx")["异常"].iter_rows(values_only=True)
            if r and r[0] == "损坏.xlsm"]
    assert rows and rows[0][2] == "无法读取" and "文件已损坏" in rows[0][3], rows


# ------------------------------------------------------------------------------------------ item 6b: control characters
def _with_text(src, dst, cells: dict, spelling: str):
    """``src`` with ``spelling`` (a control character as the XML carries it: Excel's ``_x0001_`` escape or a
    raw character reference) put in front of the text of ``cells`` {(sheet title, coordinate)}, and numeric
    cells turned into text."""
    from perfscore.excel.cache import sheet_parts
    with zipfile.ZipFile(src) as z:
        parts = sheet_parts(z)
    by_part = {}
    for sheet, coord in cells:
        by_part.setdefault(parts[sheet], []).append(coord)

    def edit(name, data):
        if name not in by_part:
            return data
        text = data.decode("utf-8")
        for coord in by_part[name]:
            text, n = re.subn(rf'<c r="{coord}"([^>]*?)(?: t="[^"]*")?(?:/>|>(?:<is><t>([^<]*)</t></is>|<v>([^<]*)</v>)?</c>)',
                              lambda m: f'<c r="{coord}"{m.group(1)} t="inlineStr"><is><t>{spelling}'
                                        f'{m.group(2) or m.group(3) or ""}</t></is></c>', text, count=1)
            assert n == 1, coord
        return text.encode("utf-8")
    return _rewrite(src, dst, edit)


TEXT_CELLS = {("基础数据", "C3"), ("基础数据", "C5"), ("基础数据", "E23"), ("基础数据", "E42"),  # 部门名称, 填报人, evidence
              ("自评表", "B6"), ("自评表", "C6"), ("自评表", "B16"), ("自评表", "E16"), ("自评表", "D18"), ("自评表", "F18")}


CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


@pytest.mark.parametrize("spelling", ["_x0001_", "_x001B_", "&#1;", "&#27;"])
def test_control_characters_in_text_cells_do_not_crash_the_writers(tmp_path, next_year_system, spelling):
    """Each command either works, its outputs free of characters XML cannot hold, or refuses the file with a
    message (a reader may refuse a raw &#1; as malformed XML); none fails with an internal error."""
    wb = _with_text(REFERENCE, tmp_path / "控制字符.xlsm", TEXT_CELLS, spelling)
    done = {}
    for name, argv in _commands(wb, tmp_path, next_year_system).items():
        if name == "doctor":
            continue
        rc, out, err = _run(argv)
        assert rc in (0, 2) and "内部错误" not in err and (rc == 0 or "perfscore：" in err), (name, rc, err)
        done[name] = rc == 0
    if done["freeze"]:
        frozen = openpyxl.load_workbook(tmp_path / "提交版.xlsx")
        for sheet, coord in (("基础数据", "C3"), ("自评表", "B6")):
            v = frozen[sheet][coord].value
            assert not CONTROL.search(v) and v.endswith(("深圳市科技开发交流中心", "科技创新与交流")), v
    if done["carry-forward"]:
        carried = openpyxl.load_workbook(tmp_path / "新.xlsm")["基础数据"]
        assert carried["C3"].value.endswith("深圳市科技开发交流中心") and carried["C5"].value.endswith("钟林")
        assert not CONTROL.search(carried["C3"].value + carried["C5"].value)
    if done["report"]:
        from docx import Document
        doc = Document(str(tmp_path / "报告.docx"))
        text = "\n".join(p.text for p in doc.paragraphs)
        assert "深圳市科技开发交流中心" in text and not CONTROL.search(text)


def test_writers_drop_characters_xml_cannot_hold(tmp_path, system2020, reference_case):
    """Whatever a reader hands on: a Case whose texts carry \x01 and ESC is written as a workbook of both kinds,
    a 提交版 and a report without them (openpyxl and python-docx refuse them outright)."""
    import copy

    from docx import Document

    from perfscore.engine.case import CaseInput
    from perfscore.excel.workbook import build_workbook, write_workbook
    from perfscore.report.docx_report import load_source, write_report
    case = copy.deepcopy(reference_case)
    case.department, case.preparer = "\x01" + case.department, case.preparer + "\x1b"
    case.tasks[0].name = "\x1b" + case.tasks[0].name
    case.goals_expected = "\x01" + case.goals_expected
    case.goal_rows[0].target = "\x01" + case.goal_rows[0].target
    case.inputs["staff_quota"] = CaseInput("\x0120")   # unscorable, written as text
    for engine, name in (("python", "a.xlsm"), ("excel", "a.xlsx")):
        write_workbook(build_workbook(system2020, case, engine=engine), tmp_path / name)
        wb = openpyxl.load_workbook(tmp_path / name)
        texts = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
        assert "深圳市科技开发交流中心" in texts and not any(CONTROL.search(t) for t in texts)
    src = load_source(REFERENCE)
    src.case = case
    write_report(REFERENCE, tmp_path / "r.docx", src=src)
    assert not CONTROL.search("\n".join(p.text for p in Document(str(tmp_path / "r.docx")).paragraphs))


def test_control_character_in_an_input_value_is_unscorable_not_a_crash(tmp_path, next_year_system):
    """核定编制数 (carried into next year) typed as “\\x0120”: not a number for check, and no writer crashes."""
    wb = _with_text(REFERENCE, tmp_path / "控制字符.xlsm", {("基础数据", "D42")}, "_x0001_")
    rc, out, err = _run(["check", str(wb)])
    assert rc == 1 and "核定编制数" in out
    for name, argv in _commands(wb, tmp_path, next_year_system).items():
        if name in ("check", "doctor"):
            continue
        rc, out, err = _run(argv)
        assert rc in (0, 1) and "内部错误" not in err, (name, rc, err)
    carried = openpyxl.load_workbook(tmp_path / "新.xlsm")["基础数据"]["D42"].value
    assert carried.endswith("20") and not CONTROL.search(carried)


def test_control_characters_in_a_case_file_are_refused_by_key(tmp_path):
    from perfscore import REFERENCE_CASE
    text = Path(REFERENCE_CASE).read_text("utf-8")
    text, n = re.subn(r'(\ndepartment = ")', r"\1\\u0001\\u001b", text, count=1)
    assert n == 1
    case = tmp_path / "案例.toml"
    case.write_text(text, "utf-8")
    for argv in (["template", "--year", "2020", "--case", str(case), "-o", str(tmp_path / "t.xlsm")],
                 ["report", str(case), "-o", str(tmp_path / "r.docx")]):
        rc, out, err = _run(argv)
        assert rc == 2 and "case.department" in err and "控制字符" in err, (argv, rc, err)


# ------------------------------------------------------------------------------------------ item 6c: links that loop
needs_symlinks = pytest.mark.skipif(not hasattr(os, "symlink") or os.name == "nt", reason="POSIX symbolic links")


@needs_symlinks
def test_collect_over_a_pattern_with_folder_links_that_loop_finishes(tmp_path):
    """glob follows links to folders: with a link to the parent and one to the folder itself, '**' never ends."""
    import subprocess
    import sys
    d = tmp_path / "收到的"
    (d / "南山区").mkdir(parents=True)
    shutil.copy(REFERENCE, d / "南山区" / "甲.xlsm")
    os.symlink("..", d / "南山区" / "上级")
    os.symlink(".", d / "自己")
    os.symlink("回环.xlsm", d / "回环.xlsm")
    out = tmp_path / "汇总.xlsx"
    p = subprocess.run([sys.executable, "-m", "perfscore", "collect", str(d / "**" / "*.xlsm"), "-o", str(out),
                        "--jobs", "1"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 1, p.stderr   # the looping file link is listed in 异常
    assert "汇总 2 个文件" in p.stdout and "读取成功 1" in p.stdout
    rows = {r[0]: r for r in openpyxl.load_workbook(out)["异常"].iter_rows(values_only=True) if r and r[0]}
    assert "符号链接循环" in rows["回环.xlsm"][3] and "不存在" not in rows["回环.xlsm"][3]
    # a pattern that names the linked folders themselves: they are skipped, said so, and not followed
    p = subprocess.run([sys.executable, "-m", "perfscore", "collect", str(d / "*"), str(d / "*" / "*"), "-o",
                        str(tmp_path / "汇总2.xlsx"), "--jobs", "1"], capture_output=True, text=True, timeout=120)
    assert "文件夹链接（未跟随） 2 个" in p.stdout and "读取成功 1" in p.stdout, p.stdout + p.stderr


def test_pattern_expansion_matches_glob_where_there_are_no_links(tmp_path, monkeypatch):
    import glob
    from perfscore.receiving.collect.sources import expand_pattern
    for f in ("x.xlsm", "a/y.xlsx", "a/b/z.xlsm", "a/b/.h/q.xlsm", ".hid/w.xlsm", ".dot.xlsm", "c/[1].xlsm", "c/d/e/f.xlsm"):
        (tmp_path / "gt" / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "gt" / f).write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    for pattern in ("gt/*", "gt/**/*.xlsm", "gt/**/*", "gt/*/*.xls?", "gt/.*", "gt/**/.*", "gt/a/**/z.xlsm",
                    "gt/*/b/*", "g*/a/*", "gt/c/[[]1].xlsm", "**/*.xlsx", "gt/**/b", "gt/nope/*", "*/a",
                    str(tmp_path / "gt" / "**" / "*.xlsm"), "gt/**/d/**/*.xlsm"):
        assert sorted(map(str, expand_pattern(pattern))) == sorted(glob.glob(pattern, recursive=True)), pattern


@needs_symlinks
@pytest.mark.parametrize("command", ["check", "freeze", "report", "carry-forward", "doctor"])
def test_a_link_that_loops_is_not_called_missing(tmp_path, command, next_year_system):
    loop = tmp_path / "回环.xlsm"
    os.symlink(loop.name, loop)
    rc, out, err = _run(_commands(loop, tmp_path, next_year_system)[command])
    assert rc == 2 and "循环的符号链接" in err and "不存在" not in err, err
    dangling = tmp_path / "失效.xlsm"
    os.symlink("别处.xlsm", dangling)
    rc, out, err = _run(_commands(dangling, tmp_path, next_year_system)[command])
    assert rc == 2 and "失效的符号链接" in err and "别处.xlsm" in err, err


@needs_symlinks
def test_a_system_or_case_file_link_that_loops_is_named_as_such(tmp_path):
    loop = tmp_path / "回环.toml"
    os.symlink(loop.name, loop)
    for argv in (["score", str(loop)], ["validate", str(loop)], ["inputs", "--system", str(loop)]):
        rc, out, err = _run(argv)
        assert rc == 2 and "循环的符号链接" in err, (argv, err)


# ------------------------------------------------------------------------------------------ item 6e: outputs over inputs
def _folder_with(tmp_path, *names):
    d = tmp_path / "收到的"
    d.mkdir(exist_ok=True)
    for n in names:
        shutil.copy(REFERENCE, d / n)
    return d


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["", "force"])
def test_collect_output_inside_the_collected_folder_is_refused(tmp_path, force):
    d = _folder_with(tmp_path, "甲.xlsm")
    (d / "南山区").mkdir()
    before = sorted(p.name for p in d.rglob("*"))
    for argv in (["collect", str(d), "-o", str(d / "汇总.xlsx")],
                 ["collect", str(d), "-o", str(d / "南山区" / "汇总.xlsx")],
                 ["collect", str(d), "-o", str(tmp_path / "汇总.xlsx"), "--csv", str(d / "汇总.csv")],
                 ["collect", str(tmp_path / "*"), "-o", str(d / "汇总.xlsx")],           # the pattern matches the folder
                 ["collect", str(d / "*.xls?"), "-o", str(d / "汇总.xlsx")],     # it would match the output
                 ["collect", str(d / "*.xlsx"), str(d / "*.xlsm"), "-o", str(d / "汇总.xlsx")]):
        rc, out, err = _run(argv + force)
        assert rc == 2 and "输出文件" in err and ("之中" in err or "相符" in err), (argv, err)
    assert sorted(p.name for p in d.rglob("*")) == before and not (tmp_path / "汇总.xlsx").exists()


def test_collect_output_equal_to_an_input_is_refused_even_with_force(tmp_path):
    d = _folder_with(tmp_path, "甲.xlsm", "乙.xlsx")
    before = (d / "乙.xlsx").read_bytes()
    rc, out, err = _run(["collect", str(d / "甲.xlsm"), str(d / "乙.xlsx"), "-o", str(d / "乙.xlsx"), "--force"])
    assert rc == 2 and "是要汇总的文件之一" in err, err
    assert (d / "乙.xlsx").read_bytes() == before
    last = tmp_path / "上次.xlsx"
    assert _run(["collect", str(d), "-o", str(last)])[0] in (0, 1)   # (the same department twice: 异常)
    before = last.read_bytes()
    rc, out, err = _run(["collect", str(d), "-o", str(last), "--compare", str(last), "--force"])
    assert rc == 2 and "就是输入文件" in err and last.read_bytes() == before, err


def test_freeze_carry_forward_and_report_never_write_over_their_input(tmp_path, next_year_system):
    native = tmp_path / "公式版.xlsx"
    shutil.copy(REFERENCE_NATIVE, native)
    macro = tmp_path / "宏版.xlsm"
    shutil.copy(REFERENCE, macro)
    alias = tmp_path / "别名.xlsx"
    os.symlink(native.name, alias) if hasattr(os, "symlink") and os.name != "nt" else shutil.copy(native, alias)
    saved = {p: p.read_bytes() for p in (native, macro)}
    for argv in (["freeze", str(native), "-o", str(native), "--force"],
                 ["freeze", str(native), "-o", str(alias), "--force"] if alias.is_symlink() else None,
                 ["carry-forward", str(macro), "--year", "2021", "--system", str(next_year_system), "-o", str(macro),
                  "--force"]):
        if argv is None:
            continue
        rc, out, err = _run(argv)
        assert rc == 2 and "就是输入文件" in err and "加 --force 也不行" in err, (argv, err)
    assert {p: p.read_bytes() for p in (native, macro)} == saved
    from perfscore.files import check_output
    from perfscore.errors import PerfscoreError
    with pytest.raises(PerfscoreError, match="就是输入文件"):
        check_output(tmp_path / "x.docx", ".docx", True, "报告", inputs=[tmp_path / "." / "x.docx"])


# ------------------------------------------------------------------------------------------ item 6d: two collects at once
# a collect whose scoring, once started (it creates <go>.started), waits until the file <go> named first on its
# command line exists (at most a minute)
SLOW_COLLECT = ("import os, sys, time\n"
                "from perfscore.receiving.collect import workers\n"
                "score, go = workers.score_file, sys.argv[1]\n"
                "def wait(p):\n"
                "    open(go + '.started', 'w').close()\n"
                "    end = time.monotonic() + 60\n"
                "    while not os.path.exists(go) and time.monotonic() < end:\n"
                "        time.sleep(0.05)\n"
                "    return score(p)\n"
                "workers.score_file = wait\n"
                "from perfscore.cli import main\n"
                "sys.exit(main(sys.argv[2:]))\n")


def test_two_collects_to_one_output_at_the_same_time(tmp_path):
    import subprocess
    import sys
    import time
    d = _folder_with(tmp_path, "甲.xlsm")
    out = tmp_path / "汇总.xlsx"
    go = tmp_path / "go"
    first = subprocess.Popen([sys.executable, "-c", SLOW_COLLECT, str(go), "collect", str(d), "-o", str(out), "--jobs", "1",
                              "--csv", str(tmp_path / "汇总.csv")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        started = tmp_path / "go.started"
        deadline = time.monotonic() + 60
        while not started.exists() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists(), first.communicate()
        for extra in ([], ["--force"]):
            second = subprocess.run([sys.executable, "-m", "perfscore", "collect", str(d), "-o", str(out), "--jobs", "1"]
                                    + extra, capture_output=True, text=True, timeout=120)
            assert second.returncode == 2 and "另一个 perfscore 正在写入" in second.stderr, second
            assert "已写入" not in second.stdout
        go.write_text("")
        said, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0 and "已写入" in said, err
    assert len([r for r in openpyxl.load_workbook(out)["排名"].iter_rows(min_row=4, values_only=True) if r[0]]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["go", "go.started", "收到的", "汇总.csv", "汇总.xlsx"]
    # the lock is gone with the process: the next run writes
    assert _run(["collect", str(d), "-o", str(out), "--force"])[0] == 0


def test_a_held_lock_refuses_the_second_writer_in_process(tmp_path):
    from perfscore.files import OutputLock
    d = _folder_with(tmp_path, "甲.xlsm")
    out = tmp_path / "汇总.xlsx"
    lock = OutputLock(out).acquire()
    try:
        rc, said, err = _run(["collect", str(d), "-o", str(out), "--force"])
        assert rc == 2 and "另一个 perfscore 正在写入" in err and not out.exists()
    finally:
        lock.release()
    assert _run(["collect", str(d), "-o", str(out)])[0] == 0


# ------------------------------------------------------------------------------------------ item 6f: Ctrl-C
def test_ctrl_c_while_writing_leaves_no_output(tmp_path, monkeypatch):
    from perfscore.receiving import collect
    d = _folder_with(tmp_path, "甲.xlsm")
    real = collect.write_csv

    def interrupted(*a, **k):
        real(*a, **k)
        raise KeyboardInterrupt
    monkeypatch.setattr(collect, "write_csv", interrupted)
    rc, said, err = _run(["collect", str(d), "-o", str(tmp_path / "汇总.xlsx"), "--csv", str(tmp_path / "汇总.csv"),
                          "--jobs", "1"])
    assert rc == 130 and "已写入" not in said
    assert sorted(p.name for p in tmp_path.iterdir()) == ["收到的"]   # no summary, no CSV, no temporaries, no lock


def test_ctrl_c_during_the_renames_is_held_until_both_are_in_place(tmp_path, monkeypatch):
    import signal
    d = _folder_with(tmp_path, "甲.xlsm")
    real = os.replace
    calls = []

    def replace(src, dst):
        if not calls:
            os.kill(os.getpid(), signal.SIGINT)   # Ctrl-C between the two renames
        calls.append(dst)
        return real(src, dst)
    monkeypatch.setattr(os, "replace", replace)
    rc, said, err = _run(["collect", str(d), "-o", str(tmp_path / "汇总.xlsx"), "--csv", str(tmp_path / "汇总.csv"),
                          "--jobs", "1"])
    assert rc == 130
    assert [Path(c).name for c in calls] == ["汇总.csv", "汇总.xlsx"]      # the summary last
    assert sorted(p.name for p in tmp_path.iterdir()) == ["收到的", "汇总.csv", "汇总.xlsx"]


# ------------------------------------------------------------------------------------------ item 6g: misleading messages
def test_a_case_input_named_with_spaces_around_is_that_input(tmp_path):
    from perfscore import REFERENCE_CASE
    text = Path(REFERENCE_CASE).read_text("utf-8")
    spaced, n = re.subn(r"\nprocurement_actual = ", '\n"procurement_actual " = ', text, count=1)
    assert n == 1
    case = tmp_path / "空格.toml"
    case.write_text(spaced, "utf-8")
    rc, out, err = _run(["score", str(case)])
    assert "没有输入项" not in err and rc == 3 and "97.93" in out, err     # the reference's own findings: exit 3
    both = spaced.replace('\n"procurement_actual " = ', "\nprocurement_actual = 1\n\"procurement_actual \" = ", 1)
    case.write_text(both, "utf-8")
    rc, out, err = _run(["score", str(case)])
    assert rc == 2 and "重复" in err and "空格" in err, err
    chinese = text.replace("\nprocurement_actual = ", '\n"政府采购实际数" = ', 1)
    case.write_text(chinese, "utf-8")
    rc, out, err = _run(["score", str(case)])
    assert rc == 2 and "中文名称" in err and "procurement_actual" in err, err


def test_a_system_file_input_with_spaces_around_is_named_as_such(tmp_path):
    text = (SYSTEMS / "testprovince" / "2018.toml").read_text("utf-8")
    text, n = re.subn(r'inputs = \["procured", ', 'inputs = ["procured ", ', text, count=1)
    assert n == 1
    p = tmp_path / "2018.toml"
    p.write_text(text, "utf-8")
    rc, out, err = _run(["validate", str(p)])
    assert rc == 2 and "前后有空格" in err and "未声明" not in err, err


def test_rules_diff_takes_a_year_with_spaces_around(capsys):
    rc, out, err = _run(["rules", "diff", " 2020 ", "2020"])
    assert rc == 0 and "没有变化" in out, err


@pytest.fixture
def read_only_folder(tmp_path):
    """A read-only file system (a tmpfs mounted ro) when this process may mount one; else skipped."""
    import subprocess
    d = tmp_path / "只读"
    d.mkdir()
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a read-only file system needs root")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(d)], capture_output=True).returncode:
        pytest.skip("mount refused")
    try:
        yield d
    finally:
        subprocess.run(["umount", str(d)], capture_output=True)


def test_a_read_only_disk_is_said_as_such(read_only_folder, tmp_path):
    d = _folder_with(tmp_path, "甲.xlsm")
    for argv in (["freeze", str(REFERENCE), "-o", str(read_only_folder / "提交版.xlsx")],
                 ["collect", str(d), "-o", str(read_only_folder / "汇总.xlsx")],
                 ["template", "--year", "2020", "-o", str(read_only_folder / "t.xlsm")],
                 ["demo", "-o", str(read_only_folder)], ["demo", "-o", str(read_only_folder / "新目录")]):
        rc, out, err = _run(argv)
        assert rc == 2 and "只读" in err and "权限" not in err and out == "", (argv, err)


def test_read_only_and_permission_are_told_apart(tmp_path, monkeypatch):
    """The same as above without mounting: os.access says “not writable” in both cases, statvfs tells them apart."""
    from types import SimpleNamespace

    from perfscore.errors import PerfscoreError
    from perfscore.files import check_output
    monkeypatch.setattr(os, "access", lambda p, mode, **k: False)
    monkeypatch.setattr(os, "statvfs", lambda p: SimpleNamespace(f_flag=os.ST_RDONLY), raising=False)
    with pytest.raises(PerfscoreError, match="所在的磁盘是只读的") as ei:
        check_output(tmp_path / "a.xlsx", ".xlsx", False)
    assert "权限" not in str(ei.value)
    monkeypatch.setattr(os, "statvfs", lambda p: SimpleNamespace(f_flag=0), raising=False)
    with pytest.raises(PerfscoreError, match="没有写入目录 .* 的权限"):
        check_output(tmp_path / "a.xlsx", ".xlsx", False)


@pytest.mark.parametrize("output", ["文件", "演示.xlsm", "文件/下级"])
def test_demo_refuses_a_wrong_output_before_printing_anything(tmp_path, output):
    (tmp_path / "文件").write_text("不是目录", "utf-8")
    rc, out, err = _run(["demo", "-o", str(tmp_path / output)])
    assert rc == 2 and out == "" and "内部错误" not in err, (out, err)
    assert ("不是目录" in err or "像是文件名" in err or "不是文件夹" in err), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["文件"]
