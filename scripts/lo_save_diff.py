"""What a save changed in a workbook, part by part and by meaning: the package parts, sheets (order, title, state,
code name), defined names (targets compared with formula_key), cells (values, formulas by key, number formats,
locked), merged ranges, data validations, protection, row heights/hidden rows, column widths/hidden columns,
print setup, document properties (core, custom) and the VBA project module by module.

    .venv/bin/python scripts/lo_save_diff.py ORIGINAL SAVED [--cells N]

Written to find out exactly what LibreOffice changes when it saves a perfscore workbook (see
docs/libreoffice-save.md); prints findings, is not a test. Differences of spelling that mean the same (formula
text, attribute defaults written out) are counted, not listed.
"""
from __future__ import annotations

import argparse
import sys
import zipfile
from collections import Counter
from pathlib import Path

import openpyxl

from perfscore.receiving.formula_key import describe_difference, formula_key


def _parts(path):
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i.filename) for i in z.infolist()}


def _vba(parts):
    from perfscore.excel.vba.extract import read_modules
    data = parts.get("xl/vbaProject.bin")
    return None if data is None else read_modules(data)


def _is_formula(v):
    return isinstance(v, str) and v.startswith("=")


def _dv_key(dv, sheet):
    return (str(dv.sqref), dv.type, dv.operator if dv.type not in (None, "custom", "list") else None,
            formula_key(dv.formula1 or "", sheet) if dv.formula1 else None,
            formula_key(dv.formula2 or "", sheet) if dv.formula2 and dv.type not in (None, "custom", "list") else None,
            bool(dv.allow_blank), bool(dv.showErrorMessage), bool(dv.showInputMessage), dv.errorStyle or "stop",
            dv.error, dv.errorTitle, dv.prompt, dv.promptTitle, bool(dv.showDropDown))


def _colour(c):
    if c is None:
        return None
    rgb = c.rgb if c.type == "rgb" else f"{c.type}:{c.value}"
    return rgb[2:] if isinstance(rgb, str) and len(rgb) == 8 else rgb  # the alpha byte: Excel ignores it


def _style_pairs(x, y):
    """(attribute, original, saved) for the style attributes that show on screen or paper."""
    def f(c):
        fill = c.fill
        fg = _colour(fill.fgColor) if fill is not None and fill.fill_type not in (None, "none") else None
        b = c.border
        return {
            "font": (c.font.name, float(c.font.sz or 0), bool(c.font.b), bool(c.font.i), _colour(c.font.color)),
            "fill": fg,
            "alignment": (c.alignment.horizontal or "general", c.alignment.vertical or "bottom",
                          bool(c.alignment.wrap_text), int(c.alignment.indent or 0)),
            "border": tuple((getattr(b, side).style if getattr(b, side) is not None else None)
                            for side in ("left", "right", "top", "bottom")),
        }
    fx, fy = f(x), f(y)
    return [(k, fx[k], fy[k]) for k in fx]


def _protection(ws):
    p = ws.protection
    fields = ("sheet", "objects", "scenarios", "formatCells", "formatRows", "formatColumns", "insertColumns",
              "insertRows", "insertHyperlinks", "deleteColumns", "deleteRows", "selectLockedCells",
              "selectUnlockedCells", "sort", "autoFilter", "pivotTables")
    return {f: bool(getattr(p, f)) for f in fields} | {"password": p.password, "algorithm": p.algorithmName}


