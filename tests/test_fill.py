"""A workbook an accountant can fill alone (issue 15): nothing pre-filled, where each number comes from and room for
evidence, reversed polarity labelled, 不适用 where the system declares it, the 自评表 manual judgement, plain
language on 填报说明, the unit line and grade bands on 评分表, flat messages, and every printed page inside its
margins. Both workbook versions; the native formulas also through LibreOffice."""
import re
import shutil
import subprocess

import openpyxl
import pytest

from perfscore import REFERENCE_CASE, load_case, load_system, score_case
from perfscore.errors import InputError, SystemFileError
from perfscore.excel.layout import HEADER_FIELDS
from perfscore.excel.native import recalc
from perfscore.excel.workbook import INPUT_FILL, build_workbook, grade_bands, write_workbook

SYSTEM = load_system(2020)
CASE = load_case(REFERENCE_CASE)
ENGINES = ("python", "excel")
TOOL_WORDS = ("perfscore", "Python", "xlwings", "PERF_", "template", "VBA", "宏", "SUM", "生成程序")


def _built(engine, case=None):
    return build_workbook(SYSTEM, case, engine=engine)


def _input_rows(ws):
    """(row, header) of 基础数据's input table: header name -> column number."""
    head = next(r for r in range(1, 20) if ws.cell(r, 1).value == "序号")
    cols = {ws.cell(head, c).value: c for c in range(1, 12) if ws.cell(head, c).value}
    return head, cols


# ------------------------------------------------------------------------------- 1. blank means not yet filled
@pytest.mark.parametrize("engine", ENGINES)
def test_blank_template_has_no_prefilled_input(engine):
    built = _built(engine)
    for name, (sheet, coord) in built.names.items():
        if name in ("规则年度", "规则地区"):
            continue  # the rules year and region the workbook is built for, locked
        assert built.wb[sheet][coord].value is None, f"{name} 预先填了 {built.wb[sheet][coord].value!r}"
    assert {label for label, _ in HEADER_FIELDS} <= set(built.names)
    # header references print empty, never 0
    assert built.cached[("评分表", "G27")] == ""
    assert built.cached[("自评表", "C2")] == "" and built.cached[("自评表", "F2")] == ""
    assert 'IF(填报人="","",填报人)' in built.formulas[("评分表", "G27")]
    # every score asks for its inputs: nothing scores from a default nobody entered
    scores = [built.cached[("评分表", f"G{r}")] for r in range(4, 4 + len(SYSTEM.indicators))]
    assert all(isinstance(v, str) and v for v in scores), scores


def test_blank_cells_get_no_default_in_the_native_formulas():
    got = recalc(_built("excel"), {})
    assert got[("评分表", "G8")].startswith("未填写")  # 政府采购: 政策落实得分 has a default for omitted arguments only


# ------------------------------------------------------------------------------- 2. source and evidence
@pytest.mark.parametrize("engine", ENGINES)
def test_every_input_has_a_source_and_an_evidence_cell(engine):
    built = _built(engine, CASE)
    ws = built.wb["基础数据"]
    head, cols = _input_rows(ws)
    src, ev = cols["数据来源"], cols["依据/佐证材料（填报人填写）"]
    seen = set()
    for spec in SYSTEM.inputs.values():
        sheet, coord = built.names[spec.name]
        row = ws[coord].row
        seen.add(spec.id)
        assert ws.cell(row, src).value == spec.source and spec.source, spec.name
        cell = ws.cell(row, ev)
        assert cell.protection.locked is False and cell.fill.fgColor.rgb == INPUT_FILL.fgColor.rgb
        assert ws.cell(row, 4).coordinate == coord  # the value stays in 数值 (D), where its defined name points
    assert seen == set(SYSTEM.inputs)
    # printed: the print area covers the evidence and source columns, the hidden helpers are outside it
    assert ws.print_area and "$H$" in ws.print_area
    # the example says where each value comes from, and marks the assumed ones
    q1 = ws.cell(ws[built.names["一季度支出进度"][1]].row, ev).value
    assert q1.startswith("假设值：") and "报告未给出" in q1
    q4 = ws.cell(ws[built.names["四季度支出进度"][1]].row, ev).value
    assert q4.startswith("报告：")


