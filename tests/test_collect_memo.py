"""What a reviewer writes next (issue 22): the 问题清单 and 扣分明细 sheets against the engine, the roster check
(not submitted, submitted twice, names on no roster line with the closest one), the 汇总 memo's numbers against
the summary workbook's rows, the printed font size of 汇总, 各指标得分, 问题清单 and 扣分明细 measured in the PDF,
--compare per indicator with the drop threshold, and the same budget year said once.

One batch of 44 distinct generated workbooks (42 that pass, one with a hand-edited score, one with a blank input),
an exact copy of one of them, a different submission under another unit's name, a truncated file; a roster with
主管部门 and codes that lists three units nobody sent and misses two names that were sent (slightly misspelt)."""
import io
import re
import shutil
import subprocess
import sys
import zipfile
import zlib
from collections import Counter, defaultdict
from pathlib import Path

import openpyxl
import pytest

from test_collect import _sheet  # the summary sheets' table, its title and header checked
from docx import Document

from perfscore import REFERENCE_CASE, load_case, load_system, score_case
from perfscore.cli import build_parser, main
from perfscore.engine.numbers import fmt_num

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workbook_variants import VariantFactory, varied  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RENDER = all(shutil.which(x) for x in ("soffice", "pdftotext", "pdfinfo", "pdftoppm"))
N_GOOD = 42
MISSPELT = {5: "测试单位00006号", 11: "测试单位 00012（本级）"}    # variant index -> the name written in the workbook
NEVER_SENT = ["市档案馆", "市地方志办公室", "测试单位09999"]


@pytest.fixture(scope="module")
def factory(tmp_path_factory):
    return VariantFactory(load_system(2020), load_case(REFERENCE_CASE), tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="module")
def batch(tmp_path_factory, factory):
    system = factory.system
    root = tmp_path_factory.mktemp("issue22")
    d = root / "收到的"
    (d / "福田区").mkdir(parents=True)
    variants = varied(system, factory.base_case, N_GOOD + 8, seed=2201)
    engine, raws, names = {}, {}, []
    for k, (raw, header) in enumerate(variants[:N_GOOD]):
        name = MISSPELT.get(k, header["部门名称"])
        path = (d / "福田区" if k % 4 == 0 else d) / f"单位{k:02d}.{'xlsx' if k % 2 else 'xlsm'}"
        engine[name] = factory.write(path, raw, {**header, "部门名称": name})
        raws[name] = raw
        names.append(name)
    # failing: a hand-edited score, and a blank input
    raw, header = variants[N_GOOD]
    res = score_case(system, raw)
    cell = next(k for k, f in factory.formulas.items() if k[0] == "评分表" and f.startswith("=PERF_PROCUREMENT("))
    factory.write(d / "改过分.xlsm", raw, {**header, "部门名称": "改过分的单位"},
                  overrides={cell: next(r.weight for r in res.indicators if r.id == "procurement") + 0.0})
    raw2 = dict(variants[N_GOOD + 1][0])
    raw2.pop("satisfaction_rate")
    factory.write(d / "缺数据.xlsm", raw2, {**variants[N_GOOD + 1][1], "部门名称": "缺数据的单位"})
    # submitted twice: an exact copy, and a different workbook under the same name
    (d / "福田区" / "单位03_再次提交.xlsx").write_bytes((d / "单位03.xlsx").read_bytes())
    factory.write(d / "另一份.xlsm", variants[N_GOOD + 2][0], {**variants[N_GOOD + 2][1], "部门名称": names[7]})
    # unreadable
    good = (d / "单位01.xlsx").read_bytes()
    (d / "截断.xlsx").write_bytes(good[: len(good) // 3])
    # the roster: every unit that passed or failed (by its correct name), three that never sent anything
    roster = root / "名单.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2020年度部门整体支出绩效自评应报单位名单"])
    ws.append(["序号", "单位名称", "主管部门", "统一社会信用代码"])
    listed = [variants[k][1]["部门名称"] for k in range(N_GOOD)] + ["改过分的单位", "缺数据的单位"] + NEVER_SENT
    for n, name in enumerate(listed, 1):
        ws.append([n, name, f"第{n % 3 + 1}主管局", f"12440300{n:010d}"])
    wb.save(roster)
    # last year's summary: the first 20 units, budget year 2019, other inputs
    last = root / "2019年收到的"
    last.mkdir()
    for k, (raw, header) in enumerate(varied(system, factory.base_case, 20, seed=2202)):
        factory.write(last / f"上年{k:02d}.xlsm", raw, {**header, "部门名称": names[k], "预算年度": 2019})
    assert main(["collect", str(last), "-o", str(root / "上次汇总.xlsx")], out=io.StringIO()) == 0
    out = root / "输出"
    out.mkdir()
    buf = io.StringIO()
    args = ["collect", str(d), "-o", str(out / "汇总.xlsx"), "--roster", str(roster), "--compare",
            str(root / "上次汇总.xlsx"), "--drop-threshold", "0.3", "--memo", str(out / "汇总说明.docx")]
    code = main(args + (["--pdf"] if RENDER else []), out=buf)
    path = out / "汇总.xlsx"
    sheets = {n: _sheet(path, n) for n in openpyxl.load_workbook(path, read_only=True).sheetnames if n != "等级分布图"}
    return {"root": root, "dir": d, "out": out, "code": code, "stdout": buf.getvalue(), "engine": engine,
            "raws": raws, "names": names, "sheets": sheets, "path": path, "system": system, "roster": listed,
            "variants": variants}


