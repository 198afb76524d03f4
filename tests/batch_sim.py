"""A small interpreter for the subset of cmd.exe batch syntax that install.bat is written in, so that its control
flow (arguments, quiet mode, every exit-code path, the log) can be run here without Windows.

What it models, following cmd.exe's documented behaviour (``help if``, ``help set``, ``help call``, ``help shift``):
``%VAR%`` expanded once per line before the line runs (undefined → empty, as in a batch file), ``%~dp0``,
``%~1``…``%~9``, ``%*``, ``%ERRORLEVEL%``; ``set "NAME=value"``; ``if [/i] [not] defined|exist|errorlevel N|"a"=="b"``
followed by one statement; ``goto :label`` (labels case-insensitive); ``shift``; ``echo``/``echo.``; redirection
``>``/``>>`` to a file, ``>nul``, ``2>&1``, written before or after the command; ``mkdir``; ``move /y``; ``pause``;
``exit /b N``. Anything else raises ``Unsupported``: install.bat must not use constructs this model does not know
(``tests/test_bundle.py`` parses every line of it). External programs (``fltmc``, ``py``) are answered by a callback.

It is a model, not cmd.exe: it is only as right as the rules above.
"""
from __future__ import annotations

import ntpath
import re
from dataclasses import dataclass, field


class Unsupported(Exception):
    pass


@dataclass
class Run:
    exit_code: int
    console: list[str]
    files: dict[str, str]
    commands: list[str]                 # external command lines, after expansion
    pauses: int
    env: dict[str, str] = field(default_factory=dict)


_REDIR = re.compile(r'(\d?)(>>?)(&\d|"[^"]*"|[^\s"]+)')


def _split_redirections(text: str) -> tuple[str, list[tuple[str, str, str]]]:
    """(command without redirections, [(handle, op, target)]). A redirection starts a word; quotes protect."""
    out, redirs, i, n = [], [], 0, len(text)
    while i < n:
        if text[i] == '"':
            j = text.find('"', i + 1)
            j = n if j < 0 else j + 1
            out.append(text[i:j])
            i = j
            continue
        m = _REDIR.match(text, i) if i == 0 or text[i - 1].isspace() else None
        if m:
            redirs.append((m.group(1) or "1", m.group(2), m.group(3)))
            i = m.end()
            continue
        out.append(text[i])
        i += 1
    return re.sub(r"\s+", " ", "".join(out)).strip(), redirs


_STATEMENT = [
    re.compile(r"^@echo off$", re.I), re.compile(r"^setlocal$", re.I), re.compile(r"^rem( .*)?$", re.I),
    re.compile(r'^cd /d ".*"$', re.I), re.compile(r'^set "[A-Za-z_][\w]*=.*"$', re.I),
    re.compile(r"^goto :\w+$", re.I), re.compile(r"^shift$", re.I), re.compile(r"^pause$", re.I),
    re.compile(r"^exit /b \S+$", re.I), re.compile(r"^echo(\.| .*)$", re.I), re.compile(r'^mkdir ".*"$', re.I),
    re.compile(r'^move /y ".*" ".*"$', re.I),
]
_IF = re.compile(r'^if (?P<i>/i )?(?P<not>not )?(?:defined (?P<defined>\w+)|exist (?P<exist>"[^"]*")|errorlevel '
                 r'(?P<errorlevel>\d+)|(?P<left>"[^"]*")==(?P<right>"[^"]*")) (?P<rest>.+)$', re.I)


