import os

import pytest

os.environ.setdefault("TQDM_DISABLE", "1")


@pytest.fixture(scope="session")
def system2020():
    from perfscore import load_system
    return load_system(2020)


@pytest.fixture(scope="session")
def reference_case():
    from perfscore import REFERENCE_CASE, load_case
    return load_case(REFERENCE_CASE)
