"""Compare two generated workbooks after normalising what changes on every save, with readable diffs
(XlsxWriter's approach: part by part, XML element by element)."""
from __future__ import annotations

import difflib
import re
import zipfile
from xml.etree.ElementTree import canonicalize

_VOLATILE = {
    "docProps/core.xml": [re.compile(rb"<dcterms:(created|modified)[^>]*>[^<]*</dcterms:\1>")],
}


def normalised_parts(path) -> dict[str, bytes]:
    """Parts with the per-save timestamps removed and XML canonicalised (C14N 2.0), so that the same content
    compares equal whichever XML serializer openpyxl used (standard library or lxml)."""
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    for name, patterns in _VOLATILE.items():
        if name in parts:
            for p in patterns:
                parts[name] = p.sub(b"", parts[name])
    for name, data in parts.items():
        if name.endswith((".xml", ".rels")):
            parts[name] = canonicalize(data.decode("utf-8")).encode("utf-8")
    return parts


def _elements(xml: bytes) -> list[str]:
    text = xml.decode("utf-8", "replace")
    return [e if e.startswith("<") else "<" + e for e in re.sub(r">\s*<", ">\n<", text).split("\n")]


def diff_workbooks(expected, actual, limit: int = 60) -> list[str]:
    """Empty when equal after normalisation; otherwise readable lines saying what differs where."""
    a, b = normalised_parts(expected), normalised_parts(actual)
    out = []
    for name in sorted(set(a) | set(b)):
        if name not in b:
            out.append(f"缺少部件 {name}")
        elif name not in a:
            out.append(f"多出部件 {name}")
        elif a[name] != b[name]:
            if name.endswith((".xml", ".rels")):
                d = list(difflib.unified_diff(_elements(a[name]), _elements(b[name]), f"expected/{name}",
                                              f"actual/{name}", lineterm="", n=1))
                out += d[:limit]
                if len(d) > limit:
                    out.append(f"…（{name} 还有 {len(d) - limit} 行差异）")
            else:
                out.append(f"二进制部件 {name} 不同（{len(a[name])} 字节 / {len(b[name])} 字节）")
    return out