def test_batch_has_forty_distinct_workbooks_and_every_kind_of_trouble(batch):
    sheets = batch["sheets"]
    assert batch["code"] == 1, batch["stdout"]
    summary = sheets["汇总"]
    assert len(summary) == N_GOOD + 2 + 2 + 1
    assert len({r["部门名称"] for r in summary if r["检查结果"].startswith("通过")}) >= 40
    status = Counter(r["检查结果"] for r in summary)
    assert status["未通过"] == 2 and status["无法读取"] == 1
    assert {r["类别"] for r in sheets["异常"]} == {"未通过", "无法读取", "部门重复"}


# ------------------------------------------------------------------------------------------ 问题清单 and 扣分明细
def test_detail_rows_are_the_engines_deductions_and_reasons(batch):
    """扣分明细: exactly the (unit, indicator) pairs where the engine deducts, with its score, deduction and reason.
    Units whose duplicates differ are counted once each; the exact copy is not counted again."""
    system = batch["system"]
    detail = batch["sheets"]["扣分明细"]
    got = {(r["部门名称"], r["指标"]): r for r in detail}
    counted = {r["部门名称"] for r in batch["sheets"]["汇总"] if r["综合评分"] is not None}
    expected = {}
    for name, res in batch["engine"].items():
        if name == batch["names"][7]:
            continue  # submitted twice with different data: checked below
        for ir in res.indicators:
            if ir.deducted > 0:
                expected[(name, ir.indicator.name)] = ir
    mine = {k: v for k, v in got.items() if k[0] != batch["names"][7]}
    assert set(mine) == set(expected)
    for key, ir in expected.items():
        r = got[key]
        assert r["扣分"] == pytest.approx(ir.deducted) and r["得分"] == pytest.approx(ir.score)
        assert r["分值"] == ir.weight and r["扣分理由"] == ir.reason and r["一级指标"] == ir.indicator.level1.name
        assert r["主管部门"] is None or r["主管部门"].startswith("第")
    assert counted >= {k[0] for k in got}
    # the two submissions under one name are both counted (neither ranked): twice the rows
    twice = [r for r in detail if r["部门名称"] == batch["names"][7]]
    other = score_case(system, batch["variants"][N_GOOD + 2][0])
    n7 = batch["engine"][batch["names"][7]]
    assert len(twice) == sum(1 for ir in n7.indicators if ir.deducted > 0) + sum(
        1 for ir in other.indicators if ir.deducted > 0)
    assert all(r["排名"] == "未排名" for r in twice)


def _counted_results(batch):
    """The engine's results of the files counted in the statistics: every unit that passed (the exact copy once)."""
    out = [res for name, res in batch["engine"].items()]
    out.append(score_case(batch["system"], batch["variants"][N_GOOD + 2][0]))
    return out


