"""The reference indicator system as data: word for word, weights, and strict validation of broken files."""
import re
from pathlib import Path

import pytest

from perfscore import load_system, load_system_file
from perfscore.errors import SystemFileError, UnknownYear
from perfscore.engine.system import PACKAGE_SYSTEMS

# the published report the 2020 system and the reference case are taken from, kept in the repository
SEED = Path(__file__).resolve().parents[1] / "docs" / "reference" / "深圳市科技开发交流中心_2020年度部门整体绩效自评报告.txt"
SRC = PACKAGE_SYSTEMS / "shenzhen" / "2020.toml"


def _squash(t):
    t = re.sub(r"</?(p|li|ol)[^>]*>", "", t)
    t = t.replace(r"$90\% \leq$", "90%≤").replace(r"$80\% \leq$", "80%≤").replace("$<$", "<").replace(r"\geq", "≥")
    return re.sub(r"\s+", "", t)


def test_structure(system2020):
    s = system2020
    assert [l.name for l in s.level1] == ["部门决策", "部门管理", "部门绩效"]
    assert [l.weight for l in s.level1] == [20, 20, 60]
    assert len(s.indicators) == 21
    assert sum(i.weight for i in s.indicators) == 100
    assert s.rounding_mode == "half_up" and s.rounding_digits == 2
    assert [g for _, g in s.grades] == ["优", "良", "中", "差"]
    assert s.grade(90) == "优" and s.grade(89.99) == "良" and s.grade(80) == "良" and s.grade(60) == "中"
    assert s.grade(59.99) == "差"


def _seed_rows():
    """The seed's 评分表 rows: {三级指标: (指标说明, 评分标准 joined across page breaks)}."""
    rows, last = {}, None
    text = SEED.read_text("utf-8")
    for line in text[text.index("部门整体支出绩效评分表"):].split("\n"):
        c = line.split("\t")
        if len(c) < 7 or c[0] in ("评价指标", "一级指标", "综合评分", "评分等级", "填表人"):
            continue
        if c[2]:
            last = c[2]
            rows[last] = [c[4], c[5], c[0]]
        elif last and c[5]:
            rows[last][1] += c[5]
    return rows


def test_wording_is_verbatim_from_the_seed(system2020):
    rows = _seed_rows()
    assert len(rows) == 21
    for ind in system2020.indicators:
        desc, crit, _ = rows[ind.name]
        assert _squash(ind.description) == _squash(desc), ind.name
        assert _squash(ind.criteria) == _squash(crit), ind.name
    printed_l1 = {r[2] for r in rows.values() if r[2]}
    assert printed_l1 == {l.printed for l in system2020.level1}


def test_erratum_recorded_beside_verbatim_text(system2020):
    ind = system2020.by_id["goal_completeness"]
    assert "(8分)" in ind.criteria  # kept as printed
    assert ind.weight == 3
    assert ind.errata[0].printed in ind.criteria and "3" in ind.errata[0].correct


# ------------------------------------------------------------------------------- broken files
def _broken(tmp_path, old, new, count=1):
    text = SRC.read_text("utf-8")
    assert old in text, old
    p = tmp_path / "broken.toml"
    p.write_text(text.replace(old, new, count), "utf-8")
    return p


