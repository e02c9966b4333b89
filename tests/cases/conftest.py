"""Fixed personas on the small grid (STYLE §8): a grid worker in grid A, one in grid B
who must see nothing of A's, their village's staff, the township's police and health
staff, and an outsider in the other township. Patients are imported through the real
importers."""

from datetime import date

import pytest

from gridmap.models import User
from tests.cases.ledgers import patient, write_table
from tests.conftest import GRID_1, GRID_2, MICRO_1, TOWNSHIP_1, TOWNSHIP_2, VILLAGE_1
from tests.geodata.helpers import run_import

AS_OF = date(2026, 6, 30)
STAFF = [
    ("grid_a", "网格员", GRID_1[0]), ("grid_b", "网格员", GRID_2[0]),
    ("village_doc", "村医", VILLAGE_1[0]), ("committee", "村两委", VILLAGE_1[0]),
    ("police", "民警", TOWNSHIP_1[0]), ("health", "卫生院精防人员", TOWNSHIP_1[0]),
    ("micro_doc", "村医", MICRO_1[0]), ("outsider", "网格员", TOWNSHIP_2[0]),
    ("office", "乡镇综治办", TOWNSHIP_1[0]),
]
# P01 in grid A; P02 in grid B; P03 in the other township; P04 outside every unit,
# registered in the village (R22); P05 lives in the other township, registered in grid A.
PATIENTS = [
    patient("P01", risk_level="3", condition="不稳定"),
    patient("P02", residence_lon="106.15", residence_lat="33.1"),
    patient("P03", residence_lon="106.3", residence_lat="33.1"),
    patient("P04", residence_lon="108.5", residence_lat="34.2", registration_code=VILLAGE_1[0]),
    patient("P05", residence_lon="106.3", residence_lat="33.15", registration_code=GRID_1[0]),
]


@pytest.fixture
def register(small_grid, tmp_path):
    staff = write_table(tmp_path / "staff.csv", [
        {"username": u, "name": f"{u}姓名", "role": role, "unit_code": code} for u, role, code in STAFF
    ])
    ok, text = run_import("function", "import_staff", staff)
    assert ok, text
    ok, text = run_import("function", "import_patients", write_table(tmp_path / "ledger.csv", PATIENTS),
                          as_of=AS_OF)
    assert ok, text
    return {u.username: u for u in User.objects.all()}