def test_problem_list_figures_against_the_engine(batch):
    system = batch["system"]
    issues = batch["sheets"]["问题清单"]
    results = _counted_results(batch)
    n = len(results)
    assert n == N_GOOD + 1
    by_ind = defaultdict(list)
    for r in issues:
        by_ind[r["指标"]].append(r)
        assert r["平均扣分"] == pytest.approx(r["合计扣分"] / r["单位数"])
        assert r["占计分单位"] == pytest.approx(r["单位数"] / n)
        assert r["最多扣分"] <= r["分值"] + 1e-9
    for k, ind in enumerate(system.indicators):
        lost = [res.indicators[k].deducted for res in results if res.indicators[k].deducted > 0]
        rows = by_ind.get(ind.name, [])
        # the problems of one indicator add up to its deductions; no problem has more units than lost points there
        assert sum(r["合计扣分"] for r in rows) == pytest.approx(sum(lost)), ind.name
        assert all(r["单位数"] <= len(lost) for r in rows)
        assert bool(rows) == bool(lost)
    # sorted with the most common problems first
    counts = [r["单位数"] for r in issues]
    assert counts == sorted(counts, reverse=True) and [r["序号"] for r in issues] == list(range(1, len(issues) + 1))
    # independent oracles from the inputs themselves
    raws = list(batch["raws"].values()) + [batch["variants"][N_GOOD + 2][0]]
    proc = next(r for r in issues if r["问题"] == "政府采购执行率低于 100%")
    below = [raw for raw in raws if raw["procurement_actual"] < raw["procurement_budget"]]
    assert proc["单位数"] == len(below) and proc["指标"] == "政府采购执行情况"
    for ind in system.indicators:
        if ind.rule.family != "checklist":
            continue
        for iid, pts, label in ind.rule.items:
            rows = [r for r in issues if r["指标"] == ind.name and r["问题"].startswith(f"“{label}”")]
            unmet = sum(1 for res in results if res.inputs[iid] < pts - 1e-9)
            assert sum(r["单位数"] for r in rows) == unmet, (ind.name, label)
    for ind in system.indicators:
        if ind.rule.family != "bands":
            continue
        branches = Counter(res.indicators[system.indicators.index(ind)].branch for res in results
                           if res.indicators[system.indicators.index(ind)].deducted > 0)
        for branch, count in branches.items():
            desc = next(b[2] for b in ind.rule.bands if b[3] == branch)
            row = next(r for r in issues if r["指标"] == ind.name and desc in r["问题"])
            assert row["单位数"] == count, (ind.name, branch)
    # the units named in a row are those with the problem, with their own deduction
    row = issues[-1]
    for item in re.findall(r"([^、（]+)（扣 ([0-9.]+) 分）", row["涉及单位"]):
        d = next(x for x in batch["sheets"]["扣分明细"] if x["部门名称"] == item[0] and x["指标"] == row["指标"])
        assert row["问题"] in d["问题"]


def test_problem_cells_are_capped_with_a_pointer_to_the_anomalies(batch):
    from perfscore.receiving.collect.tables import cap_problems
    long = "\n".join(f"[错误] 评分表!G{k}：分数被改为常数 {k}，与引擎不符" for k in range(1, 11))
    capped = cap_problems(long, True)
    assert capped.count("\n") == 2 and len(capped) <= 120 and capped.endswith("……共 10 条，见“异常”表")
    assert capped.startswith("[错误] 评分表!G1：") and "G2：" in capped
    assert cap_problems(long, False).endswith("用 perfscore check 查看全部") and cap_problems("短", True) == "短"
    for r in batch["sheets"]["汇总"]:
        assert r["问题"] is None or (len(r["问题"]) <= 120 and r["问题"].count("\n") < 3), r["问题"]
    ws = openpyxl.load_workbook(batch["path"])["汇总"]
    col = [c.value for c in ws[3]].index("问题") + 1
    assert ws.cell(4, col).alignment.wrap_text


# ------------------------------------------------------------------------------------------ roster
def test_roster_not_submitted_twice_and_unlisted(batch):
    rows = batch["sheets"]["名单核对"]
    state = {r["单位名称"]: r for r in rows}
    assert [r["单位名称"] for r in rows if r["提交情况"] == "未提交"] == [
        batch["variants"][k][1]["部门名称"] for k in sorted(MISSPELT)] + NEVER_SENT
    assert {r["单位名称"] for r in rows if r["提交情况"] == "重复提交"} == {batch["names"][3], batch["names"][7]}
    assert state[batch["names"][3]]["文件数"] == 2
    unlisted = {r["单位名称"]: r for r in rows if r["提交情况"] == "名单外"}
    assert set(unlisted) == set(MISSPELT.values())
    for k, name in MISSPELT.items():
        right = batch["variants"][k][1]["部门名称"]
        assert unlisted[name]["名单中最接近的名称"] == right and f"“{right}”" in unlisted[name]["说明"]
        assert unlisted[name]["主管部门"] is None
    assert state["改过分的单位"]["提交情况"] == "已提交" and state["改过分的单位"]["检查结果"] == "未通过"
    assert all(r["单位代码"].startswith("12440300") for r in rows if r["名单序号"])
    assert [r["名单序号"] for r in rows if r["名单序号"]] == list(range(1, len(batch["roster"]) + 1))
    out = batch["stdout"]
    assert f"名单 名单.xlsx：{len(batch['roster'])} 个单位，已提交 {len(batch['roster']) - 5}（其中重复提交 2），未提交 5；名单外 2 个文件" in out
    # 主管部门: a column of 汇总 and 排名 (with the filter) from the roster
    summary = {r["部门名称"]: r for r in batch["sheets"]["汇总"]}
    listed = {name: f"第{n % 3 + 1}主管局" for n, name in enumerate(batch["roster"], 1)}
    for name, r in summary.items():
        assert r["主管部门"] == listed.get(name), name
    ws = openpyxl.load_workbook(batch["path"])["汇总"]
    assert ws.auto_filter.ref and [c.value for c in ws[3]].index("主管部门") == 2


