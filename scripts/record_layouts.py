"""Keep the layout of every released template in the package, so that workbooks it generated keep verifying after
the template changes (``perfscore.excel.fingerprint``): for each packaged indicator system and each workbook kind
(python, excel, values), the current blank template's Layout is written to src/perfscore/excel/layouts/<id>.json
unless that file exists. Run after changing anything that changes a workbook's layout, and commit the new files;
never delete old ones (workbooks in the field still carry their ids). tests/test_verify.py fails while a current
layout is not recorded.

    .venv/bin/python scripts/record_layouts.py
"""
from __future__ import annotations

import gzip
import sys

from perfscore.engine.system import PACKAGE_SYSTEMS, available_regions, available_years, load_system
from perfscore.excel.fingerprint import LAYOUTS_DIR, build_layout


def main() -> int:
    LAYOUTS_DIR.mkdir(exist_ok=True)
    for region in available_regions(PACKAGE_SYSTEMS):
        for year in available_years(region, PACKAGE_SYSTEMS):
            system = load_system(year, region=region, root=PACKAGE_SYSTEMS)
            for kind in ("python", "excel", "values"):
                lay = build_layout(system, kind)
                path = LAYOUTS_DIR / f"{lay.layout_id}.json.gz"
                state = "已有" if path.exists() else "新增"
                if not path.exists():  # mtime=0: the same layout gives the same bytes
                    path.write_bytes(gzip.compress(lay.to_json().encode("utf-8"), mtime=0))
                print(f"{region} {year} {kind}: {lay.layout_id}（{state}）")
    return 0


if __name__ == "__main__":
    sys.exit(main())
