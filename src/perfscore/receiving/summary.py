"""Writing the collect summary: XlsxWriter in constant-memory mode (each row goes to disk as soon as the next
one starts, so 10,000 or 100,000 departments cost the same memory), laid out to be read on screen and printed.

Every sheet has a title row and a subtitle row (region, rules year, date of collection, where the files came
from), a frozen header, column widths measured from the content, number formats by column kind, and a print
setup: A4 landscape, one page wide, the title and header rows repeated on every page, footer
“第 N 页 共 M 页”. The 等级分布 chart is a chart sheet of its own (等级分布图): one printed page, full size.

Text read from files is always written with ``write_string`` (never ``write``, which would turn "=..." into a
formula); the workbook options switch XlsxWriter's string-to-formula/number/URL conversions off as well.
Hyperlinks are relative (to the summary's own folder), so no absolute path goes into the file.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from perfscore.text import tight
from perfscore.errors import PerfscoreError

# column kinds
TEXT, WRAP, SCORE, PCT, INT, NUMBER, LINK = "text", "wrap", "score", "pct", "int", "number", "link"
FOOTER = "&C第 &P 页 共 &N 页"
# Printing on A4 landscape with 0.4-inch side margins: 784 points across. A column ``w`` characters wide takes
# 5.25 w + 3.75 points in Excel (7 pixels a character of Calibri 11, 5 pixels of padding), but up to 7 w in
# LibreOffice where Calibri (or its metric twin Carlito) is not installed and a wider font stands in (measured:
# 6.3 to 7.1 points a character). Tables fitted to the page width are laid out for the wider case, so that the
# fit keeps the 10-point body at 8.5 points or more in both (a narrower table is simply not shrunk in Excel).
PRINT_WIDTH_PT = 784.0
POINTS_PER_CHAR = 7.0
MIN_SCALE = 0.88
MAX_URLS = 65_000           # Excel's limit is 65,530 hyperlinks per sheet
MAX_ROWS = 1_048_576        # rows in an Excel sheet
_CAPS = {TEXT: 30, WRAP: 50, LINK: 36, SCORE: 12, PCT: 12, INT: 10, NUMBER: 12}


@dataclass
class Column:
    name: str
    kind: str = TEXT
    cap: int | None = None      # widest the column may be (characters)


@dataclass
class Table:
    """One sheet: ``rows`` are lists of plain values (str, int, float, None), one per column; ``links`` (same
    length as rows, or None) holds, per row, a relative hyperlink target for the LINK column, or None."""
    name: str
    title: str
    columns: list[Column]
    rows: list
    links: list | None = None
    freeze_cols: int = 0
    chart: dict | None = None   # {"sheet": name, "categories": col, "values": col, "title": str, "y": str, "x": str}
    notes: list[str] = field(default_factory=list)  # lines under the table (before any chart)
    # printing: only the first ``print_cols`` columns go on paper (the rest are for the screen and filtering);
    # ``repeat_cols`` columns are repeated on every page of a table printed at full size across several pages
    # (no fit to the page width), broken before the columns in ``breaks``
    print_cols: int | None = None
    repeat_cols: int = 0
    breaks: list[int] = field(default_factory=list)
    # conditional formats over the data rows: {"cols": (first, last), "style": "bad"|"warn", and either
    # "formula": '=$D{row}="差"' ({row}: the first data row, as Excel numbers it) or "below": x or "at_most": x}
    highlights: list[dict] = field(default_factory=list)
    empty: str | None = None    # written in the first data row when there are no rows (“无”)


def text_width(v) -> int:
    """Display width in character cells: CJK and full-width characters count two."""
    if v is None:
        return 0
    if isinstance(v, float):
        return len(f"{v:.2f}")
    s = str(v)
    if s.isascii():
        return len(s)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in s)


def _widths(t: Table) -> list[float]:
    out = []
    rows = t.rows
    # numbers have a bounded width: a sample of rows is enough; text is measured in every row (up to 20,000)
    sample = rows if len(rows) <= 2_000 else rows[:1_000] + rows[-1_000:]
    text_rows = rows if len(rows) <= 20_000 else rows[:10_000] + rows[-10_000:]
    for j, c in enumerate(t.columns):
        cap = c.cap or _CAPS[c.kind]
        numeric = c.kind in (SCORE, PCT, INT, NUMBER)
        content = max((text_width(r[j]) for r in (sample if numeric else text_rows)), default=0)
        if c.kind == PCT:
            content = max(content, 7) if content else 0
        head = text_width(c.name)
        if c.kind in (SCORE, PCT, INT, NUMBER):  # numbers: the header wraps (up to five lines) over a narrow column
            need = max(content + 1.5, math.ceil(head / 5) + 1.5 if head > 6 else head + 1.5)
        else:
            need = max(content, head) + 1.5
        out.append(float(max(5.5, min(cap, need))))
    return out


def column_points(widths) -> float:
    """Printed width (points, at 100 %) of columns of these widths (characters)."""
    return sum(POINTS_PER_CHAR * w + 3.75 for w in widths)


def _fit_for_print(t: Table, widths: list[float]) -> None:
    """Narrow the wrapped (then the widest text) columns of a table printed one page wide until the fit to the
    page width keeps the text at ``MIN_SCALE`` of its size or more. Wrapped text takes more lines instead."""
    if t.repeat_cols:
        return
    n = t.print_cols or len(t.columns)
    limit = PRINT_WIDTH_PT / MIN_SCALE
    for kinds, floor in (((WRAP,), 16.0), ((WRAP, TEXT, LINK), 12.0), ((WRAP, TEXT, LINK), 8.0)):
        while column_points(widths[:n]) > limit:
            cand = [j for j in range(n) if t.columns[j].kind in kinds and widths[j] > floor]
            if not cand:
                break
            j = max(cand, key=lambda k: widths[k])
            widths[j] = max(floor, widths[j] - 1)


def _lines(v, width: float) -> int:
    """Lines a wrapped text takes in a column ``width`` wide. A CJK character of the 10-point body font is about
    1.7 digit widths of the default font (measured on LibreOffice's rendering), not 2."""
    if not isinstance(v, str) or not v:
        return 1
    return sum(max(1, math.ceil(sum(1.7 if ord(ch) > 0x2E7F else 1 for ch in part) / width))
               for part in v.split("\n"))


def _header_lines(t: Table, widths) -> int:
    return max(math.ceil(text_width(c.name) / max(1.0, w - 1)) for c, w in zip(t.columns, widths))


def write_workbook(path, tables: list[Table], subtitle: str) -> None:
    """Write ``tables`` (one sheet each, in order) to ``path`` (the caller makes it atomic)."""
    import xlsxwriter

    for t in tables:
        if len(t.rows) + len(t.notes) + 10 > MAX_ROWS:
            raise PerfscoreError(f"“{t.name}”表有 {len(t.rows)} 行，超过 Excel 工作表的行数上限（{MAX_ROWS} 行）："
                                 f"请分批汇总（例如按子文件夹）")
    wb = xlsxwriter.Workbook(str(path), {
        "constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
        "strings_to_urls": False, "default_date_format": "yyyy-mm-dd"})
    base = {"font_name": "宋体", "font_size": 10, "valign": "top"}
    f = {
        "title": wb.add_format({**base, "bold": True, "font_size": 14, "font_name": "黑体", "valign": "vcenter",
                                "text_wrap": True}),
        "sub": wb.add_format({**base, "font_color": "#404040", "text_wrap": True, "valign": "vcenter"}),
        "head": wb.add_format({**base, "bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                               "align": "center", "valign": "vcenter"}),
        TEXT: wb.add_format({**base, "border": 1}),
        WRAP: wb.add_format({**base, "border": 1, "text_wrap": True}),
        SCORE: wb.add_format({**base, "border": 1, "num_format": "0.00"}),
        PCT: wb.add_format({**base, "border": 1, "num_format": "0.00%"}),
        INT: wb.add_format({**base, "border": 1, "num_format": "0", "align": "center"}),
        NUMBER: wb.add_format({**base, "border": 1, "num_format": "General"}),
        LINK: wb.add_format({**base, "border": 1, "font_color": "#0563C1", "underline": 1}),
        "note": wb.add_format({**base, "font_color": "#404040"}),
        "empty": wb.add_format({**base, "border": 1, "align": "center"}),
        # conditional formats: only what changes (fill and font colour)
        "bad": wb.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"}),
        "warn": wb.add_format({"bg_color": "#FFEB9C", "font_color": "#9C5700"}),
    }
    for t in tables:
        _sheet(wb, f, t, subtitle)
    wb.close()


def _sheet(wb, f, t: Table, subtitle: str) -> None:
    ws = wb.add_worksheet(t.name)
    ncol = len(t.columns)
    widths = _widths(t)
    _fit_for_print(t, widths)
    for j, w in enumerate(widths):
        ws.set_column(j, j, w)
    # short tables: the title rows span extra (empty, default-width) columns rather than wrap into a tower
    span, total_w = ncol, sum(widths)
    while total_w < 90:
        span, total_w = span + 1, total_w + 8.43
    title_lines = max(1, math.ceil(text_width(t.title) * 1.4 / total_w))  # 14 pt title: wider characters
    sub_lines = max(1, math.ceil(text_width(subtitle) / total_w))
    ws.set_row(0, 22 * title_lines)
    ws.merge_range(0, 0, 0, span - 1, t.title, f["title"])
    ws.set_row(1, 14 * sub_lines + 4)
    ws.merge_range(1, 0, 1, span - 1, subtitle, f["sub"])
    ws.set_row(2, 14 * _header_lines(t, widths) + 6)
    for j, c in enumerate(t.columns):
        ws.write_string(2, j, c.name, f["head"])
    kinds = [c.kind for c in t.columns]
    fmts = [f[k] for k in kinds]
    links = t.links
    urls = 0
    wrapped = [(j, max(1.0, w - 1)) for j, (k, w) in enumerate(zip(kinds, widths)) if k == WRAP]
    r = 3
    for i, row in enumerate(t.rows):
        if wrapped:  # neither Excel nor LibreOffice fits row heights on opening: give wrapped rows their lines
            lines = max(_lines(row[j], w) for j, w in wrapped)
            if lines > 1:
                ws.set_row(r, min(409, 12.75 * lines + 3))
        for j, v in enumerate(row):
            if v is None:
                ws.write_blank(r, j, None, fmts[j])
            elif isinstance(v, str):
                if kinds[j] == LINK and links is not None and links[i] and urls < MAX_URLS:
                    ws.write_url(r, j, "external:" + links[i], fmts[j], string=v)
                    urls += 1
                else:
                    ws.write_string(r, j, v, f[TEXT] if kinds[j] == LINK else fmts[j])
            elif isinstance(v, bool):
                ws.write_string(r, j, "是" if v else "否", fmts[j])
            else:
                ws.write_number(r, j, v, fmts[j])
        r += 1
    if not t.rows and t.empty:
        ws.merge_range(r, 0, r, ncol - 1, t.empty, f["empty"]) if ncol > 1 else ws.write_string(r, 0, t.empty, f["empty"])
        r += 1
    last = max(r - 1, 2)
    for line in t.notes:
        r += 1
        ws.write_string(r, 0, line, f["note"])
    ws.freeze_panes(3, t.freeze_cols)
    if t.rows:
        ws.autofilter(2, 0, last, ncol - 1)
        for h in t.highlights:
            first, lastcol = h["cols"]
            if "formula" in h:
                rule = {"type": "formula", "criteria": h["formula"].format(row=4)}
            elif "below" in h:
                rule = {"type": "cell", "criteria": "<", "value": h["below"]}
            else:
                rule = {"type": "cell", "criteria": "<=", "value": h["at_most"]}
            ws.conditional_format(3, first, last, lastcol, {**rule, "format": f[h["style"]]})
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.set_footer(FOOTER)
    ws.center_horizontally()
    if t.repeat_cols:
        # at full size, across as many pages as it takes, the first columns and the header row on every page; the
        # title rows would be cut where the pages split, so the title and subtitle print in the page header
        ws.set_margins(left=0.4, right=0.4, top=0.85, bottom=0.6)
        ws.set_header(f'&L&"黑体,Bold"&12{_header_text(t.title)}\n&"宋体,Regular"&9{_header_text(subtitle)}',
                      {"margin": 0.25})
        ws.print_area(2, 0, r, ncol - 1)
        ws.repeat_rows(2, 2)
        ws.repeat_columns(0, t.repeat_cols - 1)
        ws.print_across()
        if t.breaks:
            ws.set_v_pagebreaks(t.breaks)
    else:
        ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.6)
        ws.repeat_rows(0, 2)
        ws.print_area(0, 0, r, (t.print_cols or ncol) - 1)
        ws.fit_to_pages(1, 0)
    if t.chart:  # a chart sheet of its own: one printed page, in Excel and in LibreOffice alike
        n = len(t.rows)
        c = t.chart
        ch = wb.add_chart({"type": "column"})
        ch.add_series({"name": t.columns[c["values"]].name,
                       "categories": [t.name, 3, c["categories"], 2 + n, c["categories"]],
                       "values": [t.name, 3, c["values"], 2 + n, c["values"]],
                       "data_labels": {"value": True, "font": {"size": 14}}, "fill": {"color": "#4472C4"}})
        _east_asian_fonts(ch)
        ch.set_title({"name": tight(c["title"] + "\n" + subtitle), "name_font": {"name": "黑体", "size": 16}})
        ch.set_x_axis({"name": c["x"], "name_font": {"name": "宋体", "size": 14},
                       "num_font": {"name": "宋体", "size": 14}})
        ch.set_y_axis({"name": c["y"], "name_font": {"name": "宋体", "size": 14},
                       "num_font": {"name": "宋体", "size": 12}, "major_gridlines": {"visible": True}})
        ch.set_legend({"none": True})
        cs = wb.add_chartsheet(c["sheet"])
        cs.set_chart(ch)
        cs.set_landscape()
        cs.set_paper(9)
        cs.set_footer(FOOTER)


def _header_text(text: str, limit: int = 100) -> str:
    """Text for a page header: “&” doubled (a code there), cut so that the whole header stays within Excel's
    255 characters."""
    text = text if len(text) <= limit else text[:limit - 1] + "…"
    return text.replace("&", "&&")


def _east_asian_fonts(chart) -> None:
    """XlsxWriter names a chart font for Latin text only (<a:latin>): Chinese text then takes another font, and
    LibreOffice sets gaps where the two meet (“规则年度： 2020 ；”). The same font is named for East Asian and
    complex scripts too."""
    def fonts(attributes):
        for tag in ("a:latin", "a:ea", "a:cs"):
            chart._xml_empty_tag(tag, attributes)
    chart._write_a_latin = fonts