def test_roster_csv_in_gb18030_and_roster_errors(tmp_path, factory, capsys):
    d = tmp_path / "in"
    d.mkdir()
    variants = varied(factory.system, factory.base_case, 2, seed=2203)
    for k, (raw, header) in enumerate(variants):
        factory.write(d / f"{k}.xlsm", raw, header)
    csv_path = tmp_path / "名单.csv"
    csv_path.write_bytes(("部门名称,主管单位\n" + "".join(f"{h['部门名称']},市财政局\n" for _, h in variants)
                          + "市图书馆,市文化局\n").encode("gb18030"))
    buf = io.StringIO()
    assert main(["collect", str(d), "-o", str(tmp_path / "a.xlsx"), "--roster", str(csv_path)], out=buf) == 0
    rows = _sheet(tmp_path / "a.xlsx", "名单核对")
    assert [(r["单位名称"], r["提交情况"], r["主管部门"]) for r in rows][-1] == ("市图书馆", "未提交", "市文化局")
    assert "单位代码" not in rows[0]   # no code column in this roster
    bad = {"重名.csv": ("单位名称\n甲\n乙\n 甲\n", ["同名的单位", "第 2 行与第 4 行", "删去重复的行"]),
           "无表头.csv": ("甲,1\n乙,2\n", ["找不到单位名称列", "单位名称"]),
           "空.csv": ("单位名称\n\n", ["没有任何单位名称"]),
           "名单.txt": ("单位名称\n甲\n", ["不是 .xlsx 或 .csv"])}
    for name, (text, words) in bad.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        out = tmp_path / f"不应写出{len(name)}.xlsx"
        assert main(["collect", str(d), "-o", str(out), "--roster", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert all(w in err for w in words) and "Traceback" not in err, (name, err)
        assert not out.exists()


# ------------------------------------------------------------------------------------------ --compare
def test_compare_per_indicator_changes_and_drop_threshold(batch):
    changes = {r["部门名称"]: r for r in batch["sheets"]["指标增减"]}
    before = {r["部门名称"]: r for r in _sheet(batch["root"] / "上次汇总.xlsx", "汇总")}
    now = {r["部门名称"]: r for r in batch["sheets"]["汇总"]}
    system = batch["system"]
    both = [n for n in before if n in now and now[n]["综合评分"] is not None and n != batch["names"][7]]
    assert set(changes) - {batch["names"][7]} == set(both) and len(both) >= 15
    for name in both:
        r = changes[name]
        assert r["增减"] == pytest.approx(round(now[name]["综合评分"] - before[name]["综合评分"], 2))
        fell = []
        for ind in system.indicators:
            c = round(now[name][ind.name] - before[name][ind.name], 2)
            assert r[ind.name] == pytest.approx(c), (name, ind.name)
            if c <= -0.3 + 1e-9:
                fell.append(ind.name)
        assert r["下降的指标数"] == len(fell)
        assert set(re.findall(r"(?:^|）、)([^（]+)（[-+][0-9]+\.[0-9]{2}", r["下降的指标"] or "")) == set(fell)
    xml = _sheet_xml(batch["path"], "指标增减")
    assert xml.count('operator="lessThanOrEqual"') >= 2 and "<formula>-0.3</formula>" in xml
    assert "<formula>-0.3</formula>" in _sheet_xml(batch["path"], "与上次对比")


def test_same_budget_year_said_once(tmp_path, factory):
    d, last = tmp_path / "本次", tmp_path / "上次"
    d.mkdir()
    last.mkdir()
    for k, (raw, header) in enumerate(varied(factory.system, factory.base_case, 4, seed=2204)):
        factory.write(d / f"{k}.xlsm", raw, header)
        factory.write(last / f"{k}.xlsm", raw, header)
    assert main(["collect", str(last), "-o", str(tmp_path / "上次.xlsx")], out=io.StringIO()) == 0
    buf = io.StringIO()
    assert main(["collect", str(d), "-o", str(tmp_path / "本次.xlsx"), "--compare", str(tmp_path / "上次.xlsx")],
                out=buf) == 0
    assert buf.getvalue().count("预算年度相同") == 1
    ws = openpyxl.load_workbook(tmp_path / "本次.xlsx")["与上次对比"]
    cells = [str(c.value) for row in ws.iter_rows() for c in row if c.value and "预算年度相同" in str(c.value)]
    assert len(cells) == 2 and "注意" in ws["A1"].value   # the title, and one note under the table; no row says it
    rows = _sheet(tmp_path / "本次.xlsx", "与上次对比")
    assert all(r["说明"] is None or "预算年度" not in r["说明"] for r in rows)
    # nothing to report: 异常 says so
    wb = openpyxl.load_workbook(tmp_path / "本次.xlsx")
    assert wb["异常"]["A4"].value == "无"


# ------------------------------------------------------------------------------------------ formats
def _sheet_xml(path, name):
    from perfscore.excel.cache import sheet_parts
    with zipfile.ZipFile(path) as z:
        return z.read(sheet_parts(z)[name]).decode()


def test_conditional_formats_for_low_scores_and_grades(batch):
    for name in ("汇总", "排名"):
        xml = _sheet_xml(batch["path"], name)
        head = [c.value for c in openpyxl.load_workbook(batch["path"])[name][3]]
        grade = chr(ord("A") + head.index("评分等级"))
        assert f'<formula>${grade}4="差"</formula>' in xml and f'<formula>${grade}4="中"</formula>' in xml
        total = chr(ord("A") + head.index("综合评分"))
        assert re.search(rf'<conditionalFormatting sqref="{total}4:{grade}\d+">', xml)
        assert 'operator="lessThan"' in xml   # 一级 subtotals below 60 % of their weight
    xml = _sheet_xml(batch["path"], "各指标得分")
    assert xml.count('operator="lessThan"') == len(batch["system"].indicators) + len(batch["system"].level1)


def test_chart_titles_have_no_stray_spaces(batch):
    with zipfile.ZipFile(batch["path"]) as z:
        charts = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart")]
    titles = [t for c in charts for t in re.findall(r"<a:t>([^<]*)</a:t>", c)]
    assert titles and not any(re.search(r"[\u4e00-\u9fff：；（） ]\s+[0-9]|[0-9]\s+[\u4e00-\u9fff]", t) for t in titles)
    assert any("计入43个文件" in t for t in titles)
    # every chart font is named for Chinese text as well (LibreOffice would otherwise mix fonts)
    assert all(c.count("<a:ea ") == c.count("<a:latin ") for c in charts)


def test_every_collect_option_has_help_and_is_in_the_readme():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices["collect"]
    readme = (ROOT / "README.md").read_text("utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| `perfscore collect`"))
    for action in sub._actions:
        if "--help" in action.option_strings or not action.option_strings:
            continue
        assert action.help and re.search(r"[\u4e00-\u9fff]", action.help), action.option_strings
        assert any(re.search(rf"{re.escape(o)}(?![-\w])", row) for o in action.option_strings), action.option_strings


# ------------------------------------------------------------------------------------------ the memo
def _memo(batch):
    doc = Document(str(batch["out"] / "汇总说明.docx"))
    return doc, "\n".join(p.text for p in doc.paragraphs)


def test_memo_numbers_are_the_summary_rows(batch):
    doc, text = _memo(batch)
    s = batch["sheets"]
    summary = s["汇总"]
    passed = sum(1 for r in summary if r["检查结果"].startswith("通过"))
    warned = sum(1 for r in summary if r["检查结果"] == "通过（有警告）")
    failed = sum(1 for r in summary if r["检查结果"] == "未通过")
    assert (f"本次共收到{len(summary)}个文件，其中通过检查{passed}个（含有警告的{warned}个），未通过检查{failed}个，"
            f"无法读取{len(summary) - passed - failed}个。") in text
    roster = s["名单核对"]
    listed = [r for r in roster if r["名单序号"]]
    missing = [r for r in roster if r["提交情况"] == "未提交"]
    assert (f"应提交{len(listed)}个单位，已提交{len(listed) - len(missing)}个，未提交{len(missing)}个，重复提交"
            f"{sum(1 for r in roster if r['提交情况'] == '重复提交')}个；另有"
            f"{sum(1 for r in roster if r['提交情况'] == '名单外')}个文件的部门名称不在名单中。") in text
    for r in missing:
        assert f"{r['单位名称']}（{r['主管部门']}）" in text
    ranking = s["排名"]
    totals = [r["综合评分"] for r in ranking]
    assert (f"参加排名的{len(ranking)}个单位平均综合评分{fmt_num(sum(totals) / len(totals))}分；最高"
            f"{fmt_num(max(totals))}分（{ranking[0]['部门名称']}），最低{fmt_num(min(totals))}分"
            f"（{ranking[-1]['部门名称']}）。") in text
    grades = s["等级分布"]
    graded = sum(r["文件数"] for r in grades)
    assert "；".join(f"“{r['等级']}”{r['文件数']}个，占{fmt_num(r['文件数'] / graded * 100, 1)}%" for r in grades) in text
    # the chart in the document draws the same counts
    with zipfile.ZipFile(batch["out"] / "汇总说明.docx") as z:
        chart = z.read("word/charts/chart1.xml").decode()
        assert "word/embeddings/Microsoft_Excel_Worksheet1.xlsx" in z.namelist()
    cached = re.search(r"<c:val>.*?</c:val>", chart, re.S).group(0)
    assert [int(v) for v in re.findall(r"<c:v>([0-9]+)</c:v>", cached)] == [r["文件数"] for r in grades]
    assert re.findall(r"<c:cat>.*?</c:cat>", chart, re.S)[0].count("<c:pt ") == len(grades)
    # the weakest indicators, the most common problems, the lowest units: as the sheets have them
    rates = sorted((r for r in s["指标得分率"] if r["平均得分率"] < 1), key=lambda r: (r["平均得分率"], r["序号"]))[:5]
    for n, r in enumerate(rates, 1):
        assert (f"{n}. {r['指标']}（{r['一级指标']}，分值{fmt_num(r['分值'])}分）：平均得分{fmt_num(r['平均得分'])}分，"
                f"平均得分率{fmt_num(r['平均得分率'] * 100)}%，{r['失分文件数']}个单位失分") in text
    for n, r in enumerate(s["问题清单"][:5], 1):
        problem = re.sub(r"(?<=[\u4e00-\u9fff]) (?=[0-9])|(?<=[0-9%]) (?=[\u4e00-\u9fff])", "", r["问题"])
        assert f"{n}. {r['指标']}——{problem}：{r['单位数']}个单位，平均扣{fmt_num(r['平均扣分'])}分。" in text
    for n, r in enumerate(reversed(ranking[-5:]), 1):
        assert f"{n}. {r['部门名称']}：综合评分{fmt_num(r['综合评分'])}分，等级“{r['评分等级']}”，排第{r['排名']}名" in text
    # every file that failed or could not be read, with the decisive reason (the first line of its 异常 row)
    bad = [r for r in s["异常"] if r["类别"] != "部门重复"]
    assert len(bad) == 3
    for r in bad:
        first = r["原因"].split("\n")[0].replace("[错误] ", "")
        said = next(p.text for p in doc.paragraphs if p.text.startswith(tuple(f"{k}. {r['文件']}" for k in range(1, 9))))
        assert said.rstrip("。").endswith(re.sub(r"(?<=[\u4e00-\u9fff（），。；：、“”]) +(?=[0-9])|(?<=[0-9%]) +(?=[\u4e00-\u9fff（），。；：、“”])",
                                    "", first).rstrip("。")), (said, first)
    # changes since last time, from 与上次对比
    cmp = s["与上次对比"]
    both = [r for r in cmp if r["对比情况"] == "两年都有"]
    diff = [r for r in both if r["增减"] is not None]
    assert (f"两次都有的单位{len(both)}个，其中可比（指标体系相同）的{len(diff)}个：综合评分上升"
            f"{sum(1 for r in diff if r['增减'] > 0)}个，下降{sum(1 for r in diff if r['增减'] < 0)}个，"
            f"持平{sum(1 for r in diff if r['增减'] == 0)}个") in text
    assert "预算年度相同" not in text   # 2019 against 2020


def test_memo_layout_and_fill_ins(batch):
    doc, text = _memo(batch)
    sec = doc.sections[0]
    got = [round(x.mm, 1) for x in (sec.page_width, sec.page_height, sec.top_margin, sec.left_margin)]
    assert got == [210, 297, 37, 28]
    assert doc.paragraphs[0].style.name == "公文标题" and doc.paragraphs[0].text.endswith("汇总情况说明")
    heads = [p.text for p in doc.paragraphs if p.style.name == "一级标题"]
    assert heads == ["一、基本情况", "二、评分等级分布", "三、失分较多的指标和单位", "四、与上次汇总相比",
                     "五、未提交、未通过检查和无法读取的文件", "六、下一步工作"]
    fills = [p for p in doc.paragraphs if "【待填写" in p.text]
    assert len(fills) >= 6 and all(r.font.highlight_color is not None for p in fills for r in p.runs)
    assert not re.search(r"[\u4e00-\u9fff] [0-9]|[0-9] [\u4e00-\u9fff]", text)   # figures set without spaces


@pytest.mark.skipif(not RENDER, reason="needs LibreOffice and poppler: apt-get install libreoffice-writer poppler-utils")
def test_memo_pdf_renders(batch, tmp_path):
    from perfscore.render import pdf_fonts, pdf_pages, to_png
    pdf = batch["out"] / "汇总说明.pdf"
    pages = pdf_pages(pdf)
    assert 3 <= len(pages) <= 12 and all(p["width"] < p["height"] for p in pages)
    from perfscore.render import REPORT_SUBSTITUTES   # the official fonts' declared free stand-ins
    allowed = ("NotoSerifCJK", "NotoSansCJK", "UKai") + tuple(v[1] for v in REPORT_SUBSTITUTES.values())
    assert all(f.split("+")[-1].startswith(allowed) for f in pdf_fonts(pdf)), pdf_fonts(pdf)
    text = "".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout.split())
    assert "各等级单位数" in text and "—1—" in text   # the chart is drawn, page numbers as 公文 write them
    sizes = pdf_text_sizes(pdf)
    assert min(min(p) for p in sizes if p) >= 10.5 - 0.01   # nothing smaller than 五号 (the chart's labels: 12 pt)
    pngs = to_png(pdf, tmp_path, dpi=40)
    assert len(pngs) == len(pages)