class Batch:
    def __init__(self, text: str, path: str, external, env: dict | None = None, dirs=(), files=None,
                 writable=lambda path: True):
        self.lines = text.replace("\r\n", "\n").split("\n")
        self.path = path
        self.external = external           # (command line) -> (exit code, [console lines])
        self.env = {k.upper(): v for k, v in (env or {}).items()}
        self.dirs = {d.lower().rstrip("\\") for d in dirs}
        self.files = dict(files or {})     # lower-case path -> content
        self.writable = writable
        self.labels = {}
        for n, line in enumerate(self.lines):
            s = line.strip()
            if s.startswith(":"):
                self.labels[s[1:].split()[0].lower()] = n

    # ------------------------------------------------------------------ static check
    def check_syntax(self) -> list[str]:
        """Lines this model cannot run (after replacing %...% by a placeholder)."""
        bad = []
        for line in self.lines:
            s = line.strip()
            if not s or s.startswith(":"):
                continue
            try:
                self._classify(re.sub(r"%[^%\s]*%|%~?[\w*]+", "X", s))
            except Unsupported:
                bad.append(line)
        return bad

    def _classify(self, s: str):
        cmd, _ = _split_redirections(s)
        m = _IF.match(cmd)
        if m:
            return self._classify(m.group("rest"))
        if any(p.match(cmd) for p in _STATEMENT):
            return "builtin"
        if re.match(r"^(fltmc|py|X)( |$)", cmd, re.I):
            return "external"
        raise Unsupported(s)

    # ------------------------------------------------------------------ running
    def _expand(self, s: str, args: list[str]) -> str:
        def one(m):
            tok = m.group(0)
            if tok == "%%":
                return "%"
            if tok == "%*":
                return " ".join(args)
            if tok == "%~dp0":
                return ntpath.dirname(self.path) + "\\"
            if re.fullmatch(r"%~?\d", tok):
                k = int(tok[-1])
                v = self.path if k == 0 else (args[k - 1] if k - 1 < len(args) else "")
                return v.strip('"') if "~" in tok else v
            name = tok[1:-1].upper()
            if name in self.env:
                return self.env[name]
            if name == "ERRORLEVEL":
                return str(self.errorlevel)
            return ""
        return re.sub(r"%%|%\*|%~dp0|%~?\d|%[^%\s]+%", one, s)

    def run(self, args: list[str]) -> Run:
        self.errorlevel, console, commands, pauses = 0, [], [], 0
        args = list(args)
        pc, steps = 0, 0
        while pc < len(self.lines):
            steps += 1
            if steps > 10_000:
                raise RuntimeError("endless loop")
            raw = self.lines[pc].strip()
            pc += 1
            if not raw or raw.startswith(":"):
                continue
            line = self._expand(raw, args)
            result = self._statement(line, args, console, commands)
            if result is None:
                continue
            kind, value = result
            if kind == "goto":
                if value == "eof":
                    break
                if value not in self.labels:
                    raise RuntimeError(f"no label {value}")
                pc = self.labels[value] + 1
            elif kind == "exit":
                return Run(int(value), console, self.files, commands, pauses, self.env)
            elif kind == "pause":
                pauses += 1
            elif kind == "shift":
                args[:1] = []
        return Run(self.errorlevel, console, self.files, commands, pauses, self.env)

    def _write(self, target: str, op: str, text: list[str]) -> bool:
        t = target.strip('"')
        if t.lower() == "nul" or t.startswith("&"):
            return True
        key = t.lower()
        parent = ntpath.dirname(key)
        if parent not in self.dirs or not self.writable(t):
            return False  # cmd: "The system cannot find the path specified." and the command does not run
        body = "".join(x + "\r\n" for x in text)
        self.files[key] = (self.files.get(key, "") if op == ">>" else "") + body
        return True

    def _statement(self, line: str, args, console, commands):
        cmd, redirs = _split_redirections(line)
        m = _IF.match(cmd)
        if m:
            if m.group("defined"):
                ok = m.group("defined").upper() in self.env
            elif m.group("exist"):
                p = m.group("exist").strip('"').lower()
                ok = (p.rstrip("\\") in self.dirs) if p.endswith("\\") else (p in self.files or p in self.dirs)
            elif m.group("errorlevel"):
                ok = self.errorlevel >= int(m.group("errorlevel"))
            else:
                left, right = m.group("left"), m.group("right")
                ok = left.lower() == right.lower() if m.group("i") else left == right
            if m.group("not"):
                ok = not ok
            return self._statement(m.group("rest") + "".join(f" {h}{o}{t}" for h, o, t in redirs), args,
                                   console, commands) if ok else None
        low = cmd.lower()
        out_target = next(((o, t) for h, o, t in redirs if h == "1"), None)

        def emit(text_lines):
            if out_target:
                if not self._write(out_target[1], out_target[0], text_lines):
                    console.append("系统找不到指定的路径。")
            else:
                console.extend(text_lines)

        if low in ("@echo off", "setlocal", "shift", "pause") or low.startswith("rem") or low.startswith("cd /d "):
            return (low, None) if low in ("shift", "pause") else None
        if low.startswith('set "'):
            name, _, value = cmd[5:-1].partition("=")
            if value:
                self.env[name.upper()] = value
            else:
                self.env.pop(name.upper(), None)
            return None
        if low.startswith("goto :"):
            return "goto", low[6:].strip()
        if low.startswith("exit /b "):
            return "exit", cmd[8:].strip()
        if low == "echo." or low.startswith("echo "):
            emit([cmd[5:] if low != "echo." else ""])
            return None
        if low.startswith("mkdir "):
            p = cmd[6:].strip('"')
            if self.writable(p):
                self.dirs.add(p.lower().rstrip("\\"))
                self.errorlevel = 0
            else:
                self.errorlevel = 1
            return None
        if low.startswith("move /y "):
            src, dst = re.findall(r'"([^"]*)"', cmd)
            if src.lower() in self.files:
                self.files[dst.lower()] = self.files.pop(src.lower())
            return None
        if re.match(r"^(fltmc|py)( |$)", low) or low.startswith('"'):
            commands.append(cmd)
            rc, out = self.external(cmd)
            self.errorlevel = rc
            emit(out)
            return None
        raise Unsupported(line)
