"""Pure deadline rules: R24 transfer deadlines, R27/R28 hour limits, R33 working days.

No ORM, no database, no settings: plain values in, plain values out. Every rule
date is the Asia/Shanghai date (domain-rules preamble); timezone-aware datetimes
are converted before their date is taken, and deadlines come back in Asia/Shanghai.

Working days (R24, R33) follow the official calendar with 调休 make-up days, in
this order of precedence:

1. `CalendarOverrides` entered by an administrator (holidays and make-up working
   days, any year, e.g. once a new year's official calendar is published);
2. `chinese_calendar` (package chinesecalendar), whose data cover 2004..2026;
3. Monday–Friday for a day outside that data. The day's year is then reported in
   `DayCount.fallback_years` so the caller can warn that the deadline is a guess.

Overrides are decided per day, not per year: in a year chinese_calendar does not
know, an overridden day is known, but any other day examined is still decided by
the fallback and still reports its year. So overriding one day of 2027 does not
make 2027 "known"; only a future chinesecalendar release does.

chinese_calendar only says whether a day works; counting is done here, because
its `find_workday` counts a non-working start day as the first day (one day late
when an exchange happens on a holiday or weekend).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

LOCAL = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class CalendarOverrides:
    """Administrator-entered days that win over chinese_calendar and the fallback.

    Any iterable of dates is accepted and stored as a frozenset (a model can pass
    a flat values_list). A day cannot be both a holiday and a working day
    (ValueError); a datetime is not a day (TypeError)."""

    holidays: frozenset[date] = frozenset()  # days off, even if a weekday
    workdays: frozenset[date] = frozenset()  # make-up working days (调休), even if a weekend

    def __post_init__(self):
        object.__setattr__(self, "holidays", frozenset(_as_day(d) for d in self.holidays))
        object.__setattr__(self, "workdays", frozenset(_as_day(d) for d in self.workdays))
        both = self.holidays & self.workdays
        if both:
            raise ValueError(f"days both holiday and working day: {', '.join(map(str, sorted(both)))}")


NO_OVERRIDES = CalendarOverrides()


@dataclass(frozen=True)
class DayCount:
    """A day found by counting working days, and the years for which the
    Monday–Friday fallback decided at least one examined day (empty when none)."""

    day: date
    fallback_years: frozenset[int]


@dataclass(frozen=True)
class TransferDeadlines:
    """R24: the three deadlines of a transfer; a later one is None until the
    step it counts from has happened."""

    report_by: datetime
    exchange_by: datetime | None
    accept_by: datetime | None
    fallback_years: frozenset[int]


def _as_day(value: date) -> date:
    # A datetime is a date subclass; its .date() may be the UTC date, not the
    # local one, so callers must convert explicitly (see local_date).
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"expected a date, got {type(value).__name__}")
    return value


def _non_negative(n: int, what: str) -> int:
    if n < 0:
        raise ValueError(f"{what} must be >= 0, got {n}")
    return n


def local_date(moment: datetime) -> date:
    """The Asia/Shanghai date of an aware datetime (ValueError when naive)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: make it timezone-aware first")
    return moment.astimezone(LOCAL).date()


def is_working_day(day: date, overrides: CalendarOverrides = NO_OVERRIDES) -> tuple[bool, bool]:
    """(working, known) for a local date: overrides, then chinese_calendar, then
    Monday–Friday; `known` is False only when the Monday–Friday fallback decided."""
    day = _as_day(day)
    if day in overrides.holidays:
        return False, True
    if day in overrides.workdays:
        return True, True
    try:
        return chinese_calendar.is_workday(day), True
    except NotImplementedError:  # a year outside the package's data
        return day.weekday() < 5, False


def add_working_days(start: date, n: int, overrides: CalendarOverrides = NO_OVERRIDES) -> DayCount:
    """R24/R33: the n-th working day after `start`.

    `start` itself is never counted, whatever it is (working day, holiday, weekend
    or make-up day). n == 0 returns `start`; n < 0 raises ValueError. Invariant:
    working_days_between(start, add_working_days(start, n).day) == n."""
    day, left = _as_day(start), _non_negative(n, "n")
    fallback: set[int] = set()
    while left:
        day += timedelta(days=1)
        working, known = is_working_day(day, overrides)
        if not known:
            fallback.add(day.year)
        left -= working
    return DayCount(day=day, fallback_years=frozenset(fallback))


def working_days_between(start: date, end: date, overrides: CalendarOverrides = NO_OVERRIDES) -> int:
    """Working days in (start, end], for "n working days left" (start = today,
    end = the deadline's day). Negative when end < start: -(working days in
    (end, start]), i.e. "n working days overdue". Fallback use is not reported
    here; the deadline's own DayCount carries it."""
    start, end = _as_day(start), _as_day(end)
    if end < start:
        return -working_days_between(end, start, overrides)
    days = (start + timedelta(days=i) for i in range(1, (end - start).days + 1))
    return sum(is_working_day(day, overrides)[0] for day in days)


def end_of_day(day: date) -> datetime:
    """The last microsecond of `day` in Asia/Shanghai (a deadline is met up to it)."""
    return datetime.combine(_as_day(day), time.max, tzinfo=LOCAL)


def working_day_deadline(
    start: datetime, n: int, overrides: CalendarOverrides = NO_OVERRIDES
) -> tuple[datetime, frozenset[int]]:
    """R24/R33: end (23:59:59.999999 Asia/Shanghai) of the n-th working day after
    start's Asia/Shanghai date, and the fallback years. `start` must be aware."""
    count = add_working_days(local_date(start), n, overrides)
    return end_of_day(count.day), count.fallback_years


def hours_deadline(start: datetime, hours: int) -> datetime:
    """R24 (24 h), R27 (24 h), R28 (6 h): `hours` elapsed hours after an aware
    `start`, returned in Asia/Shanghai.

    Computed in UTC: aware arithmetic in a zone with DST adds wall-clock time,
    which would be an hour off across a change. ValueError for naive or hours < 0."""
    local_date(start)  # rejects naive datetimes
    moment = start.astimezone(UTC) + timedelta(hours=_non_negative(hours, "hours"))
    return moment.astimezone(LOCAL)


def transfer_deadlines(
    *,
    detected_at: datetime,
    reported_at: datetime | None = None,
    exchanged_at: datetime | None = None,
    report_hours: int = 24,
    exchange_hours: int = 24,
    accept_working_days: int = 5,
    overrides: CalendarOverrides = NO_OVERRIDES,
) -> TransferDeadlines:
    """R24: report within 24 h of detection, exchange within 24 h of the report,
    accept within 5 working days of the exchange's Asia/Shanghai date (that day
    not counted). Each deadline counts from its own predecessor's actual time,
    not from the previous deadline; the numbers are configurable."""
    exchange_by = hours_deadline(reported_at, exchange_hours) if reported_at is not None else None
    accept_by, fallback = None, frozenset()
    if exchanged_at is not None:
        accept_by, fallback = working_day_deadline(exchanged_at, accept_working_days, overrides)
    return TransferDeadlines(
        report_by=hours_deadline(detected_at, report_hours),
        exchange_by=exchange_by,
        accept_by=accept_by,
        fallback_years=fallback,
    )