# ------------------------------------------------------------------------------------------ printed size
def pdf_text_sizes(pdf) -> list[list[float]]:
    """The size (points, as printed) of every text run on each page of a PDF written by LibreOffice: its content
    streams are parsed (text font size × the scale of the text and graphics matrices), no PDF library needed.
    LibreOffice writes plain objects and Flate streams; object streams or form XObjects would be a surprise."""
    data = Path(pdf).read_bytes()
    assert b"/ObjStm" not in data and b"/Subtype/Form" not in data
    objs = {int(m.group(1)): m.group(2) for m in re.finditer(rb"(\d+) 0 obj(.*?)endobj", data, re.S)}

    def stream(n):
        body = objs[n]
        raw = re.split(rb"stream\r?\n", body, maxsplit=1)[1]
        raw = raw[:raw.rindex(b"endstream")]
        return zlib.decompress(raw) if b"/FlateDecode" in body.split(b"stream")[0] else raw

    root = int(re.findall(rb"/Root (\d+) 0 R", data)[-1])
    pages_root = int(re.search(rb"/Pages (\d+) 0 R", objs[root]).group(1))

    def walk(n):
        body = objs[n]
        if re.search(rb"/Type\s*/Pages\b", body):
            kids = re.search(rb"/Kids\s*\[([^\]]*)\]", body).group(1)
            return [p for k in re.findall(rb"(\d+) 0 R", kids) for p in walk(int(k))]
        return [n]
    out = []
    token = re.compile(rb"\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f\s]*>|\[|\]|/[^\s/\[\]()<>]+|[-+]?[0-9]*\.?[0-9]+|[A-Za-z'\"*]+")
    for page in walk(pages_root):
        m = re.search(rb"/Contents\s*(\[[^\]]*\]|\d+ 0 R)", objs[page])
        content = b"".join(stream(int(k)) for k in re.findall(rb"(\d+) 0 R", m.group(1)))
        ctm, stack, tm, size, ops, sizes = [1, 0, 0, 1, 0, 0], [], [1, 0, 0, 1, 0, 0], 0.0, [], []

        def mul(a, b):
            return [a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3], a[2] * b[0] + a[3] * b[2],
                    a[2] * b[1] + a[3] * b[3], a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5]]
        for t in token.findall(content):
            if t[:1] in b"(<[]/" or re.fullmatch(rb"[-+]?[0-9]*\.?[0-9]+", t):
                ops.append(t)
                continue
            nums = [float(x) for x in ops if re.fullmatch(rb"[-+]?[0-9]*\.?[0-9]+", x)]
            if t == b"q":
                stack.append(ctm)
            elif t == b"Q":
                ctm = stack.pop() if stack else ctm
            elif t == b"cm" and len(nums) >= 6:
                ctm = mul(nums[-6:], ctm)
            elif t == b"BT":
                tm = [1, 0, 0, 1, 0, 0]
            elif t == b"Tm" and len(nums) >= 6:
                tm = nums[-6:]
            elif t == b"Tf" and nums:
                size = nums[-1]
            elif t in (b"Tj", b"TJ", b"'", b'"'):
                m2 = mul(tm, ctm)
                sizes.append(round(size * abs(m2[0] * m2[3] - m2[1] * m2[2]) ** 0.5, 3))
            ops = []
        out.append(sizes)
    return out


