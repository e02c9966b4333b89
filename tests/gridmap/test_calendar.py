"""Tests for gridmap.calendar: working days (R24, R33), hour limits (R24, R27, R28) and the
configured deadlines.

Plain pytest functions; no database. Expected dates come from the official
schedules as stored in chinesecalendar 1.11.0; `test_R24_calendar_data_...` pins
the facts the other tests rely on, so a data change fails there first.

2025 National Day: 10-01 (Wed)..10-08 (Wed) off; make-up Sun 09-28, Sat 10-11.
2025 Spring Festival: 01-28 (Tue)..02-04 (Tue) off; make-up Sun 01-26, Sat 02-08.
2026 Spring Festival: 02-15 (Sun)..02-23 (Mon) off; make-up Sat 02-14, Sat 02-28.
2027: not in the data (Monday–Friday fallback).
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from gridmap.calendar import (
    CalendarOverrides,
    DayCount,
    Deadlines,
    add_working_days,
    deadlines,
    hours_deadline,
    is_working_day,
    working_day_deadline,
    working_days_between,
)

SH = ZoneInfo("Asia/Shanghai")
D = date.fromisoformat


def at(text: str) -> datetime:
    """An aware datetime from ISO text carrying its offset."""
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None
    return moment


def eod(text: str) -> datetime:
    return datetime.combine(D(text), time.max, tzinfo=SH)


def test_R24_calendar_data_matches_the_official_2025_2026_schedules():
    def span(first, last):
        return {D(first) + timedelta(days=i) for i in range((D(last) - D(first)).days + 1)}

    assert span("2025-10-01", "2025-10-08") <= set(chinese_calendar.holidays)
    assert span("2025-01-28", "2025-02-04") <= set(chinese_calendar.holidays)
    assert span("2026-02-15", "2026-02-23") <= set(chinese_calendar.holidays)
    make_up = ("2025-01-26", "2025-02-08", "2025-09-28", "2025-10-11", "2026-02-14", "2026-02-28")
    assert {D(d) for d in make_up} <= set(chinese_calendar.workdays)
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(D("2027-01-04"))
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(D("2003-12-31"))


# --- National Day 2025 -----------------------------------------------------------------


def test_R24_exchange_before_national_day_2025_is_accepted_by_10_14():
    # After Tue 09-30: 10-01..10-08 off; 10-09 Thu (1), 10-10 Fri (2),
    # 10-11 make-up Sat (3), 10-12 Sun off, 10-13 Mon (4), 10-14 Tue (5).
    assert add_working_days(D("2025-09-30"), 5) == DayCount(D("2025-10-14"), frozenset())


@pytest.mark.parametrize("start", ["2025-10-01", "2025-10-03", "2025-10-05", "2025-10-08"])
def test_R24_exchange_on_a_holiday_does_not_count_its_own_day(start):
    # The start is skipped whatever it is; the first working day after any
    # holiday day is 10-09, so the count is the same as from 09-30: 10-14.
    assert add_working_days(D(start), 5).day == D("2025-10-14")


def test_R24_chinese_calendar_find_workday_is_one_day_late_from_a_holiday():
    # Why we count ourselves: find_workday treats a non-working start as the
    # 0th day and moves to 10-09 before counting, so its 5th is 10-15.
    assert chinese_calendar.find_workday(5, D("2025-10-03")) == D("2025-10-15")
    assert add_working_days(D("2025-10-03"), 5).day == D("2025-10-14")


def test_R24_exchange_on_the_make_up_saturday_does_not_count_it():
    # Sat 10-11 is a working day but is the start: 10-13 (1) .. 10-17 Fri (5).
    assert add_working_days(D("2025-10-11"), 5).day == D("2025-10-17")


def test_R24_deadline_can_fall_on_a_make_up_saturday():
    # After make-up Sun 09-28: 09-29 (1), 09-30 (2), 10-09 (3), 10-10 (4), Sat 10-11 (5).
    assert add_working_days(D("2025-09-28"), 5).day == D("2025-10-11")


def test_R33_diagnosis_within_10_working_days_across_national_day_2025():
    # After Fri 09-26: Sun 09-28 (1), 09-29 (2), 09-30 (3), 10-09 (4), 10-10 (5),
    # Sat 10-11 (6), 10-13 (7), 10-14 (8), 10-15 (9), 10-16 (10).
    deadline, fallback = working_day_deadline(at("2025-09-26T10:00+08:00"), 10)
    assert (deadline, fallback) == (eod("2025-10-16"), frozenset())


# --- Spring Festival 2025 and 2026 -------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # Fri 01-24: Sun 01-26 (1), Mon 01-27 (2), 01-28..02-04 off, 02-05 (3), 02-06 (4), 02-07 (5).
        ("2025-01-24", "2025-02-07"),
        # Sat 01-25 (ordinary weekend): the same five days.
        ("2025-01-25", "2025-02-07"),
        # Mon 01-27: 02-05 (1), 02-06 (2), 02-07 (3), Sat 02-08 (4), Mon 02-10 (5).
        ("2025-01-27", "2025-02-10"),
    ],
)
def test_R24_spring_festival_2025(start, expected):
    assert add_working_days(D(start), 5) == DayCount(D(expected), frozenset())


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # Thu 02-12: Fri 02-13 (1), Sat 02-14 (2), 02-15..02-23 off, 02-24 (3), 02-25 (4), 02-26 (5).
        ("2026-02-12", "2026-02-26"),
        # Fri 02-13: Sat 02-14 (1), 02-24 (2), 02-25 (3), 02-26 (4), 02-27 (5).
        ("2026-02-13", "2026-02-27"),
        # Tue 02-24: 02-25 (1), 02-26 (2), 02-27 (3), Sat 02-28 (4), Mon 03-02 (5).
        ("2026-02-24", "2026-03-02"),
    ],
)
def test_R24_spring_festival_2026(start, expected):
    assert add_working_days(D(start), 5) == DayCount(D(expected), frozenset())


# --- Years the package does not know -----------------------------------------------------


def test_R24_count_within_2026_uses_no_fallback():
    # Fri 12-18: 12-21 Mon .. 12-25 Fri, all in the 2026 data.
    assert add_working_days(D("2026-12-18"), 5) == DayCount(D("2026-12-25"), frozenset())


def test_R24_count_into_2027_falls_back_to_monday_to_friday():
    # Mon 12-28: 12-29 (1), 12-30 (2), 12-31 (3), then 2027 Mon–Fri: Fri 01-01 (4,
    # New Year's Day counted: the fallback knows no holidays), Mon 01-04 (5).
    assert add_working_days(D("2026-12-28"), 5) == DayCount(D("2027-01-04"), frozenset({2027}))
    assert is_working_day(D("2027-01-01")) == (True, False)
    assert is_working_day(D("2027-01-02")) == (False, False)


def test_R24_override_holiday_in_2027_moves_the_deadline_one_working_day():
    # 01-01 off: 12-29, 12-30, 12-31, Mon 01-04 (4), Tue 01-05 (5). The other
    # 2027 days are still the fallback's, so 2027 is still reported.
    overrides = CalendarOverrides(holidays=frozenset({D("2027-01-01")}))
    assert add_working_days(D("2026-12-28"), 5, overrides) == DayCount(D("2027-01-05"), frozenset({2027}))
    assert is_working_day(D("2027-01-01"), overrides) == (False, True)


def test_R24_override_make_up_saturday_in_2027_is_counted():
    # Sat 01-02 working: 12-29, 12-30, 12-31, Fri 01-01 (4), Sat 01-02 (5).
    make_up = CalendarOverrides(workdays=frozenset({D("2027-01-02")}))
    assert add_working_days(D("2026-12-28"), 5, make_up).day == D("2027-01-02")
    # Both: 01-01 off, Sat 01-02 working: 12-29, 12-30, 12-31, 01-02 (4), Mon 01-04 (5).
    both = CalendarOverrides(holidays=frozenset({D("2027-01-01")}), workdays=frozenset({D("2027-01-02")}))
    assert add_working_days(D("2026-12-28"), 5, both).day == D("2027-01-04")


def test_R24_count_ending_on_an_overridden_day_still_reports_the_fallback_year():
    # Thu 12-31 + 1: Fri 01-01 is overridden as working, known; but with n = 2
    # the weekend 01-02/01-03 is the fallback's, so 2027 is reported.
    overrides = CalendarOverrides(workdays=frozenset({D("2027-01-01")}))
    assert add_working_days(D("2026-12-31"), 1, overrides) == DayCount(D("2027-01-01"), frozenset())
    assert add_working_days(D("2026-12-31"), 2, overrides) == DayCount(D("2027-01-04"), frozenset({2027}))


def test_R24_years_before_the_data_also_fall_back():
    # Tue 2003-12-30: Wed 12-31 (1, fallback), 2004-01-01 official holiday,
    # Fri 01-02 (2), Mon 01-05 (3).
    assert is_working_day(D("2003-12-31")) == (True, False)
    assert is_working_day(D("2004-01-01")) == (False, True)
    assert add_working_days(D("2003-12-30"), 3) == DayCount(D("2004-01-05"), frozenset({2003}))


# --- Overrides in a known year -----------------------------------------------------------


def test_R24_override_holiday_wins_over_chinese_calendar():
    # 10-09 off as well: 10-10 (1), Sat 10-11 (2), 10-13 (3), 10-14 (4), 10-15 (5).
    overrides = CalendarOverrides(holidays=frozenset({D("2025-10-09")}))
    assert is_working_day(D("2025-10-09"), overrides) == (False, True)
    assert add_working_days(D("2025-09-30"), 5, overrides).day == D("2025-10-15")


def test_R24_override_workday_wins_over_chinese_calendar():
    # Official holiday 10-08 made a working day: 10-08 (1), 10-09, 10-10, Sat 10-11, Mon 10-13 (5).
    overrides = CalendarOverrides(workdays=frozenset({D("2025-10-08")}))
    assert is_working_day(D("2025-10-08"), overrides) == (True, True)
    assert add_working_days(D("2025-09-30"), 5, overrides).day == D("2025-10-13")


def test_R24_override_day_cannot_be_both_holiday_and_working_day():
    with pytest.raises(ValueError, match="2025-10-09"):
        CalendarOverrides(holidays={D("2025-10-09")}, workdays={D("2025-10-09")})


def test_R24_overrides_accept_any_iterable_and_stay_hashable():
    overrides = CalendarOverrides(holidays=[D("2025-10-09")], workdays=(D("2025-10-12"),))
    assert overrides.holidays == frozenset({D("2025-10-09")})
    assert overrides == CalendarOverrides(holidays=frozenset({D("2025-10-09")}), workdays={D("2025-10-12")})
    assert hash(overrides)


# --- n, types and working_days_between ---------------------------------------------------


def test_R24_zero_working_days_is_the_start_day_and_negative_is_rejected():
    assert add_working_days(D("2025-10-03"), 0) == DayCount(D("2025-10-03"), frozenset())
    assert working_day_deadline(at("2025-10-03T09:00+08:00"), 0) == (eod("2025-10-03"), frozenset())
    with pytest.raises(ValueError):
        add_working_days(D("2025-09-30"), -1)
    with pytest.raises(ValueError):
        hours_deadline(at("2025-09-30T09:00+08:00"), -1)


def test_R24_datetimes_are_not_taken_for_dates():
    # A UTC datetime's date can be the previous local day: callers convert first.
    with pytest.raises(TypeError):
        add_working_days(datetime(2025, 9, 30, 16, 30, tzinfo=UTC), 5)
    with pytest.raises(TypeError):
        is_working_day(datetime(2025, 9, 30, 16, 30, tzinfo=UTC))


def test_R24_working_days_between_counts_the_half_open_interval():
    assert working_days_between(D("2025-09-30"), D("2025-10-14")) == 5
    assert working_days_between(D("2025-10-01"), D("2025-10-08")) == 0
    assert working_days_between(D("2025-10-14"), D("2025-10-14")) == 0
    # Overdue: deadline 10-14, today 10-16 -> 10-15, 10-16 -> -2.
    assert working_days_between(D("2025-10-16"), D("2025-10-14")) == -2
    overrides = CalendarOverrides(holidays=frozenset({D("2025-10-09")}))
    assert working_days_between(D("2025-09-30"), D("2025-10-14"), overrides) == 4


@pytest.mark.parametrize("start", [D("2025-01-20") + timedelta(days=i) for i in range(0, 700, 9)])
def test_R24_working_days_between_inverts_add_working_days(start):
    for n in range(0, 12):
        assert working_days_between(start, add_working_days(start, n).day) == n


# --- Hour deadlines ----------------------------------------------------------------------


def test_R28_event_report_due_6_hours_after_discovery_across_midnight():
    due = hours_deadline(at("2025-09-30T20:00+08:00"), 6)
    assert due == at("2025-10-01T02:00+08:00")
    assert due.tzinfo == SH


def test_R27_and_R24_24_hours_across_the_year_end():
    assert hours_deadline(at("2025-12-31T10:00+08:00"), 24) == at("2026-01-01T10:00+08:00")


def test_R24_hours_deadline_returns_asia_shanghai_at_plus_eight():
    # 15:30 UTC + 24 h = next day 15:30 UTC = 23:30 in Shanghai (+08:00, no DST since 1991).
    due = hours_deadline(datetime(2025, 9, 30, 15, 30, tzinfo=UTC), 24)
    assert due.utcoffset() == timedelta(hours=8)
    assert (due.date(), due.time()) == (D("2025-10-01"), time(23, 30))


def test_R24_hours_deadline_counts_elapsed_hours_across_a_foreign_dst_change():
    # Berlin springs forward on 2025-03-30: 12:00 +01:00 (11:00 UTC) + 24 h is
    # 11:00 UTC = 19:00 Shanghai; wall-clock arithmetic in Berlin would give
    # 12:00 +02:00 = 18:00 Shanghai, an hour early.
    start = datetime(2025, 3, 29, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert hours_deadline(start, 24) == at("2025-03-30T19:00+08:00")


def test_R24_naive_datetimes_are_rejected():
    with pytest.raises(ValueError):
        hours_deadline(datetime(2025, 9, 30, 9, 0), 24)
    with pytest.raises(ValueError):
        working_day_deadline(datetime(2025, 9, 30, 9, 0), 5)


def test_the_deadlines_are_the_rules_own_values_and_read_from_settings(settings):
    assert deadlines() == Deadlines(report_hours=24, exchange_hours=24, accept_working_days=5,
                                    likely_to_leave_hours=24, event_hours=6, diagnosis_working_days=10)
    settings.GRIDCARE_DEADLINES = {**settings.GRIDCARE_DEADLINES, "event_hours": 4}
    assert deadlines().event_hours == 4
