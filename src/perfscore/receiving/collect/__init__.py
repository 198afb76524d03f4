"""``perfscore collect``: read, re-score and check many filled workbooks, and summarise them in one workbook.

The command (``run_collect``, below) uses these parts in turn, each a module of this package:

    sources.py   which files are read (folders searched recursively, patterns, named files; what is skipped)
                 and how they are named and linked in the summary (relative to the collected folder)
    rows.py      one workbook -> one row (a small dict): read_filled, the rules year's own indicator system,
                 check_filled; failures become rows with a reason in Chinese
    workers.py   rows for many files in worker processes, each file bounded in time and memory
    tables.py    the summary's sheets (汇总, 排名, 指标得分率, 等级分布, 异常), duplicates, the CSV
    lastyear.py  --compare: last time's summary beside this time's (sheet 与上次对比)
    names.py     the summary's sheet names (written by tables.py, read back by lastyear.py)
    problems.py  deductions grouped into problems (问题清单, 扣分明细); roster.py --roster (名单核对)

The originals are only ever opened for reading. The summary is one workbook, never over an existing file without
``--force``, never over an input or inside a collected folder (even with ``--force``), by receiving/summary.py
(XlsxWriter, constant memory; layout and print setup there); ``--csv`` adds the 汇总 rows as CSV. The outputs
are locked from the start (a second collect to the same file is refused), written to temporary files and put
in place together at the end (files.StagedOutputs): an error or Ctrl-C leaves none of them.

Exit code: 0 every file was read and passed; 1 some files are in 异常 (the batch still completed);
2 usage errors (raised as PerfscoreError, printed by the CLI).
"""
from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

from perfscore.errors import PerfscoreError
from perfscore.receiving.collect.lastyear import COMPARE, read_previous
from perfscore.receiving.collect.rows import FAILED, INTERNAL, KILLED, TIMEOUT, UNREADABLE, failed_row, use_system_files
from perfscore.receiving.collect.sources import (display_path, expand_sources, link_target, relative_name,
                                                 scrub_paths, source_base)
from perfscore.receiving.collect.tables import csv_cell, summary_tables, write_csv, write_summary  # noqa: F401  (csv_cell: tests)
from perfscore.receiving.collect.workers import collect_rows, process_file  # noqa: F401  (process_file: fuzz.py)
from perfscore.files import StagedOutputs, check_output
from perfscore.receiving.collect.roster import read_roster
from perfscore.render import soffice


def run_collect(args, out, write_memo=None) -> int:
    """The command: find the files, score them in worker processes, write the summary (and CSV), report.
    ``write_memo``: with ``--memo``, the function that drafts the memo from the tables (``perfscore.report.memo.
    write_memo``, passed in by the CLI: the report layer sits above this one)."""
    t0 = time.perf_counter()
    if args.jobs is not None and args.jobs < 1:
        raise PerfscoreError("--jobs 应为正整数（并行进程数）")
    compare = getattr(args, "compare", None)
    roster_path = getattr(args, "roster", None)
    memo = getattr(args, "memo", None)
    drop = getattr(args, "drop_threshold", None)
    drop = 0.5 if drop is None else drop
    if not (drop > 0 and drop < 1000):
        raise PerfscoreError("--drop-threshold 应为正数（分），例如 0.5：下降这么多分或更多的标为红色")
    if memo and write_memo is None:
        raise TypeError("run_collect: --memo needs write_memo (perfscore.report.memo.write_memo)")
    if getattr(args, "pdf", False) and not memo:
        raise PerfscoreError("--pdf 需要同时给出 --memo 汇总说明.docx：PDF 是汇总说明的另一份")
    inputs = [compare, roster_path]
    output = check_output(args.output, ".xlsx", args.force, "汇总工作簿", inputs=inputs)
    csv_path = check_output(args.csv, ".csv", args.force, "CSV 文件", inputs=inputs) if args.csv else None
    memo_path = check_output(memo, ".docx", args.force, "汇总说明", inputs=inputs) if memo else None
    pdf_path = (check_output(memo_path.with_suffix(".pdf"), ".pdf", args.force, "汇总说明的 PDF", inputs=inputs)
                if memo and getattr(args, "pdf", False) else None)
    if pdf_path is not None:
        soffice()   # before any file is read: say now that LibreOffice is missing
    paths = [p for p in (output, csv_path, memo_path, pdf_path) if p is not None]
    if len({str(Path(p).resolve()) for p in paths}) < len(paths):
        raise PerfscoreError("-o、--csv、--memo 给出的是同一个文件：请分别指定")
    roster = None
    if roster_path:
        roster = read_roster(roster_path)
    with StagedOutputs(args.force) as staged:
        for p in paths:
            staged.add(p)   # locked from now on: a second collect to the same file is refused at once
        return _collect(args, out, t0, output, csv_path, compare, staged, roster=roster, drop=drop,
                        memo_path=memo_path, pdf_path=pdf_path, write_memo=write_memo)


