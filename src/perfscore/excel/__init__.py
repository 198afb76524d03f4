"""The Excel side: the workbook writer (both engines), native formulas, cached values, xlwings wrappers and
configuration, the VBA project built from source, and LibreOffice (UNO) scripts."""