BROKEN = [
    ("unknown key", 'total = 100\n', 'total = 100\ntotals = 100\n', "totals"),
    ("wrong type", 'total = 100\n', 'total = "100"\n', "system.total"),
    ("level1 weights vs 100", 'printed = "部门绩效（60分）"\nweight = 60', 'printed = "部门绩效（60分）"\nweight = 61', "level1"),
    ("indicator weights vs level2", 'name = "预算编制规范性"\nweight = 5', 'name = "预算编制规范性"\nweight = 4', "预算编制"),
    ("band gap", '{ range = "[75%, 90%)", points = 0.7 }', '{ range = "[76%, 90%)", points = 0.7 }', "indicators[fixed_asset_utilization].rule.bands"),
    ("band overlap", '{ range = "[5%, 10%]", points = 0.5 }', '{ range = "[4%, 10%]", points = 0.5 }', "indicators[outside_staff_control].rule.bands"),
    ("grade gap", 'range = "[80, 90)"', 'range = "[80, 89)"', "grades"),
    ("undeclared input", 'numerator = ["procurement_actual"]', 'numerator = ["procurement_real"]', "measures.procurement_rate.numerator"),
    ("input in rule but not in argument list", 'inputs = ["key_tasks_unfinished"]', 'inputs = []', "indicators[key_tasks].inputs"),
    ("checklist points vs weight", '{ input = "system_2", points = 1.5,', '{ input = "system_2", points = 1.4,', "indicators[management_system].rule.items[1]"),
    ("bad rounding mode", 'mode = "half_up"', 'mode = "bankers"', "system.rounding.mode"),
    ("unknown family", 'family = "per_item_penalty"', 'family = "per_item"', "indicators[budget_compliance].rule.family"),
    ("erratum not in text", 'printed = "实现绩效目标全覆盖(8分)"', 'printed = "实现绩效目标全覆盖(9分)"', "errata"),
    ("bad Excel name", 'name = "政府采购预算数"', 'name = "政府采购 预算数"', "inputs.procurement_budget.name"),
    ("syntax", '[system.rounding]', '[system.rounding', "TOML 语法错误"),
]


@pytest.mark.parametrize("what,old,new,key", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_system_file_names_file_and_key(tmp_path, what, old, new, key):
    p = _broken(tmp_path, old, new)
    with pytest.raises(SystemFileError) as ei:
        load_system_file(p)
    msg = str(ei.value)
    assert str(p) in msg
    assert key in msg, msg
    assert msg.startswith("指标体系文件有误")


def test_reference_file_validates():
    assert load_system_file(SRC).year == 2020


# ------------------------------------------------------------------------------- years
def _systems_dir(tmp_path, years):
    d = tmp_path / "systems" / "shenzhen"
    d.mkdir(parents=True)
    text = SRC.read_text("utf-8")
    for y in years:
        t = text.replace("year = 2020", f"year = {y}")
        if y >= 2021:  # a changed threshold: 固定资产利用率 full marks from 95%
            t = t.replace('{ range = "[90%, inf)", points = 1 },\n  { range = "[75%, 90%)", points = 0.7 },',
                          '{ range = "[95%, inf)", points = 1 },\n  { range = "[75%, 95%)", points = 0.7 },')
        (d / f"{y}.toml").write_text(t, "utf-8")
    return tmp_path / "systems"


def test_year_in_force_until_replaced(tmp_path):
    from perfscore import score_indicator
    root = _systems_dir(tmp_path, [2020, 2021])
    raw = {"fixed_assets_in_use": 92, "fixed_assets_total": 100}
    s2020 = load_system(2020, root=root)
    s2021 = load_system(2021, root=root)
    s2023 = load_system(2023, root=root)
    assert (s2020.year, s2021.year, s2023.year) == (2020, 2021, 2021)
    assert score_indicator(s2020, s2020.by_id["fixed_asset_utilization"], raw).score == 1
    assert score_indicator(s2021, s2021.by_id["fixed_asset_utilization"], raw).score == 0.7


def test_unknown_year_lists_available(tmp_path):
    root = _systems_dir(tmp_path, [2020, 2021])
    with pytest.raises(UnknownYear) as ei:
        load_system(2019, root=root)
    assert "2020、2021" in str(ei.value)


def test_every_packaged_input_names_its_source(system2020):
    """Issue 15: an officer sees where each figure comes from (数据来源)."""
    missing = [s.name for s in system2020.inputs.values() if not s.source]
    assert not missing


def test_every_rule_family_has_a_builder():
    """A family added to rules.py without a reader in reading/families.py could never be named in a system file."""
    from perfscore.engine import rules as R
    from perfscore.engine.reading.families import BUILDERS
    assert set(BUILDERS) == set(R.FAMILIES)
    for fam, builder in BUILDERS.items():
        assert builder.__module__ == "perfscore.engine.reading.families", fam
