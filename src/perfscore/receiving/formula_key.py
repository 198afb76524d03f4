# TEMPORARY shim until the formula branch is merged (not committed)
import re
def formula_key(text):
    out, parts = [], re.split(r'("(?:[^"]|"")*")', text.lstrip().removeprefix("="))
    for k, part in enumerate(parts):
        if k % 2:
            out.append(part); continue
        part = re.sub(r"_xl(?:fn|udf|ws)\.", "", part, flags=re.I).replace("$", "")
        part = re.sub(r"'((?:[^']|'')+)'!", lambda m: m.group(1).replace("''", "'") + "!", part)
        out.append(re.sub(r"\s+", "", part).upper())
    return "".join(out)
def describe_difference(a, b): return "不同"
