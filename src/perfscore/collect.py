"""`perfscore collect`: read many filled workbooks, recompute and check each, write one summary workbook.

Each file is read with python-calamine after ``reader.inspect_package`` has bounded what it may cost (file and
part sizes, compression ratio, no DTD), recomputed by its own rules year and compared with what it stores.
Files are processed in chunks by a process pool (both cores by default); a worker returns only a small row.
Nothing is written next to the originals and they are opened read-only. A file that cannot be read, or fails
its checks, lands in the 异常 sheet with the reason; the rest of the batch completes.
"""
from __future__ import annotations

import glob
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from .errors import PerfscoreError

PATTERNS = ("*.xlsm", "*.xlsx")
UNREADABLE, FAILED = "无法读取", "未通过"
CHUNK = 64


def expand_sources(sources, exclude=()) -> list[Path]:
    """Directories (searched recursively for .xlsm/.xlsx) and glob patterns -> sorted unique files.
    Office lock files (~$…) and the excluded paths (the output) are skipped."""
    out = set()
    excluded = {Path(p).resolve() for p in exclude if p}
    for src in sources:
        p = Path(src)
        if p.is_dir():
            found = [f for pat in PATTERNS for f in p.rglob(pat)]
        elif any(ch in src for ch in "*?["):
            found = [Path(f) for f in glob.glob(src, recursive=True)]
        else:
            found = [p] if p.is_file() else []
        for f in found:
            if f.is_file() and not f.name.startswith("~$") and f.resolve() not in excluded:
                out.add(f)
    return sorted(out)


def process_one(path) -> dict:
    """One file -> a plain row. Never raises."""
    from .check import check_filled
    from .reader import read_filled
    row = {"文件": str(path), "部门名称": None, "预算年度": None, "规则年度": None, "scores": {}, "rates": {},
           "综合评分": None, "评分等级": None, "检查结果": UNREADABLE, "问题": ""}
    try:
        filled = read_filled(path)
        row["部门名称"] = filled.header.get("部门名称")
        by = filled.header.get("预算年度")
        row["预算年度"] = int(by) if isinstance(by, float) and by.is_integer() else by
        row["规则年度"] = filled.year
        rep = check_filled(filled)
        res = rep.result
        for r in res.indicators:
            row["scores"][r.indicator.name] = r.score
            row["rates"][r.indicator.name] = None if r.score is None else r.score / r.weight
        row["order"] = [r.indicator.name for r in res.indicators]
        row["综合评分"], row["评分等级"] = res.total, res.grade
        row["检查结果"] = rep.status
        row["问题"] = "；".join(f"[{i.level}] {i.where}：{i.message}" for i in rep.items)
    except PerfscoreError as exc:
        row["问题"] = str(exc)
    except MemoryError:
        row["问题"] = "读取时内存不足：文件异常庞大，未处理"
    except Exception as exc:  # a bug, or a file shape nobody foresaw: report it, keep the batch going
        row["问题"] = f"内部错误（{type(exc).__name__}: {str(exc)[:120]}）：请把该文件发给开发人员"
    return row


def _process_chunk(paths) -> list[dict]:
    return [process_one(p) for p in paths]


def collect_rows(paths, jobs=None, progress=None) -> list[dict]:
    """Process ``paths`` (in order) on ``jobs`` processes; ``progress(done, total)`` after each chunk."""
    paths = [str(p) for p in paths]
    jobs = jobs or os.cpu_count() or 1
    chunks = [paths[i:i + CHUNK] for i in range(0, len(paths), CHUNK)]
    rows: list[dict] = []
    if jobs == 1 or len(chunks) <= 1:
        for c in chunks:
            rows += _process_chunk(c)
            if progress:
                progress(len(rows), len(paths))
        return rows
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for result in pool.map(_process_chunk, chunks):
            rows += result
            if progress:
                progress(len(rows), len(paths))
    return rows


# ------------------------------------------------------------------------------------------ writing
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(v):
    """Text a spreadsheet would run as a formula gets a leading apostrophe; numbers stay numbers."""
    if isinstance(v, str) and v.startswith(FORMULA_START):
        return "'" + v
    return v


