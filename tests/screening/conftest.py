"""Screening fixtures on the small grid: households in every micro-grid and a township
campaign with visits of every kind (R31), through the real importers and services."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from cases.screening import services as coverage
from cases.screening.models import Campaign, Visit
from gridmap.models import GridUnit, Household
from tests.conftest import MICRO_1, MICRO_2, MICRO_3, TOWNSHIP_1

BJ = ZoneInfo("Asia/Shanghai")
# Households placed by micro-grid: 30 in micro 1, 12 in micro 2, 3 in micro 3, 8 in micro 4.
SPREAD = {MICRO_1: (106.0, 33.0, 30), MICRO_2: (106.0, 33.1, 12), MICRO_3: (106.1, 33.0, 3),
          ("6107270020010101",): (106.2, 33.0, 8)}


@pytest.fixture
def households(small_grid, tmp_path):
    from tests.helpers import run_import

    rows = []
    for unit, (x0, y0, n) in SPREAD.items():
        for i in range(n):
            rows.append((f"{unit[0]}-{i:02d}", f"{unit[0]}号{i}", "3",
                         f"{x0 + 0.002 + 0.003 * i:.4f}", f"{y0 + 0.05:.4f}"))
    path = tmp_path / "h.csv"
    path.write_text("code,address,residents,lon,lat\n" + "".join(",".join(r) + "\n" for r in rows))
    ok, text = run_import("function", "import_households", path)
    assert ok, text


def visit(campaign, code, day, result="无异常", hour=10, fix=None):
    household = Household.objects.get(code=code)
    return Visit.objects.create(campaign=campaign, household=household, result=result,
                                visited_at=datetime(day.year, day.month, day.day, hour, tzinfo=BJ),
                                geom=fix)


@pytest.fixture
def campaign(households):
    c = Campaign.objects.create(code="C1", name="西淮坝镇2026年6月专项排查", kind="township_half_yearly",
                                scope=GridUnit.objects.get(code=TOWNSHIP_1[0]),
                                starts_on=date(2026, 6, 1), ends_on=date(2026, 6, 30), target=0.9)
    m1, m2 = MICRO_1[0], MICRO_2[0]
    for i in range(28):  # 28 of micro 1's 30, one of them twice
        visit(c, f"{m1}-{i:02d}", date(2026, 6, 10))
    visit(c, f"{m1}-00", date(2026, 6, 20))  # a repeat visit counts once
    visit(c, f"{m1}-28", date(2026, 5, 31))  # before the window: kept, counts for nothing
    visit(c, f"{m1}-29", date(2026, 6, 12), result="无人在家")  # nobody home: not screened
    for i in range(6):
        visit(c, f"{m2}-{i:02d}", date(2026, 6, 30), hour=23)  # the last evening is inside
    visit(c, "6107270020010101-00", date(2026, 6, 10))  # outside the scope: kept, not counted
    coverage.visits_derive([c.pk])
    coverage.coverage_rebuild([c.pk])
    return c
