"""The receiving side: reading filled workbooks safely, checking, freezing, collecting, the annual refresh."""