def summary_frames(rows):
    import pandas as pd
    names = []
    for r in rows:
        for n in r.get("order", []):
            if n not in names:
                names.append(n)
    base = ["文件", "部门名称", "预算年度", "规则年度"]
    tail = ["综合评分", "评分等级", "检查结果", "问题"]
    table = pd.DataFrame([{**{k: r[k] for k in base}, **{n: r["scores"].get(n) for n in names},
                           **{k: r[k] for k in tail}} for r in rows], columns=base + names + tail)
    scored = table[table["综合评分"].notna()].copy()
    scored["排名"] = scored["综合评分"].rank(method="min", ascending=False).astype(int)
    ranking = scored.sort_values(["排名", "部门名称"])[["排名", "部门名称", "文件", "规则年度", "综合评分", "评分等级", "检查结果"]]
    rates = []
    for n in names:
        vals = [r["rates"][n] for r in rows if r["rates"].get(n) is not None]
        rates.append({"指标": n, "平均得分率": (sum(vals) / len(vals)) if vals else None, "计分单位数": len(vals)})
    rates = pd.DataFrame(rates, columns=["指标", "平均得分率", "计分单位数"])
    grades = pd.DataFrame({"等级": ["优", "良", "中", "差"]})
    grades["单位数"] = [int((scored["评分等级"] == g).sum()) for g in grades["等级"]]
    bad = table[table["检查结果"].isin([UNREADABLE, FAILED])][["文件", "部门名称", "检查结果", "问题"]]
    bad = bad.rename(columns={"检查结果": "类别", "问题": "原因"})
    return {"汇总": table, "排名": ranking, "指标得分率": rates, "等级分布": grades, "异常": bad}


def write_summary(rows, output, csv=None, force=False):
    import pandas as pd
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font

    from .files import atomic_output, check_output
    output = check_output(output, ".xlsx", force, "汇总表")
    if csv:
        check_output(csv, ".csv", force, "CSV 文件")
    frames = summary_frames(rows)
    with atomic_output(output) as tmp:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
            for name, df in frames.items():
                df.to_excel(xw, sheet_name=name, index=False)
            wb = xw.book
            for ws in wb.worksheets:
                for row in ws.iter_rows(min_row=2):
                    for c in row:  # text such as a department named "=HYPERLINK(…)" must stay text, not a formula
                        if c.data_type == "f":
                            c.data_type = "s"
                for c in ws[1]:
                    c.font = Font(name="宋体", bold=True)
                for col in ws.columns:
                    head = str(col[0].value or "")
                    width = {"文件": 40, "问题": 80, "原因": 80, "部门名称": 28, "指标": 28}.get(head, max(10, len(head) * 2 + 2))
                    ws.column_dimensions[col[0].column_letter].width = width
                    fmt = "0.00%" if head == "平均得分率" else ("0.00" if head not in ("排名", "单位数", "计分单位数", "规则年度", "预算年度") else None)
                    if fmt:
                        for c in col[1:]:
                            if isinstance(c.value, float):
                                c.number_format = fmt
                ws.freeze_panes = "A2"
            ws = wb["等级分布"]
            chart = BarChart()
            chart.title, chart.y_axis.title, chart.x_axis.title = "评分等级分布", "单位数", "等级"
            chart.add_data(Reference(ws, min_col=2, min_row=1, max_row=5), titles_from_data=True)
            chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=5))
            chart.legend = None
            ws.add_chart(chart, "D2")
    written = [output]
    if csv:
        table = frames["汇总"].map(csv_safe)
        with atomic_output(csv) as tmp:
            table.to_csv(tmp, index=False, encoding="utf-8-sig")
        written.append(Path(csv))
    return written, frames


def run_collect(args, out) -> int:
    from .cli import EXIT_OK, EXIT_UNSCORABLE, EXIT_USAGE
    from .files import check_output
    check_output(args.output, ".xlsx", args.force, "汇总表")
    paths = expand_sources(args.sources, exclude=[args.output, args.csv])
    if not paths:
        out.write("没有找到工作簿：请检查目录或通配符（只汇总 .xlsm 和 .xlsx 文件）\n")
        return EXIT_USAGE
    bar = sys.stderr.isatty()

    def progress(done, total):
        if bar:
            filled = int(30 * done / total)
            sys.stderr.write(f"\r汇总中 [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}")
            sys.stderr.flush()

    t0 = time.perf_counter()
    rows = collect_rows(paths, args.jobs, progress)
    if bar:
        sys.stderr.write("\n")
    written, frames = write_summary(rows, args.output, args.csv, args.force)
    elapsed = time.perf_counter() - t0
    status = [r["检查结果"] for r in rows]
    ok = sum(s.startswith("通过") for s in status)
    out.write(f"共 {len(rows)} 个文件：通过 {ok}，未通过 {status.count(FAILED)}，无法读取 {status.count(UNREADABLE)}；"
              f"用时 {elapsed:.1f} 秒（{len(rows) / elapsed:.0f} 个/秒）\n")
    for p in written:
        out.write(f"已写入 {p}\n")
    if len(frames["异常"]):
        out.write(f"有 {len(frames['异常'])} 个文件列入“异常”表，请查看原因。\n")
    return EXIT_OK if ok == len(rows) else EXIT_UNSCORABLE
