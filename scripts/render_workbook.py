"""Render workbooks to PDF and PNG pages with LibreOffice (CJK fonts aliased as in src/perfscore/render/fonts.conf).

    .venv/bin/python scripts/render_workbook.py workbook/*.xlsm -o out/render

Prints each PDF with its page count and the PNG files written. No Python runs inside the conversion:
LibreOffice shows the values cached in the workbook.
"""
import argparse
import sys
import time

from perfscore.errors import PerfscoreError
from perfscore.render import pdf_fonts, pdf_pages, to_pdf, to_png


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("workbooks", nargs="+")
    ap.add_argument("-o", "--outdir", default="out/render")
    ap.add_argument("--dpi", type=int, default=80)
    a = ap.parse_args()
    try:
        t = time.perf_counter()
        pdfs = to_pdf(a.workbooks, a.outdir)
        print(f"LibreOffice: {len(pdfs)} PDF in {time.perf_counter() - t:.1f} s")
        for pdf in pdfs:
            pages = pdf_pages(pdf)
            pngs = to_png(pdf, a.outdir, a.dpi)
            orient = {("landscape" if p["width"] > p["height"] else "portrait") for p in pages}
            print(f"{pdf}: {len(pages)} pages ({'/'.join(sorted(orient))}), fonts: {', '.join(sorted(set(pdf_fonts(pdf))))}")
            for p in pngs:
                print(f"  {p}")
    except PerfscoreError as exc:
        print(f"render: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
