"""Names shared by the workbook writer and the readers (kept here so reading a workbook imports no Excel code)."""
INPUT_SHEET, SCORE_SHEET, GOAL_SHEET, CONF_SHEET = "基础数据", "评分表", "自评表", "xlwings.conf"
HEADER_FIELDS = (("部门名称", "department"), ("预算年度", "year"), ("填报人", "preparer"), ("联系电话", "phone"))
YEAR_NAME = "规则年度"
REGION_NAME = "规则地区"
