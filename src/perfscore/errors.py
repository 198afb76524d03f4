"""Errors that carry a message a user can act on (in Chinese).

Nothing in perfscore lets a traceback reach a cell or a terminal: the adapters (CLI, UDFs) catch
``PerfscoreError`` and print/return ``str(err)``; anything else is a bug and is reported as such.
"""


class PerfscoreError(Exception):
    """Base class: ``str(err)`` is a complete Chinese message saying what is wrong and what to do."""


class SystemFileError(PerfscoreError):
    """An indicator-system (or case) file is malformed: names the file, the key and what was expected."""

    def __init__(self, file, key, problem):
        self.file, self.key, self.problem = str(file), key, problem
        where = f"{self.file}" + (f"：{key}" if key else "")
        super().__init__(f"指标体系文件有误（{where}）：{problem}")


class CaseFileError(PerfscoreError):
    def __init__(self, file, key, problem):
        self.file, self.key, self.problem = str(file), key, problem
        where = f"{self.file}" + (f"：{key}" if key else "")
        super().__init__(f"案例文件有误（{where}）：{problem}")


class InputError(PerfscoreError):
    """One input value is unusable. ``input_id`` is the machine id, ``label`` the Chinese name."""

    missing = False  # True when the value is blank (or an error cell), as opposed to unusable

    def __init__(self, input_id, label, problem):
        self.input_id, self.label, self.problem = input_id, label, problem
        super().__init__(f"「{label}」{problem}")


class ZeroDenominator(PerfscoreError):
    """A ratio's denominator and numerator are both zero; the rule's zero-denominator policy decides."""

    def __init__(self, label):
        self.label = label
        super().__init__(f"「{label}」的分子和分母都为 0，无法计算：请核对数据；确无此项业务的，请向财政部门确认怎样计分")
        self.detail = (f"{self}（维护指标体系的人员可在该规则中设置 zero_denominator = \"full\"（不适用，计满分）"
                       f"或 \"zero\"（计 0 分））。")


class UnknownYear(PerfscoreError):
    pass


class UnknownRegion(UnknownYear):
    """A region key that is not an installed region's folder name (letters, digits, - and _ only): never
    turned into a path. A subclass of UnknownYear, so every caller that handles an unknown year handles it."""