def diff(a_path, b_path, max_cells=10):
    out = []
    say = out.append
    pa, pb = _parts(a_path), _parts(b_path)
    say(f"parts only in the original: {sorted(set(pa) - set(pb))}")
    say(f"parts only in the saved file: {sorted(set(pb) - set(pa))}")
    same = sorted(n for n in set(pa) & set(pb) if pa[n] == pb[n])
    say(f"parts byte-identical: {same}")
    va, vb = _vba(pa), _vba(pb)
    if va is not None or vb is not None:
        if vb is None:
            say("VBA: dropped (no xl/vbaProject.bin)")
        elif va is None:
            say("VBA: added")
        else:
            say(f"VBA: xl/vbaProject.bin {'byte-identical' if pa['xl/vbaProject.bin'] == pb['xl/vbaProject.bin'] else 'rewritten'}; "
                f"modules {list(va)} -> {list(vb)}")
            for m in sorted(set(va) | set(vb)):
                if va.get(m) != vb.get(m):
                    x, y = (va.get(m) or "").split("\r\n"), (vb.get(m) or "").split("\r\n")
                    gone = [ln for ln in x if ln not in y]
                    new = [ln for ln in y if ln not in x]
                    say(f"  module {m}: lines {len(x)} -> {len(y)}; removed {gone[:3]}{'…' if len(gone) > 3 else ''} "
                        f"({len(gone)}); added {new[:3]} ({len(new)})")

    wa = openpyxl.load_workbook(a_path)
    wb = openpyxl.load_workbook(b_path)
    say(f"workbook code name: {wa.code_name!r} -> {wb.code_name!r}")
    say(f"sheets: {[(w.title, w.sheet_state) for w in wa.worksheets]} -> {[(w.title, w.sheet_state) for w in wb.worksheets]}")
    say(f"workbook protection: {wa.security and vars(wa.security)} -> {wb.security and vars(wb.security)}")
    say(f"calculation: fullCalcOnLoad {wa.calculation.fullCalcOnLoad} -> {wb.calculation.fullCalcOnLoad}, "
        f"calcMode {wa.calculation.calcMode} -> {wb.calculation.calcMode}")
    pa_core, pb_core = wa.properties, wb.properties
    for f in ("creator", "title", "subject", "description", "keywords", "category", "lastModifiedBy", "created",
              "modified", "revision", "language"):
        if getattr(pa_core, f) != getattr(pb_core, f):
            say(f"core property {f}: {getattr(pa_core, f)!r} -> {getattr(pb_core, f)!r}")
    ca = {p.name: (type(p).__name__, p.value) for p in wa.custom_doc_props.props}
    cb = {p.name: (type(p).__name__, p.value) for p in wb.custom_doc_props.props}
    say(f"custom properties: {ca} -> {cb}")

    def names(w):
        out = {}
        for n, d in w.defined_names.items():
            out[(n, None)] = d.attr_text
        for ws in w.worksheets:
            for n, d in ws.defined_names.items():
                out[(n, ws.title)] = d.attr_text
            if ws.print_area:
                out[("_xlnm.Print_Area", ws.title)] = ws.print_area
            if ws.print_title_rows or ws.print_title_cols:
                out[("_xlnm.Print_Titles", ws.title)] = f"{ws.print_title_rows}|{ws.print_title_cols}"
        return out
    na, nb = names(wa), names(wb)
    say(f"defined names: {len(na)} -> {len(nb)}; only in original {sorted(set(na) - set(nb))}; "
        f"only in saved {sorted(set(nb) - set(na))}")
    text = [k for k in na if k in nb and na[k] != nb[k]]
    meaning = [k for k in text if formula_key(na[k]) != formula_key(nb[k])]
    say(f"  targets spelt differently: {len(text)}, different by formula_key: {len(meaning)} {meaning[:5]}")
    if text:
        say(f"  e.g. {text[0]}: {na[text[0]]!r} -> {nb[text[0]]!r}")

    for ws in wa.worksheets:
        if ws.title not in wb.sheetnames:
            say(f"[{ws.title}] missing from the saved file")
            continue
        vs = wb[ws.title]
        say(f"[{ws.title}] code name {ws.sheet_properties.codeName!r} -> {vs.sheet_properties.codeName!r}; "
            f"dimensions {ws.dimensions} -> {vs.dimensions}")
        cells_a = {c.coordinate: c for row in ws.iter_rows() for c in row}
        cells_b = {c.coordinate: c for row in vs.iter_rows() for c in row}
        counts = Counter()
        shown = Counter()
        for coord in sorted(set(cells_a) | set(cells_b)):
            x, y = cells_a.get(coord), cells_b.get(coord)
            xv = x.value if x is not None else None
            yv = y.value if y is not None else None
            if _is_formula(xv) or _is_formula(yv):
                if xv != yv:
                    counts["formula text"] += 1
                    if not (_is_formula(xv) and _is_formula(yv)) or formula_key(xv, ws.title) != formula_key(yv, ws.title):
                        counts["formula MEANING"] += 1
                        if shown["f"] < max_cells:
                            shown["f"] += 1
                            say(f"  {coord}: formula {describe_difference(str(xv), str(yv), ws.title)}")
            elif xv != yv and not (xv in (None, "") and yv in (None, "")):
                counts["value"] += 1
                if shown["v"] < max_cells:
                    shown["v"] += 1
                    say(f"  {coord}: value {xv!r} -> {yv!r}")
            if x is not None and y is not None and xv is not None:
                if x.number_format != y.number_format:
                    counts["number format"] += 1
                    if shown["n"] < 3:
                        shown["n"] += 1
                        say(f"  {coord}: number format {x.number_format!r} -> {y.number_format!r}")
                for attr, fa, fb in _style_pairs(x, y):
                    if fa != fb:
                        counts[f"style {attr}"] += 1
                        if shown[attr] < 2:
                            shown[attr] += 1
                            say(f"  {coord}: {attr} {fa!r} -> {fb!r}")
                if x.protection.locked != y.protection.locked or x.protection.hidden != y.protection.hidden:
                    counts["locked/hidden"] += 1
                    if shown["l"] < 3:
                        shown["l"] += 1
                        say(f"  {coord}: protection {x.protection.locked, x.protection.hidden} -> "
                            f"{y.protection.locked, y.protection.hidden}")
        if counts:
            say(f"  cells: {dict(counts)}")
        ma = sorted(str(r) for r in ws.merged_cells.ranges)
        mb = sorted(str(r) for r in vs.merged_cells.ranges)
        if ma != mb:
            say(f"  merged ranges: only original {sorted(set(ma) - set(mb))}, only saved {sorted(set(mb) - set(ma))}")
        da = Counter(_dv_key(d, ws.title) for d in ws.data_validations.dataValidation)
        db = Counter(_dv_key(d, ws.title) for d in vs.data_validations.dataValidation)
        if da != db:
            say(f"  data validations {sum(da.values())} -> {sum(db.values())}: only original "
                f"{list((da - db).elements())[:2]}; only saved {list((db - da).elements())[:2]}")
        if _protection(ws) != _protection(vs):
            say(f"  protection: {_protection(ws)} -> {_protection(vs)}")
        rows = Counter()
        default_a, default_b = ws.sheet_format.defaultRowHeight, vs.sheet_format.defaultRowHeight
        for r in range(1, max(ws.max_row, vs.max_row) + 1):
            a, b = ws.row_dimensions[r], vs.row_dimensions[r]
            if bool(a.hidden) != bool(b.hidden):
                rows["hidden changed"] += 1
                say(f"  row {r}: hidden {a.hidden} -> {b.hidden}")
            ha, hb = a.height, b.height
            if ha == hb:
                continue
            if ha is None and hb == default_a:
                rows[f"no height -> {hb} (the default) written out"] += 1
            elif ha is not None and hb is not None and ha - 0.75 < hb <= ha and abs(hb / 0.75 - round(hb / 0.75)) < 1e-9:
                rows["height floored to a whole pixel (0.75 pt)"] += 1
            else:
                rows["height otherwise changed"] += 1
                say(f"  row {r}: height {ha} (custom {a.customHeight}) -> {hb} (custom {b.customHeight})")
        if rows:
            say(f"  rows: {dict(rows)}")

        def columns(w):
            out = {}
            for key, d in w.column_dimensions.items():
                lo = d.min or openpyxl.utils.column_index_from_string(key)
                for i in range(lo, (d.max or lo) + 1):
                    out[i] = (d.width if d.customWidth else None, bool(d.hidden))
            return out
        cols_a, cols_b = columns(ws), columns(vs)
        for i in sorted(set(cols_a) | set(cols_b)):
            x, y = cols_a.get(i, (None, False)), cols_b.get(i, (None, False))
            if x != y:
                say(f"  column {openpyxl.utils.get_column_letter(i)}: (custom width, hidden) {x} -> {y}")
        for what, f in (("page setup", lambda w: (w.page_setup.orientation, w.page_setup.paperSize,
                                                  w.page_setup.fitToWidth, w.page_setup.fitToHeight,
                                                  w.sheet_properties.pageSetUpPr.fitToPage
                                                  if w.sheet_properties.pageSetUpPr else None)),
                        ("margins", lambda w: vars(w.page_margins)),
                        ("header/footer", lambda w: (w.oddHeader.center.text, w.oddFooter.center.text,
                                                     w.oddFooter.left.text, w.oddFooter.right.text)),
                        ("freeze panes", lambda w: w.freeze_panes),
                        ("tab colour", lambda w: w.sheet_properties.tabColor and w.sheet_properties.tabColor.rgb)):
            if f(ws) != f(vs):
                say(f"  {what}: {f(ws)} -> {f(vs)}")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("original", type=Path)
    ap.add_argument("saved", type=Path)
    ap.add_argument("--cells", type=int, default=10, help="list at most this many differing cells per sheet")
    args = ap.parse_args(argv)
    print("\n".join(diff(args.original, args.saved, args.cells)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
