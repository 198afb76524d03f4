"""Reading a case or indicator-system TOML file: bounded in size, regular files only, UTF-8 with or without a BOM
(Notepad's default), and every syntax error in Chinese with its line and column."""
from __future__ import annotations

import os
import re
import stat
import tomllib
from pathlib import Path
from perfscore.files import missing_text

MAX_TOML_BYTES = 2 * 1024 * 1024  # the 2020 indicator system is 40 KB, the reference case 17 KB

_MESSAGES = [  # tomllib's messages (Python 3.11–3.13) -> Chinese; \1 keeps the key or character they name
    (r"Invalid statement", "无效的语句（每行应为“键 = 值”或 [表名]）"),
    (r"Expected newline or end of document after a statement", "一条语句之后应换行（同一行有多余内容）"),
    (r"Expected '\]' at the end of a table declaration", "表头 [...] 缺少结尾的 ]"),
    (r"Expected '\]\]' at the end of an array declaration", "数组表头 [[...]] 缺少结尾的 ]]"),
    (r"Expected '=' after a key in a key/value pair", "键后面应有 =（键 = 值）"),
    (r"Expected (.+)", r"缺少 \1"),
    (r"Found invalid character (.+)", r"出现不允许的字符 \1"),
    (r"Cannot declare (.+) twice", r"\1 重复声明"),
    (r"Cannot overwrite a value", "同一个键重复赋值"),
    (r"Cannot mutate immutable namespace (.+)", r"\1 已写成内联表或数组，不能再补充键"),
    (r"Cannot redefine namespace (.+)", r"不能重新定义 \1"),
    (r"Invalid initial character for a key part", "键名以不允许的字符开头（中文或含空格的键名请加引号）"),
    (r"Unclosed array", "数组缺少结尾的 ]"),
    (r"Duplicate inline table key (.+)", r"内联表 { } 中的键 \1 重复"),
    (r"Unclosed inline table", "内联表 { } 缺少结尾的 }（内联表须写在同一行内）"),
    (r"Unescaped '\\\\' in a string", "字符串中的反斜杠 \\ 未转义（请写成 \\\\，或改用单引号）"),
    (r"Invalid hex value", "无效的 \\u 转义（应为十六进制数字）"),
    (r"Escaped character is not a Unicode scalar value", "转义得到的不是有效的 Unicode 字符"),
    (r"Unterminated string", "字符串缺少结尾的引号"),
    (r"Illegal character (.+)", r"字符串中有不允许的字符 \1（控制字符请用转义写法）"),
    (r"Invalid date or datetime", "无效的日期或时间"),
    (r"Invalid value", "无效的值（文字请加引号，例如 \"是\"；数字不要带单位或千分位逗号）"),
]
_WHERE = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$")


def toml_message(exc: Exception) -> str:
    """tomllib's English message in Chinese, with the position kept (第 N 行第 M 列)."""
    text = str(exc)
    m = _WHERE.search(text)
    where = ""
    if m:
        where = f"（第 {m.group(1)} 行第 {m.group(2)} 列）" if m.group(1) else "（文件末尾）"
        text = text[: m.start()]
    for pattern, zh in _MESSAGES:
        hit = re.fullmatch(pattern, text)
        if hit:
            return hit.expand(zh) + where
    return f"无法解析{where}（{text[:80]}）"


def read_toml(path, error) -> dict:
    """Parse ``path``; every problem raises ``error(path, None, 中文说明)``."""
    path = Path(path)
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise error(path, None, "不是普通文件（是文件夹或设备）：请指定 .toml 文件")
        if st.st_size > MAX_TOML_BYTES:
            raise error(path, None, f"文件过大（{st.st_size / 1024 / 1024:.1f} MB，上限 {MAX_TOML_BYTES // 1024 // 1024} MB）：不是正常的案例或指标体系文件")
        with open(path, "rb") as f:
            raw = f.read(MAX_TOML_BYTES + 1)
    except PermissionError:
        raise error(path, None, "没有读取权限：请检查文件权限") from None
    except OSError as exc:
        if not path.is_file():  # not there, a link that loops or points nowhere
            raise error(path, None, missing_text(path)) from None
        raise error(path, None, f"无法读取文件（{exc.strerror or type(exc).__name__}）：请检查路径") from None
    if len(raw) > MAX_TOML_BYTES:
        raise error(path, None, f"文件过大（超过 {MAX_TOML_BYTES // 1024 // 1024} MB）：不是正常的案例或指标体系文件")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise error(path, None, f"文件不是 UTF-8 编码（第 {line} 行）：请用 UTF-8 保存（记事本“另存为”时选 UTF-8）") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(path, None, f"TOML 语法错误：{toml_message(exc)}") from None
    except RecursionError:
        raise error(path, None, "TOML 嵌套过深（数组或表层层嵌套）：不是正常的案例或指标体系文件") from None
    bad = _control_text(data)
    if bad:
        key, ch = bad
        raise error(path, key, f"文字中含有控制字符 U+{ord(ch):04X}（由 \\u{ord(ch):04x} 之类的转义写入）："
                               f"工作簿不能保存这种字符，请删除")
    return data


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # what an XLSX cell cannot hold


def _control_text(v, path="", depth=0):
    """(key path, character) of the first string (or key) holding a character a worksheet cannot store."""
    if depth > 200:
        return None
    if isinstance(v, str):
        m = _CONTROL.search(v)
        return (path, m.group(0)) if m else None
    if isinstance(v, dict):
        for k, x in v.items():
            m = _CONTROL.search(k)
            if m:
                return (f"{path}.{k}" if path else k, m.group(0))
            hit = _control_text(x, f"{path}.{k}" if path else k, depth + 1)
            if hit:
                return hit
    elif isinstance(v, list):
        for i, x in enumerate(v):
            hit = _control_text(x, f"{path}[{i}]", depth + 1)
            if hit:
                return hit
    return None