def test_judgement_help_says_when_full_partial_and_zero_points_apply():
    built = _built("excel")
    ws = built.wb["基础数据"]
    head, cols = _input_rows(ws)
    for spec in SYSTEM.inputs.values():
        if spec.kind == "judgement":
            text = ws.cell(ws[built.names[spec.name][1]].row, cols["填写说明"]).value
            assert "填“是”" in text and "填“否”（0 分）" in text and "部分符合" in text and "理由" in text, text
            assert spec.help in text  # the standard's own wording, quoted


# ------------------------------------------------------------------------------- 3. polarity
def test_reversed_polarity_is_labelled_beside_the_name():
    built = _built("python")
    ws = built.wb["基础数据"]
    for name, note in (("存在违规支出", "是＝本项 0 分"), ("涉密部门", "是＝直接得分")):
        row = ws[built.names[name][1]].row
        assert ws.cell(row, 2).value == name and ws.cell(row, 3).value == note  # beside the name, bold
        assert ws.cell(row, 3).font.b
    noted = [s for s in SYSTEM.inputs.values() if s.note]
    assert {s.id for s in noted} == {"fin_violation", "classified"}
    assert all(re.fullmatch(r"[^（）()]+", s.name) for s in noted)  # the defined name itself stays bare


def test_note_key_is_validated(tmp_path):
    text = (SYSTEM_FILE.read_text("utf-8")
            .replace('note = "是＝本项 0 分"', 'note = "是＝本项 0 分，另外这里写了一大段超过二十个字的说明文字"'))
    bad = tmp_path / "2020.toml"
    bad.write_text(text, "utf-8")
    with pytest.raises(SystemFileError, match="note"):
        load_system(path=bad)


# ------------------------------------------------------------------------------- 5. 不适用
def test_not_applicable_parsed_and_scored_as_declared():
    spec = SYSTEM.inputs["petition_2"]
    assert spec.not_applicable == "full" and spec.parse("不适用") == spec.max
    with pytest.raises(InputError, match="单元格里是文字.*“是”/“否”"):
        SYSTEM.inputs["petition_1"].parse("不适用")  # not declared there
    raw = {k: v.value for k, v in CASE.inputs.items()}
    for iid in ("petition_2", "petition_3", "procurement_policy"):
        raw[iid] = "不适用"
    res = score_case(SYSTEM, raw)
    assert res.by_id("petitions").score == 3 and res.by_id("procurement").error is None
    assert res.by_id("petitions").reason.endswith("（群众信访办理情况_2不适用，按满分计）（群众信访办理情况_3不适用，按满分计）")
    assert "（政府采购政策落实得分不适用，按满分计）" in res.by_id("procurement").reason
    assert "不适用" in SYSTEM.inputs["petition_2"].expectation()


def test_not_applicable_in_the_native_formulas_and_validation():
    built = _built("excel")
    base = {SYSTEM.inputs[k].name: v.value for k, v in CASE.inputs.items() if SYSTEM.inputs[k].kind != "text"}
    base = {n: (SYSTEM.inputs[next(i for i, s in SYSTEM.inputs.items() if s.name == n)].parse(v)
                if isinstance(v, str) and v.endswith("%") else v) for n, v in base.items()}
    na = {"群众信访办理情况_2": "不适用", "群众信访办理情况_3": "不适用"}
    row = 4 + [i.id for i in SYSTEM.indicators].index("petitions")
    got = recalc(built, {**base, **na})
    assert got[("评分表", f"G{row}")] == 3
    raw = {k: v.value for k, v in CASE.inputs.items()}
    raw.update(petition_2="不适用", petition_3="不适用")
    assert got[("扣分说明", f"I{row - 1}")] == score_case(SYSTEM, raw).by_id("petitions").reason  # the same words
    got = recalc(built, {**base, "群众信访办理情况_1": "不适用"})[("评分表", f"G{row}")]
    assert isinstance(got, str) and "群众信访办理情况_1" in got  # not declared there: a message
    ws = built.wb["基础数据"]
    coord = built.names["群众信访办理情况_2"][1]
    dv = next(d for d in ws.data_validations.dataValidation if coord in str(d.sqref))
    # text (不适用 among it) passes the validation to the one reading of typed input; the message names 不适用
    assert dv.formula1.startswith(f"OR(ISTEXT({coord})") and "不适用" in dv.error


