"""The summary workbook's sheet names and marks: written by tables.py, read back by lastyear.py (``--compare``
reads an earlier summary) and quoted by the memo. A module of their own so that the writer and the reader of a
summary need not import each other."""
from __future__ import annotations

SUMMARY, RANKING, RATES, GRADES, PROBLEMS = "汇总", "排名", "指标得分率", "等级分布", "异常"
SCORES, ISSUES, DETAIL = "各指标得分", "问题清单", "扣分明细"
DUPLICATE = "部门重复"
UNRANKED = "未排名"