@pytest.fixture(scope="module")
def printed(batch, tmp_path_factory):
    if not RENDER:
        pytest.skip("needs LibreOffice and poppler: apt-get install libreoffice-calc poppler-utils fonts-noto-cjk")
    from perfscore.render import to_pdf
    pdf = to_pdf([batch["path"]], tmp_path_factory.mktemp("printed"))[0]
    n = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout).group(1))
    texts = [subprocess.run(["pdftotext", "-f", str(k), "-l", str(k), "-layout", str(pdf), "-"], capture_output=True,
                            text=True).stdout for k in range(1, n + 1)]
    return {"pdf": pdf, "texts": texts, "sizes": pdf_text_sizes(pdf)}


def _pages_of(printed, title):
    return [k for k, t in enumerate(printed["texts"]) if t.lstrip().startswith("深圳市部门整体支出绩效自评汇总" + title)]


@pytest.mark.parametrize("title", ["（按综合评分排序）", "：排名", "：各指标得分", "：问题清单", "：扣分明细", "：异常",
                                   "：与上次汇总", "：各指标与上次汇总"])
def test_printed_text_is_at_least_8_points_on_every_page(printed, title):
    pages = _pages_of(printed, title)
    assert pages, title
    for k in pages:
        sizes = printed["sizes"][k]
        assert sizes and min(sizes) >= 8.0, (title, k + 1, min(sizes))


