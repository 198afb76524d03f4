"""LibreOffice (UNO) scripts for the system Python: run as files, never imported by the package (see lo_uno.py)."""
