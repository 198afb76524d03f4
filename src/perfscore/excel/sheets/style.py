"""The workbook's look: fonts, fills, borders, and the helpers every sheet writes its cells with.

Light blue (``INPUT_FILL``) marks what the department fills in, grey (``HEAD_FILL``) the headers; everything else is
locked. Row heights are computed here (``fit_row``) because LibreOffice and WPS do not grow rows for wrapped text.
"""
from __future__ import annotations

from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side

from perfscore.files import xml_text
from perfscore.text import width

SONG, FANG, HEI = "宋体", "仿宋", "黑体"
THIN = Side(style="thin", color="000000")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
INPUT_FILL = PatternFill("solid", fgColor="DDEBF7")  # light blue: cells the department fills in
HEAD_FILL = PatternFill("solid", fgColor="F2F2F2")
WRAP = Alignment(wrap_text=True, vertical="center")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
# a rate shows as a percentage whichever way it was typed: 0.9515 and 95.15 both read “95.15%” (the engine and the
# formulas read a bare number above 1 as a percentage)
NUMFMT = {"amount": "#,##0.00", "count": "0", "rate": '[<=1]0.00%;0.00"%"', "judgement": "0.00", "score": "0.00"}


def font(size=10, bold=False, name=SONG):
    """宋体 10 pt unless told otherwise."""
    return Font(name=name, size=size, bold=bold)


def title(ws, text, ncols, row=1, size=16):
    """A sheet's (or a section's) title: bold, centred across the first ``ncols`` columns."""
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=ncols)
    c = ws.cell(row, 1, xml_text(text))
    c.font = font(size, True)
    c.alignment = CENTER
    ws.row_dimensions[row].height = 30


def cell(ws, row, col, value=None, *, bold=False, center=False, fill=None, fmt=None, border=True, size=10,
         name=SONG, locked=True):
    """One cell with the house style: a border, wrapped text, locked unless it is for the officer to fill. Text
    loses the characters XML cannot hold (a department name read from a received file may carry \\x01)."""
    c = ws.cell(row, col, xml_text(value))
    c.font = font(size, bold, name)
    c.alignment = CENTER if center else WRAP
    if border:
        c.border = BORDER
    if fill:
        c.fill = fill
    if fmt:
        c.number_format = fmt
    c.protection = Protection(locked=locked)
    return c


def _text_width(text) -> int:
    return width(str(text))


def fit_row(ws, row, cells, size=10, minimum=18):
    """Set a row height that shows ``cells`` = [(text, column width), …] wrapped in full (LibreOffice and
    WPS do not grow rows for wrapped text on load)."""
    lines = 1
    for text, col_width in cells:
        if text is None:
            continue
        per_line = max(int(col_width * 1.1 * 11 / size) - 2, 4)  # column widths are in 11-pt digit widths
        n = sum(max(1, -(-_text_width(part) // per_line)) for part in str(text).split("\n"))
        lines = max(lines, n)
    ws.row_dimensions[row].height = max(minimum, lines * (size * 1.35 + 1) + 6)


def box(ws, r1, c1, r2, c2):
    """A thin border round every cell of a block (a merged block shows its border only this way)."""
    for r in range(r1, r2 + 1):
        for c in range(c1, c2 + 1):
            ws.cell(r, c).border = BORDER


def merge(ws, r1, c1, r2, c2, value=None, **kw):
    """A ``cell`` merged over a block, boxed."""
    c = cell(ws, r1, c1, value, **kw)
    if (r1, c1) != (r2, c2):
        ws.merge_cells(start_row=r1, start_column=c1, end_row=r2, end_column=c2)
        box(ws, r1, c1, r2, c2)
    return c


def print_setup(ws, title_rows, landscape=True):
    """A4, one page wide, centred, the header rows on every page, “第 n 页 共 m 页” in the footer."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    # the footer (“第 N 页 共 M 页”) sits in the bottom margin: 0.3 in from the edge, the text 0.7 in, so the line
    # prints whole (it was cut with a 0.6 in margin and a 0.5 in footer)
    ws.page_margins.top, ws.page_margins.bottom = 0.6, 0.7
    ws.page_margins.header, ws.page_margins.footer = 0.3, 0.3
    if title_rows:
        ws.print_title_rows = title_rows
    ws.oddFooter.center.text = "第 &P 页 共 &N 页"
    ws.oddFooter.center.font = SONG


def protect(ws, password):
    """Lock the sheet (only unlocked cells can be edited; rows and columns can still be resized)."""
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    if password:
        ws.protection.password = password