# ------------------------------------------------------------------------------- 4. 自评表
def _goal_rows(built):
    ws = built.wb["自评表"]
    return [r for r in range(1, ws.max_row + 1) if (("自评表", f"G{r}") in built.formulas
                                                      and f"H{r}" in built.formulas[("自评表", f"G{r}")])]


@pytest.mark.parametrize("engine", ENGINES)
def test_goal_table_instructions_rows_and_budget_definition(engine):
    built = _built(engine)
    ws = built.wb["自评表"]
    texts = " ".join(str(c.value) for row in ws.iter_rows() for c in row if isinstance(c.value, str))
    assert "填写说明" in texts and "全年预算数（调整后）" in texts and "人工判断" in texts
    assert len(_goal_rows(built)) == 3 * sum(len(l2) for _, l2 in SYSTEM.goal_table.categories)
    tasks = next(r for r in range(1, 20) if ws.cell(r, 2).value == "任务名称")
    total = next(r for r in range(tasks, 40) if ws.cell(r, 1).value == "金额合计")
    assert total - (tasks + 2) == 8
    assert all(ws.cell(r, 8).protection.locked is False for r in _goal_rows(built))


def test_manual_judgement_honoured_python_formulas(tmp_path):
    from perfscore.excel.formula_engine import evaluate
    built = _built("python", CASE)
    rows = _goal_rows(built)
    ws = built.wb["自评表"]
    unknown = next(r for r in rows if str(built.cached[("自评表", f"G{r}")]).startswith("无法判断"))
    auto = next(r for r in rows if built.cached[("自评表", f"G{r}")] == "达成")
    ws[f"H{unknown}"] = "部分达成"
    path = tmp_path / "人工判断.xlsm"
    write_workbook(built, path)
    got = evaluate(path)
    assert got[("自评表", f"G{unknown}")] == "部分达成" and got[("自评表", f"G{auto}")] == "达成"


def _lo_ok():
    return shutil.which("soffice") and subprocess.run(["/usr/bin/python3", "-c", "import uno"],
                                                      capture_output=True).returncode == 0


@pytest.mark.skipif(not _lo_ok(), reason="需要 LibreOffice")
def test_manual_judgement_and_not_applicable_in_libreoffice(tmp_path):
    from test_native import run_lo
    built = _built("excel", CASE)
    rows = _goal_rows(built)
    unknown = next(r for r in rows if str(built.cached[("自评表", f"G{r}")]).startswith("无法判断"))
    auto = next(r for r in rows if built.cached[("自评表", f"G{r}")] == "达成")
    built.wb["自评表"][f"H{unknown}"] = "未达成"
    path = tmp_path / "人工判断.xlsx"
    write_workbook(built, path)
    prow = 4 + [i.id for i in SYSTEM.indicators].index("petitions")
    read = [["自评表", f"G{unknown}"], ["自评表", f"G{auto}"], ["评分表", f"G{prow}"]]
    sets = [{"群众信访办理情况_2": "否"}, {"群众信访办理情况_2": "不适用", "群众信访办理情况_3": "不适用"},
            {"群众信访办理情况_1": "不适用"}]
    values, _ = run_lo(path, sets, read, tmp_path)
    assert [v[("自评表", f"G{unknown}")] for v in values] == ["未达成"] * 3
    assert values[0][("自评表", f"G{auto}")] == "达成"
    assert values[0][("评分表", f"G{prow}")] == 2 and values[1][("评分表", f"G{prow}")] == 3
    assert "群众信访办理情况_1" in values[2][("评分表", f"G{prow}")]


