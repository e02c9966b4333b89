"""import_campaigns (formats.md §6) and import_screening (formats.md §5): the stored coverage
(R31), on-site checks (R32) and suspected cases (R33) they derive, against hand counts on the
small grid."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from cases.screening.models import Campaign, CoverageCount, SuspectedCase, Visit
from cases.screening.selectors import coverage_at_level
from gridmap.models import ImportRun
from tests.conftest import (
    COUNTY,
    GRID_1,
    GRID_2,
    MICRO_1,
    MICRO_2,
    MICRO_3,
    TOWNSHIP_1,
    VILLAGE_1,
)
from tests.gridmap.test_households_import import ROWS, households_csv
from tests.helpers import run_import
from tests.ledgers import write_table

pytestmark = pytest.mark.django_db
VIA = pytest.mark.parametrize("via", ["function", "command"])
LOCAL = ZoneInfo("Asia/Shanghai")

# The small grid's households without H2, so micro-grid 2 has none. Placement (see
# test_households_import): H1, H3, H4 in micro-grid 1 (grid 1); H5 on the township edge,
# in micro-grid 3 (grid 2, township 1 by the lowest code); H6 in township 2; H7 outside.
HOUSEHOLDS = [r for r in ROWS if r[0] != "H2"]
TOWN = "XHB-2026-06"  # township 1, June 2026
ALL = "LY-2026"  # the whole county, 2026


def campaign(code=TOWN, **fields) -> dict:
    row = {"code": code, "name": "西淮坝镇2026年6月专项排查", "kind": "乡镇半年专项排查",
           "scope_code": TOWNSHIP_1[0], "starts_on": "2026-06-01", "ends_on": "2026-06-30"}
    return row | fields


CAMPAIGNS = [campaign(), campaign(ALL, name="略阳县2026年全域排查", kind="annual_full",
                                  scope_code=COUNTY[0], starts_on="2026-01-01", ends_on="2026-12-31")]


def visit(household: str, at: str, result: str = "无异常", code: str = TOWN, **fields) -> dict:
    return {"campaign_code": code, "household_code": household, "visited_at": at, "worker": "grid_a",
            "result": result, **fields}


@pytest.fixture
def grid(small_grid, tmp_path):
    ok, text = run_import("function", "import_households", households_csv(tmp_path, HOUSEHOLDS))
    assert ok, text
    staff = write_table(tmp_path / "staff.csv", [
        {"username": "grid_a", "name": "网格员甲", "role": "网格员", "unit_code": GRID_1[0]}])
    ok, text = run_import("function", "import_staff", staff)
    assert ok, text


@pytest.fixture
def campaigns(grid, tmp_path):
    ok, text = run_import("function", "import_campaigns", write_table(tmp_path / "c.csv", CAMPAIGNS))
    assert ok, text


def load(tmp_path, rows, *, via="function", name="v.csv", command="import_screening", **options):
    return run_import(via, command, write_table(tmp_path / name, rows), **options)


def stored(code: str = TOWN) -> dict[str, tuple[int, int]]:
    return {c.unit.code: (c.households, c.screened)
            for c in CoverageCount.objects.filter(campaign__code=code).select_related("unit")}


# --- campaigns ---------------------------------------------------------------------------------

@VIA
def test_campaigns_are_stored_and_start_with_their_denominators_R31(via, grid, tmp_path):
    rows = CAMPAIGNS + [campaign("V-Q2", kind="village_quarterly", scope_code=VILLAGE_1[0], target="85%"),
                        campaign("S-1", kind="专项排查", target="0.5")]
    ok, text = load(tmp_path, rows, via=via, name="c.csv", command="import_campaigns")
    assert ok, text
    kinds = {c.code: (c.kind, c.target, c.scope.code) for c in Campaign.objects.all()}
    assert kinds == {
        TOWN: ("township_half_yearly", Decimal("0.9"), TOWNSHIP_1[0]),  # default target
        ALL: ("annual_full", Decimal("1"), COUNTY[0]),  # every household
        "V-Q2": ("village_quarterly", Decimal("0.85"), VILLAGE_1[0]),
        "S-1": ("special", Decimal("0.5"), TOWNSHIP_1[0]),
    }
    # Nothing screened yet; every unit under the scope has its households.
    assert stored(ALL)[COUNTY[0]] == (5, 0)
    assert stored(TOWN) == {TOWNSHIP_1[0]: (4, 0), VILLAGE_1[0]: (4, 0), GRID_1[0]: (3, 0),
                            GRID_2[0]: (1, 0), MICRO_1[0]: (3, 0), MICRO_2[0]: (0, 0), MICRO_3[0]: (1, 0)}
    assert Campaign.objects.get(code=TOWN).coverage_at is not None


@VIA
def test_bad_campaign_rows_are_all_reported_and_nothing_is_written(via, grid, tmp_path):
    ok, text = load(tmp_path, [
        campaign(),
        campaign(),  # same code again
        campaign("C3", name="", kind="月度排查"),
        campaign("C4", scope_code="999"),
        campaign("C5", starts_on="2026-06-31", ends_on="2026/07/01"),
        campaign("C6", starts_on="2026-06-30", ends_on="2026-06-01"),
        campaign("C7", target="1.5"),
        campaign("C8", target="九成"),
        campaign("C9", target="120%"),
    ], via=via, name="c.csv", command="import_campaigns")
    assert not ok
    for line in [
        f"row 2, column code: duplicate code '{TOWN}' (first in row 1)",
        "row 3, column name: name is required",
        "row 3, column kind: unknown kind '月度排查'",
        "row 4, column scope_code: unknown unit '999'",
        "row 5, column starts_on: '2026-06-31' is not a real date",
        "row 6, column ends_on: 2026-06-01 is before starts_on 2026-06-30",
        "row 7, column target: '1.5' is outside 0..1 (write 0.9 or 90%)",
        "row 8, column target: '九成' is not a share (0.9 or 90%)",
        "row 9, column target: '120%' is outside 0..1 (write 0.9 or 90%)",
    ]:
        assert line in text, line
    assert not Campaign.objects.exists() and not CoverageCount.objects.exists()


def test_R31_reimporting_a_campaign_updates_it_by_code_and_recounts_its_visits(campaigns, tmp_path):
    load(tmp_path, [visit("H1", "2026-06-02 09:00"), visit("H4", "2026-07-01 00:30")])
    assert stored()[TOWNSHIP_1[0]] == (4, 1)  # H4 came after the window
    ok, text = load(tmp_path, [campaign(name="西淮坝镇专项排查（延期）", ends_on="2026-07-15")],
                    name="c2.csv", command="import_campaigns")
    assert ok, text
    town = Campaign.objects.get(code=TOWN)
    assert (town.name, str(town.ends_on)) == ("西淮坝镇专项排查（延期）", "2026-07-15")
    assert Campaign.objects.count() == 2
    assert stored()[TOWNSHIP_1[0]] == (4, 2)  # H4 now inside the window


# --- visits and coverage -----------------------------------------------------------------------

FILE = [
    visit("H1", "2026-06-02 09:00"),  # counts
    visit("H1", "2026-06-05 10:00"),  # a repeat: H1 counts once
    visit("H3", "2026-06-01 07:00"),  # the window's first local day (still 31 May in UTC): counts
    visit("H4", "2026-07-01 00:30"),  # the day after the window (still 30 June in UTC): does not count
    visit("H5", "2026-06-04 14:00", "无人在家"),  # nobody home: does not screen
    visit("H6", "2026-06-03 11:00"),  # township 2, outside the scope: kept, does not count
]


@VIA
def test_R31_coverage_after_import_equals_the_hand_count(via, campaigns, tmp_path):
    ok, text = load(tmp_path, FILE, via=via)
    assert ok, text
    # Township 1 holds H1, H3, H4, H5; H1 and H3 were screened.
    assert stored() == {TOWNSHIP_1[0]: (4, 2), VILLAGE_1[0]: (4, 2), GRID_1[0]: (3, 2), GRID_2[0]: (1, 0),
                        MICRO_1[0]: (3, 2), MICRO_2[0]: (0, 0), MICRO_3[0]: (1, 0)}
    town = Campaign.objects.get(code=TOWN)
    shares = {c.unit.code: c.share for level in (2, 3, 4, 5) for c in coverage_at_level(town, level)}
    assert shares == {TOWNSHIP_1[0]: Decimal("0.5"), VILLAGE_1[0]: Decimal("0.5"),
                      GRID_1[0]: Decimal("0.6667"), GRID_2[0]: Decimal("0"),
                      MICRO_1[0]: Decimal("0.6667"), MICRO_2[0]: None, MICRO_3[0]: Decimal("0")}
    assert Visit.objects.count() == 6  # every visit is kept
    assert stored(ALL)[COUNTY[0]] == (5, 0)  # another campaign's visits count for nothing here
    if via == "command":
        return
    from config.importers import screening_import

    report = screening_import(path=tmp_path / "v.csv")
    assert report.stats == {"counted_for_coverage": 3, "nobody_home": 1, "outside_window": 1,
                            "outside_scope": 1, "not_on_site": 0, "suspected_cases_opened": 0}
    warnings = [str(w) for w in report.warnings]
    assert warnings == [
        f"row 4: visited on 2026-07-01, outside campaign {TOWN}'s window 2026-06-01–2026-06-30: "
        "kept, does not count (R31)",
        f"row 6: household H6 is outside campaign {TOWN}'s scope {TOWNSHIP_1[0]}: kept, does not count (R31)",
    ]


def test_R31_repeat_visits_count_once(campaigns, tmp_path):
    load(tmp_path, [visit("H1", f"2026-06-0{d} 09:00") for d in (2, 3, 4)])
    assert Visit.objects.count() == 3
    assert stored()[MICRO_1[0]] == (3, 1)


def test_R31_visits_outside_the_window_or_the_scope_are_kept_and_do_not_count(campaigns, tmp_path):
    ok, text = load(tmp_path, [visit("H1", "2026-05-31 23:59"), visit("H3", "2026-07-01 00:00"),
                               visit("H6", "2026-06-10 10:00"), visit("H4", "2026-06-30 23:59")])
    assert ok, text
    screened = dict(Visit.objects.values_list("household__code", "screened"))
    assert screened == {"H1": False, "H3": False, "H6": False, "H4": True}
    assert stored()[TOWNSHIP_1[0]] == (4, 1)


def test_R31_nobody_home_does_not_screen_the_household(campaigns, tmp_path):
    load(tmp_path, [visit("H5", "2026-06-04 14:00", "无人在家")])
    assert stored()[GRID_2[0]] == (1, 0)
    load(tmp_path, [visit("H5", "2026-06-06 19:00")], name="v2.csv")  # came back in the evening
    assert stored()[GRID_2[0]] == (1, 1)


def test_R31_a_unit_without_households_has_no_coverage(campaigns, tmp_path):
    load(tmp_path, [visit(h, "2026-06-02 09:00") for h in ("H1", "H3", "H4", "H5")])
    town = Campaign.objects.get(code=TOWN)
    shares = {c.unit.code: (c.share, c.colour) for c in coverage_at_level(town, 5)}
    assert shares[MICRO_2[0]] == (None, "none")  # not 0 %
    assert shares[MICRO_1[0]] == (Decimal("1"), "green")


def test_R32_a_fix_250_m_away_is_not_on_site_and_150_m_away_is(campaigns, tmp_path):
    # H1 and H3 stand at latitude 33.05; 0.00135° north is 149.7 m, 0.00225° is 249.5 m (WGS84).
    ok, text = load(tmp_path, [
        visit("H1", "2026-06-02 09:00", lon="106.05", lat="33.05135"),
        visit("H3", "2026-06-02 10:00", lon="106.1", lat="33.05225"),
        visit("H4", "2026-06-02 11:00"),  # no fix: not judged
    ])
    assert ok, text
    checks = {v.household.code: (v.on_site, v.distance_m and round(v.distance_m))
              for v in Visit.objects.select_related("household")}
    assert checks == {"H1": (True, 150), "H3": (False, 250), "H4": (None, None)}
    assert "row 2: the GPS fix is 250 m from household H3: not on site (R32)" in text
    assert stored()[MICRO_1[0]] == (3, 3)  # R32 flags; it does not uncount


def test_R33_a_suspected_visit_opens_one_case_due_10_working_days_later(campaigns, tmp_path):
    rows = [visit("H1", "2026-06-05 10:00", "发现疑似患者"), visit("H3", "2026-06-05 11:00")]
    load(tmp_path, rows)
    load(tmp_path, rows, name="again.csv")
    case = SuspectedCase.objects.get()
    assert case.household.code == "H1" and case.status == SuspectedCase.Status.REFERRED
    assert case.found_at == datetime(2026, 6, 5, 10, 0, tzinfo=LOCAL)
    # Friday 5 June: 8–12 June (5), 15–18 June (9), 19–21 June the Dragon Boat Festival, 22 June (10).
    assert case.diagnose_by.astimezone(LOCAL).date().isoformat() == "2026-06-22"
    assert case.diagnose_by.astimezone(LOCAL).time().hour == 23


@VIA
def test_bad_visit_rows_are_all_reported_with_row_and_column_and_nothing_is_written(
        via, campaigns, tmp_path):
    ok, text = load(tmp_path, [
        visit("H1", "2026-06-02 09:00"),
        visit("H1", "2026-06-02 09:00"),
        visit("H99", "2026-06-02 09:00"),
        visit("H1", "2026-06-02 09:00", code="NOPE"),
        visit("H3", "2026-06-02 09:00", worker="nobody"),
        visit("H3", "2026-06-31 09:00"),
        visit("H3", "2026-06-03"),
        visit("H3", "2026-06-04 09:00", result="可疑"),
        visit("H3", "2026-06-05 09:00", lon="106.1"),
        visit("H3", "2026-06-06 09:00", lon="33.05", lat="106.1"),
        visit("", "2026-06-07 09:00"),
    ], via=via)
    assert not ok
    for line in [
        "row 2, column visited_at: the same visit as row 1",
        "row 3, column household_code: unknown household code 'H99'",
        "row 4, column campaign_code: unknown campaign 'NOPE'",
        "row 5, column worker: unknown username 'nobody'",
        "row 6, column visited_at: '2026-06-31 09:00' is not a real date or time",
        "row 7, column visited_at: '2026-06-03' has no time (YYYY-MM-DD HH:MM)",
        "row 8, column result: unknown result '可疑'",
        "row 9, column lat: give both lon and lat, or neither",
        "row 10, column lon: (33.05, 106.1) lies outside China's extent",
        "row 11, column household_code: household_code is required",
    ]:
        assert line in text, line
    assert not Visit.objects.exists() and not SuspectedCase.objects.exists()
    assert set(stored().values()) <= {(4, 0), (3, 0), (1, 0), (0, 0)}


@VIA
def test_reimporting_visits_is_idempotent(via, campaigns, tmp_path):
    rows = FILE + [visit("H4", "2026-06-09 08:00", "发现疑似患者", lon="106.1", lat="33.1")]
    ok, text = load(tmp_path, rows, via=via)
    assert ok, text
    before = (list(Visit.objects.order_by("pk").values()), stored(), SuspectedCase.objects.count())
    ok, text = load(tmp_path, rows, via=via, name="again.csv")
    assert ok, text
    assert (list(Visit.objects.order_by("pk").values()), stored(), SuspectedCase.objects.count()) == before
    if via == "function":
        from config.importers import screening_import

        report = screening_import(path=tmp_path / "again.csv")
        assert (report.created, report.updated, report.unchanged) == (0, 0, 7)
        assert report.stats["suspected_cases_opened"] == 0


def test_a_changed_answer_updates_the_visit_in_place(campaigns, tmp_path):
    load(tmp_path, [visit("H1", "2026-06-02 09:00", "无人在家")])
    load(tmp_path, [visit("H1", "2026-06-02 09:00", worker="")], name="again.csv")
    v = Visit.objects.get()
    assert (v.result, v.worker, v.screened) == ("无异常", None, True)


def test_chinese_headers_in_any_order_with_extra_columns_are_read_from_xlsx(campaigns, tmp_path):
    rows = [{"备注": "复核", "结果": "无异常", "经度": "106.05", "纬度": "33.05", "排查人": "grid_a",
             "排查时间": "2026-06-02 09:00", "地址编码": "H1", "排查活动编码": TOWN}]
    ok, text = load(tmp_path, rows, name="排查记录.xlsx")
    assert ok, text
    v = Visit.objects.get()
    assert (v.household.code, v.worker.username, v.on_site, v.screened) == ("H1", "grid_a", True, True)
    ok, text = load(tmp_path, [{"活动编码": "Z1", "类型": "全域排查", "名称": "全域", "范围编码": VILLAGE_1[0],
                                "开始日期": "2026-01-01", "结束日期": "2026-12-31"}],
                    name="排查活动.xlsx", command="import_campaigns")
    assert ok, text
    assert Campaign.objects.get(code="Z1").target == Decimal("1")


@VIA
def test_a_dry_run_reports_and_writes_nothing(via, campaigns, tmp_path):
    ok, text = load(tmp_path, FILE, via=via, dry_run=True)
    assert ok, text
    assert "row 6: household H6 is outside campaign" in text
    if via == "command":  # what the file would amount to
        assert "counted_for_coverage: 3" in text and "(dry run: nothing written)" in text
    assert not Visit.objects.exists()
    assert stored()[TOWNSHIP_1[0]] == (4, 0)
    ok, text = load(tmp_path, [campaign("NEW")], via=via, name="c.csv", command="import_campaigns",
                    dry_run=True)
    assert ok, text
    assert not Campaign.objects.filter(code="NEW").exists()


def test_campaign_and_visit_uploads_run_as_jobs(
    admin_client, campaigns, tmp_path, run_worker, django_capture_on_commit_callbacks
):
    path = write_table(tmp_path / "v.csv", FILE)
    with django_capture_on_commit_callbacks(execute=True):
        with path.open("rb") as upload:
            admin_client.post(reverse("admin:gridmap_import_upload"), {"kind": "screening", "file": upload})
    run_worker()
    run = ImportRun.objects.get(kind=ImportRun.Kind.SCREENING)
    assert run.status == ImportRun.Status.DONE, run.report
    assert run.report["stats"]["counted_for_coverage"] == 3
    assert stored()[TOWNSHIP_1[0]] == (4, 2)


def test_unknown_columns_of_campaigns_and_visits_are_kept_in_extra(grid, tmp_path):
    from cases.screening.models import Campaign, Visit

    ok, text = run_import("function", "import_campaigns",
                          write_table(tmp_path / "c.csv", [campaign(牵头单位="综治办")]))
    assert ok, text
    ok, text = load(tmp_path, [visit("H1", "2026-06-05 10:00", 备注="邻居代答")])
    assert ok, text
    assert Campaign.objects.get().extra == {"牵头单位": "综治办"}
    assert Visit.objects.get().extra == {"备注": "邻居代答"}


@pytest.mark.parametrize("target, expected", [
    ("sNaN%", "row 1, column target: 'sNaN%' is not a share (0.9 or 90%)"),  # raised InvalidOperation
    ("9e999999999%", "row 1, column target: '9e999999999%' is outside 0..1"),  # raised Overflow
])
def test_a_target_decimal_cannot_divide_is_a_row_error(grid, tmp_path, target, expected):
    ok, text = run_import("function", "import_campaigns",
                          write_table(tmp_path / "c.csv", [campaign(target=target)]))
    assert not ok and expected in text, text
    assert not Campaign.objects.exists()


@pytest.mark.parametrize("fix", [{"lon": "nan", "lat": "33.05"}, {"lon": "106.05", "lat": "inf"}])
def test_a_gps_fix_that_is_no_number_is_a_row_error(campaigns, tmp_path, fix):
    """NaN was taken for a coordinate (outside_china is false for NaN) and stored as the fix."""
    ok, text = run_import("function", "import_screening",
                          write_table(tmp_path / "v.csv", [visit("H1", "2026-06-10 10:00", **fix)]))
    column = next(c for c, v in fix.items() if v in ("nan", "inf"))
    assert not ok and f"row 1, column {column}: '{fix[column]}' is not a number" in text, text
    assert not Visit.objects.exists()
