"""The CLI is a thin shell: every command documented with an example, Chinese messages, reliable exit codes."""
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from perfscore import REFERENCE_CASE
from perfscore.cli import COMMANDS, EXIT_FINDINGS, EXIT_OK, EXIT_UNSCORABLE, EXIT_USAGE, build_parser, main

ROOT = Path(__file__).resolve().parents[1]


def run(*argv):
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_demo_prints_scores_reasons_total_grade_and_findings(system2020):
    code, out = run("demo")
    assert code == EXIT_OK
    for ind in system2020.indicators:
        assert ind.name[:8] in out
    assert "政府采购执行率 95.15%，扣 0.05 分" in out
    assert "综合评分：97.93" in out and "评分等级：优" in out
    assert "交叉核对：发现 7 处" in out
    assert "15.00%" in out and "13.04%" in out
    assert "假设值" in out and "q1_progress" in out


def test_score_reference_case_exit_code_reports_findings():
    code, out = run("score", str(REFERENCE_CASE))
    assert code == EXIT_FINDINGS
    assert "综合评分：97.93" in out


def test_score_json():
    code, out = run("score", str(REFERENCE_CASE), "--json")
    d = json.loads(out)
    assert d["total"] == pytest.approx(97.93) and d["grade"] == "优"
    assert len(d["indicators"]) == 21
    assert {f["ref"] for f in d["findings"]} >= {"figure.outside_staff_rate", "total"}
    proc = next(i for i in d["indicators"] if i["id"] == "procurement")
    assert proc["figures"][0]["display"] == "95.15%" and proc["deducted"] == pytest.approx(0.05)


def _case(tmp_path, body):
    p = tmp_path / "我的案例.toml"
    p.write_text('schema = 1\n[case]\ntitle = "测试"\ndepartment = "测试单位"\nyear = 2020\n' + body, "utf-8")
    return p


def test_score_unusable_input_exit_1_with_message(tmp_path):
    text = REFERENCE_CASE.read_text("utf-8").replace('value = 13200,', 'value = "一万三",')
    p = tmp_path / "case.toml"
    p.write_text(text, "utf-8")
    code, out = run("score", str(p))
    assert code == EXIT_UNSCORABLE
    assert "「政府采购预算数」单元格里是文字，不是数字：请输入不小于 0 的金额" in out
    assert "总分暂不给出" in out


def test_score_case_without_stated_figures_exit_0(tmp_path, reference_case):
    lines = "\n".join(f"{k} = {json.dumps(v.value, ensure_ascii=False)}" for k, v in reference_case.inputs.items())
    code, out = run("score", str(_case(tmp_path, "[inputs]\n" + lines + "\n")))
    assert code == EXIT_OK, out
    assert "交叉核对：报告写出的数字与按规则计算的结果一致" in out


def test_unknown_input_in_case(tmp_path, capsys):
    code, _ = run("score", str(_case(tmp_path, "[inputs]\nprocurement_budgett = 1\n")))
    assert code == EXIT_USAGE
    err = capsys.readouterr().err
    assert "inputs.procurement_budgett" in err and "perfscore inputs" in err


def test_broken_system_file_names_file_and_key(tmp_path, capsys):
    src = (ROOT / "src/perfscore/systems/shenzhen/2020.toml").read_text("utf-8")
    bad = tmp_path / "本地区2020.toml"
    bad.write_text(src.replace('{ range = "[75%, 90%)", points = 0.7 }', '{ range = "[75%, 89%)", points = 0.7 }'), "utf-8")
    code, _ = run("score", str(REFERENCE_CASE), "--system", str(bad))
    assert code == EXIT_USAGE
    err = capsys.readouterr().err
    assert str(bad) in err and "indicators[fixed_asset_utilization].rule.bands" in err and "缺口" in err
    assert "Traceback" not in err
    code, _ = run("validate", str(bad))
    assert code == EXIT_USAGE


def test_system_outside_package_scores(tmp_path):
    src = (ROOT / "src/perfscore/systems/shenzhen/2020.toml").read_text("utf-8")
    p = tmp_path / "other.toml"
    p.write_text(src.replace('range = "[90%, inf)", points = 1', 'range = "[99%, inf)", points = 1').replace(
        'range = "[75%, 90%)", points = 0.7', 'range = "[75%, 99%)", points = 0.7'), "utf-8")
    code, out = run("score", str(REFERENCE_CASE), "--system", str(p), "--json")
    d = json.loads(out)
    assert next(i for i in d["indicators"] if i["id"] == "fixed_asset_utilization")["score"] == 0.7
    assert d["system"]["path"] == str(p)


def test_unknown_year(capsys):
    code, _ = run("score", str(REFERENCE_CASE), "--year", "2019")
    assert code == EXIT_USAGE
    assert "现有年度为 2020" in capsys.readouterr().err


def test_inputs_lists_every_input(system2020):
    code, out = run("inputs", "--year", "2020")
    assert code == EXIT_OK
    for spec in system2020.inputs.values():
        assert spec.name in out
    code, out = run("inputs", "--json")
    assert len(json.loads(out)) == len(system2020.inputs)


def test_validate_good_file():
    code, out = run("validate", str(ROOT / "src/perfscore/systems/shenzhen/2020.toml"))
    assert code == EXIT_OK and "21 项三级指标" in out


def test_usage_error_in_chinese(capsys):
    code, _ = run("scroe")
    assert code == EXIT_USAGE
    assert "无效的选项" in capsys.readouterr().err


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_documented(name, capsys):
    _, help_text, example = COMMANDS[name]
    assert help_text and re.search(r"[\u4e00-\u9fff]", help_text)
    assert example.startswith(f"perfscore {name}")
    with pytest.raises(SystemExit):
        build_parser().parse_args([name, "--help"])
    assert "示例：" in capsys.readouterr().out
    readme = (ROOT / "README.md").read_text("utf-8")
    assert f"perfscore {name}" in readme, f"README does not document `perfscore {name}`"


def test_entry_point_runs_as_a_program():
    p = subprocess.run([sys.executable, "-m", "perfscore", "demo"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "评分等级：优" in p.stdout and p.stderr == ""