def _inside(path, folder) -> bool:
    import os
    a, b = os.path.normcase(os.path.realpath(path)), os.path.normcase(os.path.realpath(folder))
    return a == b or a.startswith(b.rstrip(os.sep) + os.sep)


def _refuse_outputs_matching(outputs, sources) -> None:
    """An output that a pattern being collected would match is refused even with --force: it would be read as a
    received workbook next time (and may be one now)."""
    import fnmatch
    import glob
    for out in outputs:
        for src in map(str, sources):
            if not glob.has_magic(src):
                continue
            parts = Path(src).parts
            k = next(i for i, part in enumerate(parts) if glob.has_magic(part))
            if _inside(out, Path(*parts[:k]) if k else Path(".")) and fnmatch.fnmatch(Path(out).name, parts[-1]):
                raise PerfscoreError(f"输出文件 {out} 与要汇总的“{src}”相符：下次汇总时它会被当作收到的文件（加 --force "
                                     f"也不行）；请用 -o/--csv 把输出写到汇总的文件夹之外，或换一个文件名")


def _refuse_outputs_among_inputs(outputs: dict, walked, skipped) -> None:
    """An output that is one of the collected files or lies in a collected folder is refused even with --force:
    it would replace a department's file, or be read as one next time. ``outputs``: path -> the label it was
    excluded under."""
    for out, label in outputs.items():
        if skipped.get(label):
            raise PerfscoreError(f"输出文件 {out} 是要汇总的文件之一：输入文件从不被覆盖（加 --force 也不行），"
                                 f"请用 -o/--csv 把输出写到汇总的文件夹之外")
        for folder in walked:
            if _inside(out, folder):
                raise PerfscoreError(f"输出文件 {out} 在要汇总的文件夹 {folder} 之中：下次汇总时它会被当作收到的文件，"
                                     f"覆盖时还可能替换其中的文件（加 --force 也不行）；请用 -o/--csv 把输出写到该文件夹之外")