def test_printed_summary_is_the_main_table_and_indicators_are_on_their_own_pages(printed, batch):
    system = batch["system"]
    main_pages = _pages_of(printed, "（按综合评分排序）")
    text = "".join("".join(printed["texts"][k].split()) for k in main_pages)
    for col in ("排名", "部门名称", "主管部门", "综合评分", "评分等级", *[lv.name for lv in system.level1], "失分指标"):
        assert col in text, col
    assert "预算编制合理性" not in text and "财务合规性" not in text   # the indicators print on their own sheet
    missing = ["".join(r["部门名称"].split()) for r in batch["sheets"]["汇总"] if r["部门名称"]]
    assert [m for m in missing if m not in text] == []
    pages = _pages_of(printed, "：各指标得分")
    assert len(pages) >= 3
    for k in pages:   # 排名 and 部门名称 repeated on every page
        flat = "".join(printed["texts"][k].split())
        assert "排名" in flat and "部门名称" in flat
    found = "".join("".join(printed["texts"][k].split()) for k in pages)
    for lv in system.level1:   # each 一级指标 starts a page with its subtotal (headers wrap in their narrow columns)
        assert any(lv.name in "".join(printed["texts"][k].split()) for k in pages), lv.name
    assert found.count("小计") >= len(system.level1)
    # every page belongs to a sheet: no stray pages
    titled = sum(1 for t in printed["texts"] if t.lstrip().startswith(("深圳市部门整体支出绩效自评汇总", "名单核对")))
    assert titled == len(printed["texts"])