@pytest.mark.parametrize("engine", ENGINES)
def test_actual_written_as_a_bound_is_not_met(engine):
    built = _built(engine, CASE)
    for r in _goal_rows(built):
        ws = built.wb["自评表"]
        if str(ws[f"F{r}"].value or "").startswith("≥"):
            assert str(built.cached[("自评表", f"G{r}")]).startswith("无法判断"), ws[f"F{r}"].value
            break
    else:
        pytest.fail("参考案例中应有一行实际值写作“≥…”")


# ------------------------------------------------------------------------------- 6. 填报说明, 评分表
@pytest.mark.parametrize("engine", ENGINES)
def test_guide_speaks_to_the_officer_tools_only_in_the_it_note(engine):
    built = _built(engine)
    ws = built.wb["填报说明"]
    texts = [(r, str(c.value)) for r in range(1, ws.max_row + 1) for c in ws[r] if c.value]
    it = [r for r, t in texts if t.startswith("给 IT 人员")]
    assert len(it) == 1
    for r, t in texts:
        if r != it[0]:
            assert not any(w in t for w in TOOL_WORDS), t
    body = " ".join(t for _, t in texts)
    sheets = [s for s in built.wb.sheetnames if built.wb[s].sheet_state == "visible"]
    assert "、".join(f"“{s}”" for s in sheets) in body
    assert "金额以元为单位" in body and "依据/佐证材料" in body and "浅蓝色" in body and "保存" in body
    assert "不适用" in body and "存在违规支出（是＝本项 0 分）" in body


def test_guide_sheet_list_and_units_follow_the_system():
    from pathlib import Path
    files = sorted((Path(__file__).parent / "data" / "systems" / "testprovince").glob("*.toml"))
    other = load_system(path=files[0])
    built = build_workbook(other, None, engine="python")
    body = " ".join(str(c.value) for row in built.wb["填报说明"].iter_rows() for c in row if c.value)
    if other.goal_table is None:
        assert "自评表" not in body and "自评表" not in built.wb.sheetnames
    units = {s.unit for s in other.inputs.values() if s.kind == "amount"}
    assert any(f"金额以{u}为单位" in body for u in units)
    # where the figures come from and how each kind is written: only what this system has
    assert not any(i.source for i in other.inputs.values()) and "按财政部门通知所列的资料取数" in body
    assert "数据来源”栏写明" not in body and "政府采购管理系统" not in body
    kinds = {i.kind for i in other.inputs.values()}
    assert ("比率按百分比填写" in body) == ("rate" in kinds) and ("逐项评定" in body) == ("judgement" in kinds)
    assert ("需要评定得分的项目" in body) == ("score" in kinds)


def test_guide_lists_the_sources_the_system_names():
    """The examples of where to look are the sources the system's inputs name most often (Shenzhen 2020)."""
    built = _built("python")
    body = " ".join(str(c.value) for row in built.wb["填报说明"].iter_rows() for c in row if c.value)
    assert "（如预算执行系统、部门预算批复、部门整体绩效目标申报表、部门决算报表、国库支付系统、政府采购管理系统）" in body
    assert "项数、人数、个数填整数" in body


@pytest.mark.parametrize("engine", ENGINES)
def test_score_sheet_has_unit_line_and_grade_bands(engine):
    for case, dept in ((None, ""), (CASE, CASE.department)):
        built = _built(engine, case)
        ws = built.wb["评分表"]
        line = next(k for k, f in built.formulas.items() if k[0] == "评分表" and "填报单位" in f)
        assert built.cached[line] == f"填报单位（盖章）：{dept}　　　　预算年度：{case.year if case else ''}"
        texts = [str(c.value) for row in ws.iter_rows() for c in row if c.value]
        assert grade_bands(SYSTEM) in texts
    assert grade_bands(SYSTEM) == ("评分等级：综合评分（满分 100 分）90≤得分≤100为“优”；80≤得分<90为“良”；"
                                   "60≤得分<80为“中”；0≤得分<60为“差”。")