def _collect(args, out, t0, output, csv_path, compare, staged, *, roster=None, drop=0.5, memo_path=None,
             pdf_path=None, write_memo=None) -> int:
    import datetime
    previous = read_previous(compare) if compare else None
    outputs = {output: "输出文件本身"} | ({csv_path: "输出文件本身（CSV）"} if csv_path else {})
    exclude = dict(outputs)
    if compare:
        exclude[Path(compare)] = "上次的汇总表（--compare）"
    if getattr(args, "roster", None) and Path(args.roster).suffix.lower() in (".xlsx", ".xlsm"):
        exclude[Path(args.roster)] = "名单（--roster）"
    use_system_files(getattr(args, "system", None) or [])
    _refuse_outputs_matching(outputs, args.sources)
    walked: list = []
    paths, odd, skipped = expand_sources(args.sources, exclude=exclude, walked=walked)
    _refuse_outputs_among_inputs(outputs, walked, skipped)
    if not paths and not odd:
        raise PerfscoreError("没有找到可汇总的工作簿（只有被跳过的文件：" + "、".join(skipped) + "）")
    progress = Progress(len(paths))
    try:
        rows = collect_rows(paths, args.jobs, progress=progress)
    except BaseException:  # Ctrl-C: the workers are gone, nothing is written
        progress.close()
        raise
    progress.close(then="正在写入汇总表……")
    files = list(paths) + [p for p, _ in odd]
    rows += [failed_row(UNREADABLE, why) for _, why in odd]
    base = source_base(args.sources)
    names = [display_path(relative_name(f, base)) + ("/" if f in dict(odd) and Path(f).is_dir() else "")
             for f in files]
    links = [link_target(f, output) if k < len(paths) else None for k, f in enumerate(files)]
    scrub_paths(files, names, rows, base)
    tables, facts = summary_tables(files, rows, names=names, links=links, previous=previous, roster=roster,
                                   drop=drop)
    folder = base.name or str(base)
    years = "、".join(map(str, facts["years"])) or "（无可计分的文件）"
    today = datetime.date.today()
    subtitle = (f"地区：{'、'.join(facts['regions']) or '—'}；规则年度：{years}；汇总日期：{today:%Y-%m-%d}；"
                f"文件夹：{folder}；共{len(rows)}个文件" + (f"；对比：{previous.name}" if previous else "")
                + (f"；名单：{roster.name}" if roster else ""))
    write_summary(tables, staged.temp(output), subtitle, staged=True)
    if csv_path:
        write_csv(tables[0], staged.temp(csv_path), staged=True)
    if memo_path:
        write_memo(tables, facts, staged.temp(memo_path), summary_name=output.name, folder=folder, date=today,
                   roster=roster, previous=previous, drop=drop,
                   pdf=staged.temp(pdf_path) if pdf_path else None)
    staged.commit()   # all in place together; Ctrl-C meanwhile is held until they are
    elapsed = time.perf_counter() - t0

    cats = Counter(r.get("category") for r in rows)
    passed = sum(1 for r in rows if r.get("scores") is not None and r.get("category") is None)
    read_ok = passed + cats.get(FAILED, 0)  # read and checked (a failed file's scores are not shown)
    warned = sum(1 for r in rows if r.get("status") == "通过（有警告）")
    unread = len(rows) - read_ok
    lines = [f"汇总 {len(rows)} 个文件，用时 {elapsed:.1f} 秒（{len(rows) / max(elapsed, 1e-9):.0f} 个/秒）",
             f"  读取成功 {read_ok}：通过 {passed}（其中有警告 {warned}），未通过 {cats.get(FAILED, 0)}",
             f"  无法读取 {unread}" + (f"（其中超时 {cats[TIMEOUT]}，进程终止 {cats[KILLED]}，内部错误 {cats[INTERNAL]}）"
                                      if cats[TIMEOUT] or cats[KILLED] or cats[INTERNAL] else "")]
    if facts["duplicates"]:
        lines.append(f"  部门名称重复 {facts['duplicates']} 个文件（其中重复副本 {facts['copies']} 个），"
                     f"参加排名 {facts['ranked']} 个")
    if skipped:
        lines.append("  跳过 " + "，".join(f"{k} {v} 个" for k, v in skipped.items()))
    bad = facts["problems"]
    if bad:
        lines.append(f"  {bad} 个文件列在“异常”表中，附原因")
    if previous is not None:
        c = facts["compare"]
        lines.append(f"  与上次汇总 {previous.name} 对比：两年都有 {c.get('both', 0)}，仅本次有 {c.get('only_now', 0)}，"
                     f"仅上次有 {c.get('only_before', 0)}"
                     + (f"；指标体系不同、分数并列未相减 {c['other_system']}" if c.get("other_system") else "")
                     + (f"；同名无法对应 {c['ambiguous']}" if c.get("ambiguous") else "")
                     + f"（见“{COMPARE}”表）")
    if roster is not None:
        f = facts["roster"]
        lines.append(f"  名单 {roster.name}：{f['listed']} 个单位，已提交 {f['submitted']}（其中重复提交 {f['twice']}），"
                     f"未提交 {f['missing']}；名单外 {f['unlisted']} 个文件（见“名单核对”表）")
    if previous is not None and facts["compare"].get("same_budget"):
        lines.append(f"  注意：上次与本次汇总的预算年度相同（{'、'.join(map(str, facts['compare']['same_budget']))}），"
                     f"请确认 --compare 给出的是上一年度的汇总表")
    for p in (output, csv_path, memo_path, pdf_path):
        if p:
            lines.append(f"已写入 {p}")
    out.write("\n".join(lines) + "\n")
    return 1 if bad else 0


class Progress:
    """A plain progress line on a terminal (stderr); nothing when stderr is not a terminal."""

    def __init__(self, total: int, stream=None, label: str = "汇总"):
        self.stream = stream if stream is not None else sys.stderr
        self.total, self.label, self.done = total, label, 0
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = self.last = time.monotonic()

    def update(self, n: int = 1, force: bool = False) -> None:
        self.done += n
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.1 and not force and self.done < self.total):
            return
        self.last = now
        frac = self.done / self.total if self.total else 1.0
        width = 30
        bar = "#" * int(frac * width) + "." * (width - int(frac * width))
        rate = self.done / max(now - self.start, 1e-9)
        eta = (self.total - self.done) / rate if rate > 0 else 0
        self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total} {frac:4.0%}  {rate:6.0f} 个/秒  剩余 {eta:4.0f} 秒 ")
        self.stream.flush()

    def close(self, then: str = "") -> None:
        if self.enabled:
            if self.done < self.total or self.last == self.start:
                self.update(0, force=True)
            self.stream.write("\n" + (then + "\n" if then else ""))
            self.stream.flush()
