"""perfscore: 部门整体支出绩效自评评分。

Library first: ``load_system`` reads a year's indicator system, ``score_case`` scores raw inputs,
``cross_check`` compares a document's stated figures with the computed ones. The CLI, the Excel functions and
the template generator are thin adapters over these.
"""
__version__ = "0.1.0"

from perfscore.engine.case import REFERENCE_CASE, load_case  # noqa: E402
from perfscore.engine.crosscheck import cross_check  # noqa: E402
from perfscore.engine.scoring import MISSING, score_case, score_indicator  # noqa: E402
from perfscore.errors import PerfscoreError  # noqa: E402
from perfscore.engine.system import available_years, load_system, load_system_file  # noqa: E402
from perfscore.engine.targets import check_target  # noqa: E402

__all__ = ["MISSING", "REFERENCE_CASE", "PerfscoreError", "available_years", "check_target", "cross_check",
           "load_case", "load_system", "load_system_file", "score_case", "score_indicator", "__version__"]