# ------------------------------------------------------------------------------- 7. flat messages
@pytest.mark.parametrize("engine", ENGINES)
def test_messages_are_flat_and_numbered_by_the_tables_own_number(engine):
    built = _built(engine)
    for key, v in built.cached.items():
        if key[0] == "扣分说明" and key[1][0] in "FGH":
            assert v == "—" or not isinstance(v, str), (key, v)  # narrow columns: a dash, the reason says why
        if isinstance(v, str):
            assert "（第" not in v and v.count("（") <= 2, (key, v)
    raw = {k: v.value for k, v in CASE.inputs.items()}
    raw.update(procurement_actual=None, satisfaction_rate=None)
    from perfscore import udfs
    res = score_case(SYSTEM, raw)
    scores = [r.score if r.error is None else r.error for r in res.indicators]
    assert udfs.total(scores) == "第 5、21 项未得出分数，无法合计"


# ------------------------------------------------------------------------------- 8. printing
def _bbox_pages(pdf):
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    out = []
    for m in re.finditer(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', html, re.S):
        words = [(float(a), float(b), float(c), float(d), t) for a, b, c, d, t in re.findall(
            r'<word xMin="([-\d.]+)" yMin="([-\d.]+)" xMax="([-\d.]+)" yMax="([-\d.]+)">([^<]*)</word>', m.group(3))]
        out.append((float(m.group(1)), float(m.group(2)), words))
    return out


@pytest.mark.skipif(not (shutil.which("soffice") and shutil.which("pdftotext")), reason="需要 LibreOffice 和 poppler")
def test_rendered_pages_stay_inside_their_margins(tmp_path):
    """Both versions, blank and filled: no word outside the printable width (0.4 in margins, 1 pt slack), and the
    pages per sheet as laid out: 填报说明 1, 评分表 2, 扣分说明 2 (indicators, then the subtotals)."""
    from perfscore.render import to_pdf
    paths = []
    for engine in ENGINES:
        for case in (None, CASE):
            built = _built(engine, case)
            p = tmp_path / f"{engine}_{'filled' if case else 'blank'}{'.xlsx' if engine == 'excel' else '.xlsm'}"
            write_workbook(built, p)
            paths.append(p)
    margin = 0.4 * 72 - 1
    for pdf in to_pdf(paths, tmp_path / "pdf"):
        pages = _bbox_pages(pdf)
        for k, (w, h, words) in enumerate(pages, 1):
            out = [t for x0, y0, x1, y1, t in words if x0 < margin or x1 > w - margin or y0 < 0 or y1 > h]
            assert not out, f"{pdf.name} 第 {k} 页有文字超出页边距：{out[:5]}"
        firsts = [" ".join(t for *_, t in words[:4]) for _, _, words in pages]
        guide = [k for k, f in enumerate(firsts) if "填报说明" in f]
        scores = [k for k, (_, _, words) in enumerate(pages) if any(t in ("指标说明",) for *_, t in words)]
        deductions = [k for k, (_, _, words) in enumerate(pages)
                      if any(t in ("扣分说明", "各级指标得分小计") for *_, t in words[:3])]
        assert len(guide) == 1, firsts
        assert len(scores) == 2, (pdf.name, firsts)
        assert len(deductions) == 2, (pdf.name, firsts)


SYSTEM_FILE = __import__("pathlib").Path(__file__).resolve().parents[1] / "src" / "perfscore" / "systems" / "shenzhen" / "2020.toml"


def test_effectiveness_has_the_tables_criteria_and_a_place_for_its_basis():
    """效果性 (25 points) is a manual score: the officer reads the table's own criteria beside the cell and writes
    the basis in 依据/佐证材料, as for the other judgement items (issue 19 item 11)."""
    spec = SYSTEM.inputs["effectiveness_score"]
    ind = next(i for i in SYSTEM.indicators if i.id == "effectiveness")
    assert "至少选择三个方面" in spec.help and "未实现绩效目标的酌情扣分" in spec.help
    assert "至少选择三个方面" in ind.criteria and "未实现绩效目标的酌情扣分" in ind.criteria  # the table's words
    built = _built("excel")
    ws = built.wb["基础数据"]
    head, cols = _input_rows(ws)
    row = ws[built.names[spec.name][1]].row
    assert spec.help in ws.cell(row, cols["填写说明"]).value and "依据/佐证材料" in ws.cell(row, cols["填写说明"]).value
    assert ws.cell(row, cols["依据/佐证材料（填报人填写）"]).protection.locked is False
