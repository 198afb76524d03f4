"""Plain-text rendering for the terminal: the 评分表 with reasons, subtotals, total, grade, findings."""
from __future__ import annotations

from perfscore.engine.numbers import fmt_num, fmt_pct
from perfscore.text import width


def pad(s: str, w: int) -> str:
    return s + " " * max(w - width(s), 0)


def score_table(result) -> str:
    """The 21 indicators grouped by 一级/二级指标, each with 分值, 得分 and its one-line reason."""
    lines = []
    s = result.system
    lines.append(f"{s.title}（{s.name}，{s.year} 年版）")
    w3 = max(width(i.name) for i in s.indicators[:-1] if width(i.name) <= 24) + 2
    for l1 in s.level1:
        lr1 = result.level1[l1.id]
        lines.append("")
        lines.append(f"【{l1.name}】 分值 {fmt_num(l1.weight)}  得分 {_score(lr1.score)}")
        for l2 in s.level2:
            if l2.parent != l1.id:
                continue
            lr2 = result.level2[l2.id]
            lines.append(f"  {l2.name}（分值 {fmt_num(l2.weight)}，得分 {_score(lr2.score)}）")
            for r in result.indicators:
                if r.indicator.level2.id != l2.id:
                    continue
                name = r.indicator.name if width(r.indicator.name) <= w3 else r.indicator.name[: (w3 // 2) - 1] + "…"
                head = f"    {pad(name, w3)} {fmt_num(r.weight):>4}  {_score(r.score):>5}  "
                lines.append(head + (f"无法计分：{r.error_detail}" if r.error else r.reason))
    lines.append("")
    lines.append(f"综合评分：{_score(result.total)}")
    lines.append(f"评分等级：{result.grade or '—（有指标无法计分）'}")
    if result.errors:
        lines.append("")
        lines.append(f"有 {len(result.errors)} 项指标无法计分，总分暂不给出：")
        for r in result.errors:
            lines.append(f"  - {r.indicator.name}：{r.error_detail}")
    return "\n".join(lines)


def _score(v) -> str:
    return "—" if v is None else fmt_num(v)


def assumed_block(case) -> str:
    items = case.assumed()
    if not items:
        return ""
    lines = ["", "假设值（报告未给出，已在案例文件中注明）："]
    for k, v in items.items():
        lines.append(f"  - {k} = {v.value}：{v.assumed}")
    return "\n".join(lines)


def findings_block(findings) -> str:
    if not findings:
        return "\n交叉核对：报告写出的数字与按规则计算的结果一致。"
    lines = ["", f"交叉核对：发现 {len(findings)} 处报告数字与按规则计算的结果不一致："]
    for k, f in enumerate(findings, 1):
        lines.append(f"  {k}. {f.message}")
    return "\n".join(lines)


def inputs_table(system) -> str:
    lines = [f"{system.name}（{system.year} 年版）需要的输入项：", ""]
    used_by: dict[str, list[str]] = {}
    for ind in system.indicators:
        for i in ind.inputs:
            used_by.setdefault(i, []).append(ind.name)
    for spec in system.inputs.values():
        rng = []
        if spec.kind == "rate":
            rng.append(f"{fmt_pct(spec.min, 0)}–{'∞' if spec.max == float('inf') else fmt_pct(spec.max, 0)}")
        elif spec.kind in ("judgement", "score"):
            rng.append(f"0–{fmt_num(spec.max)} 分" + ("，可填 是/否" if spec.kind == "judgement" else ""))
        elif spec.kind == "choice":
            rng.append("／".join(spec.options))
        elif spec.kind == "flag":
            rng.append("是／否")
        elif spec.min is not None:
            rng.append(f"≥{fmt_num(spec.min)}" + (" 整数" if spec.kind == "count" else ""))
        if spec.default is not None:
            rng.append(f"省略时默认 {spec.default if not isinstance(spec.default, bool) else ('是' if spec.default else '否')}")
        unit = f"（{spec.unit}）" if spec.unit else ""
        users = "、".join(used_by.get(spec.id, [])) or "（不参与评分，用于核对）"
        lines.append(f"  {pad(spec.id, 26)} {pad(spec.name + unit, 30)} {pad('；'.join(rng), 24)} 用于：{users}")
        if spec.help:
            lines.append(f"  {'':26} {spec.help}")
    return "\n".join(lines)