def test_memo_with_nothing_scored_and_usage_errors(tmp_path, capsys):
    d = tmp_path / "in"
    d.mkdir()
    (d / "坏.xlsx").write_bytes(b"not a workbook")
    assert main(["collect", str(d), "-o", str(tmp_path / "s.xlsx"), "--memo", str(tmp_path / "m.docx")],
                out=io.StringIO()) == 1
    text = "\n".join(p.text for p in Document(str(tmp_path / "m.docx")).paragraphs)
    assert "本次共收到1个文件，其中通过检查0个（含有警告的0个），未通过检查0个，无法读取1个。" in text
    assert "没有参加统计的单位" in text and "没有参加排名的单位。" in text and "均为100%" not in text
    assert "1. 坏.xlsx，无法读取：不是有效的 Excel 工作簿" in text
    assert _sheet(tmp_path / "s.xlsx", "问题清单")[0]["序号"] == "无（没有通过检查、参加统计的单位）"
    cases = [(["--pdf"], "--pdf 需要同时给出 --memo"), (["--drop-threshold", "0"], "--drop-threshold 应为正数"),
             (["--memo", str(tmp_path / "s2.xlsx")], "应以 .docx 结尾"),
             (["--memo", str(tmp_path / "m.docx")], "已存在")]
    for extra, words in cases:
        assert main(["collect", str(d), "-o", str(tmp_path / "s2.xlsx"), *extra], out=io.StringIO()) == 2
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err, (extra, err)
        assert not (tmp_path / "s2.xlsx").exists()
