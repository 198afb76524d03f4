"""The parts the workbook is built from (``workbook.py`` puts them together, in this order).

- ``style.py``      fonts, fills, borders and the cell helpers every sheet uses
- ``formulas.py``   how a formula cell is written: ``PythonFormulas`` (PERF_* calls, the .xlsm) or ``NativeFormulas``
                    (the spreadsheet's own functions, the .xlsx)
- ``context.py``    ``Context``: what the sheets share while one workbook is built (system, case, scored result,
                    formula strategy, the cells and defined names written so far)
- one module per sheet, each with ``write(ctx, ws)``:
  ``guide.py`` 填报说明, ``inputs.py`` 基础数据, ``scores.py`` 评分表, ``goal_table.py`` 自评表, ``deductions.py`` 扣分说明

Later sheets read what earlier ones wrote (the input names defined on 基础数据, the 评分表 rows, cached values), so
the order matters.
"""
