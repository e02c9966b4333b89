"""Unit sizes outside the usual ranges are warnings, never errors (issue #2)."""

import pytest

from config.importers import households_import
from tests.conftest import MICRO_1, MICRO_4

pytestmark = pytest.mark.django_db


def _csv(tmp_path, points):
    path = tmp_path / "h.csv"
    rows = [f"H{i},地址{i},2,{lon},{lat}" for i, (lon, lat) in enumerate(points)]
    path.write_text("code,address,residents,lon,lat\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_small_grids_and_micro_grids_are_reported_as_warnings(small_grid, tmp_path, settings):
    settings.GRIDCARE_IMPORT = {**settings.GRIDCARE_IMPORT, "micro_grid_households": (2, 3),
                                "grid_households": (1, 3)}
    # Four households in micro-grid 1, one in micro-grid 4.
    points = [(106.02, 33.02), (106.03, 33.03), (106.04, 33.04), (106.05, 33.05), (106.3, 33.1)]
    report = households_import(path=_csv(tmp_path, points))
    assert report.ok, report.errors
    sizes = {w.where: w.message for w in report.warnings if w.key == "unusual_size"}
    assert sizes[f"unit {MICRO_1[0]}"] == "4 households, outside the usual 2–3 for level 5"
    assert sizes[f"unit {MICRO_4[0]}"] == "1 households, outside the usual 2–3 for level 5"
    assert "unit 61072700100101" in sizes  # grid 1 holds the four
