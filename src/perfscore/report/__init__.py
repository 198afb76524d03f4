"""Reports: the terminal table, the 自评报告 draft (.docx) and the collect memo (汇总说明)."""
