"""Tests for cases.transfers.rules.transfer_deadlines: the three deadlines of a transfer
(R24), on the official calendar of tests/gridmap/test_calendar.py. Plain pytest; no database."""

import pytest

from cases.transfers.rules import transfer_deadlines
from gridmap.calendar import CalendarOverrides, Deadlines
from tests.gridmap.test_calendar import SH, D, at, eod

# --- transfer_deadlines ------------------------------------------------------------------


def test_R24_transfer_only_detected_has_only_a_report_deadline():
    deadlines = transfer_deadlines(detected_at=at("2025-09-29T09:00+08:00"))
    assert deadlines.report_by == at("2025-09-30T09:00+08:00")
    assert (deadlines.exchange_by, deadlines.accept_by, deadlines.fallback_years) == (None, None, frozenset())


def test_R24_transfer_deadlines_chain_from_the_actual_times():
    # Reported after 23 h (not at the report deadline): exchange due 24 h after
    # the report. Exchanged Tue 09-30 23:30 local (15:30 UTC): accept by 10-14.
    deadlines = transfer_deadlines(
        detected_at=at("2025-09-29T09:00+08:00"),
        reported_at=at("2025-09-30T08:00+08:00"),
        exchanged_at=at("2025-09-30T15:30+00:00"),
    )
    assert deadlines.report_by == at("2025-09-30T09:00+08:00")
    assert deadlines.exchange_by == at("2025-10-01T08:00+08:00")
    assert deadlines.accept_by == eod("2025-10-14")
    assert deadlines.accept_by.tzinfo == SH and deadlines.fallback_years == frozenset()


@pytest.mark.parametrize(
    ("exchanged_utc", "accept_day"),
    [
        # 09-30 23:30 local is 09-30 15:30 UTC: the same date either way -> 10-14.
        ("2025-09-30T15:30+00:00", "2025-10-14"),
        # 10-01 00:30 local is 09-30 16:30 UTC: local 10-01 is a holiday; from
        # 09-30 or 10-01 the count is the same (10-14), so this case alone
        # cannot tell local from UTC dates.
        ("2025-09-30T16:30+00:00", "2025-10-14"),
        # 09-30 00:30 local is 09-29 16:30 UTC: local 09-30 gives 10-14, whereas
        # the UTC date 09-29 would give 09-30, 10-09, 10-10, 10-11, 10-13 -> 10-13.
        ("2025-09-29T16:30+00:00", "2025-10-14"),
        # Sat 10-11 07:30 local is Fri 10-10 23:30 UTC: the local start is the
        # make-up Saturday (not counted) -> 10-17; the UTC date would give 10-16.
        ("2025-10-10T23:30+00:00", "2025-10-17"),
    ],
)
def test_R24_accept_deadline_counts_from_the_exchanges_local_date(exchanged_utc, accept_day):
    deadlines = transfer_deadlines(detected_at=at("2025-09-28T09:00+08:00"), exchanged_at=at(exchanged_utc))
    assert deadlines.accept_by == eod(accept_day)


def test_R24_transfer_into_2027_reports_the_fallback_and_honours_overrides():
    kwargs = {"detected_at": at("2026-12-26T09:00+08:00"), "exchanged_at": at("2026-12-28T10:00+08:00")}
    assert transfer_deadlines(**kwargs).accept_by == eod("2027-01-04")
    assert transfer_deadlines(**kwargs).fallback_years == frozenset({2027})
    overrides = CalendarOverrides(holidays=frozenset({D("2027-01-01")}))
    assert transfer_deadlines(**kwargs, overrides=overrides).accept_by == eod("2027-01-05")


def test_R24_transfer_numbers_are_configurable_and_keyword_only():
    deadlines = transfer_deadlines(
        detected_at=at("2025-09-29T09:00+08:00"),
        reported_at=at("2025-09-29T10:00+08:00"),
        exchanged_at=at("2025-09-26T10:00+08:00"),
        deadlines=Deadlines(report_hours=12, exchange_hours=6, accept_working_days=10),
    )
    assert deadlines.report_by == at("2025-09-29T21:00+08:00")
    assert deadlines.exchange_by == at("2025-09-29T16:00+08:00")
    assert deadlines.accept_by == eod("2025-10-16")  # the R33 count above
    with pytest.raises(TypeError):
        transfer_deadlines(at("2025-09-29T09:00+08:00"))
