"""Reports: the terminal table, the 自评报告 draft (.docx) and rendering through LibreOffice."""
