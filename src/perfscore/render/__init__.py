"""Render workbooks to PDF (LibreOffice headless) and PDF pages to PNG (pdftoppm), with CJK font aliases.

Needs Debian's libreoffice-calc (libreoffice-writer for the report), poppler-utils, fonts-noto-cjk and fonts-arphic-ukai; every function raises
PerfscoreError with the install command when a part is missing. LibreOffice shows the cached values stored in
the workbook (it does not recalculate OOXML by default), so no Python runs inside the conversion.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from perfscore.errors import PerfscoreError

FONTS_CONF = Path(__file__).with_name("fonts.conf")
INSTALL_HINT = ("apt-get install libreoffice-calc libreoffice-writer poppler-utils fonts-noto-cjk fonts-arphic-ukai "
                "fonts-lxgw-wenkai fonts-arphic-gkai00mp")

# The report draft's official fonts (GB/T 9704-2012, as Chinese office PCs name them) and the free fonts of the same
# style that fonts.conf puts in their place where they are missing: (family, PostScript name prefix in a PDF, package).
REPORT_SUBSTITUTES = {
    "仿宋_GB2312": ("LXGW WenKai", "LXGWWenKai", "fonts-lxgw-wenkai"),
    "楷体_GB2312": ("AR PL KaitiM GB", "GBZenKai", "fonts-arphic-gkai00mp"),
    "方正小标宋简体": ("Noto Serif CJK SC Bold", "NotoSerifCJK", "fonts-noto-cjk"),
    "黑体": ("Noto Sans CJK SC", "NotoSansCJK", "fonts-noto-cjk"),
    "宋体": ("Noto Serif CJK SC", "NotoSerifCJK", "fonts-noto-cjk"),
}


def _fc(*args) -> str:
    exe = shutil.which(args[0])
    if not exe:
        return ""
    try:
        return subprocess.run([exe, *args[1:]], capture_output=True, text=True, timeout=30, env=_env()).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


def font_substitutes(names=tuple(REPORT_SUBSTITUTES)) -> list[tuple[str, str]]:
    """[(official font, the font this machine prints it with)] for each official font that is not installed.
    A stand-in that is not installed either is named as what fontconfig picks instead."""
    out = []
    for name in names:
        if _fc("fc-list", f":family={name}", "family").strip():
            continue   # installed: LibreOffice prints with it
        fam, _, style = _fc("fc-match", "-f", "%{family[0]}|%{style[0]}", name).partition("|")
        picked = (fam + (" " + style if style and style not in ("Regular", "Book", "Medium") else "")).strip() or "（未知）"
        out.append((name, picked))
    return out



def _env():
    env = dict(os.environ)
    env["FONTCONFIG_FILE"] = str(FONTS_CONF)
    env.pop("PYTHONPATH", None)
    return env


def soffice() -> str:
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if not exe:
        raise PerfscoreError(f"没有找到 LibreOffice，无法生成 PDF：请安装（{INSTALL_HINT}）")
    return exe


def to_pdf(paths, outdir, timeout: float = 180) -> list[Path]:
    """Convert workbooks to PDF in one LibreOffice call (about 0.3 s a file after start-up)."""
    paths = [Path(p) for p in paths]
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="perfscore-lo-") as profile:
        cmd = [soffice(), f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
               "--convert-to", "pdf", "--outdir", str(outdir), *map(str, paths)]
        try:
            run = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_env())
        except subprocess.TimeoutExpired:
            raise PerfscoreError(f"LibreOffice 转换超时（{timeout:.0f} 秒）") from None
    out = [outdir / (p.stem + ".pdf") for p in paths]
    missing = [p for p in out if not p.exists()]
    if run.returncode != 0 or missing:
        raise PerfscoreError(f"LibreOffice 未能生成 PDF：{(run.stderr or run.stdout).strip()[:300]}")
    return out


def to_png(pdf, outdir, dpi: int = 80) -> list[Path]:
    exe = shutil.which("pdftoppm")
    if not exe:
        raise PerfscoreError(f"没有找到 pdftoppm，无法生成图片：请安装（{INSTALL_HINT}）")
    pdf, outdir = Path(pdf), Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    prefix = outdir / pdf.stem
    subprocess.run([exe, "-r", str(dpi), "-png", str(pdf), str(prefix)], check=True, capture_output=True, timeout=120)
    return sorted(outdir.glob(pdf.stem + "-*.png"))


def pdf_fonts(pdf) -> list[str]:
    """Font names embedded in a PDF (pdffonts), to check that no CJK text fell back to boxes."""
    exe = shutil.which("pdffonts")
    if not exe:
        raise PerfscoreError(f"没有找到 pdffonts：请安装（{INSTALL_HINT}）")
    lines = subprocess.run([exe, str(pdf)], capture_output=True, text=True, timeout=60).stdout.splitlines()[2:]
    return [ln.split()[0] for ln in lines if ln.strip()]


def pdf_pages(pdf) -> list[dict]:
    """Page sizes (points) from pdfinfo: [{'width':…, 'height':…}, …]."""
    exe = shutil.which("pdfinfo")
    text = subprocess.run([exe, "-f", "1", "-l", "999", str(pdf)], capture_output=True, text=True, timeout=60).stdout
    pages = []
    for line in text.splitlines():
        if line.startswith("Page") and "size:" in line:
            parts = line.split("size:")[1].split()
            pages.append({"width": float(parts[0]), "height": float(parts[2])})
    return pages
