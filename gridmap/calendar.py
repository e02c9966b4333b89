"""Local dates, working days, periods and the configured deadlines that every subject
counts with: R24 transfer deadlines, R27/R28 hour limits, R33 diagnosis working days,
R8/R30 quarters and half-years.

No ORM and no database: plain values in, plain values out. Every rule date is the
local date (domain-rules preamble: Asia/Shanghai, named once, in settings.TIME_ZONE);
timezone-aware datetimes are converted before their date is taken, and deadlines come
back in local time. The numbers of the deadlines live in one object, `Deadlines`, read
from settings.GRIDCARE_DEADLINES by `deadlines()`, which production and tests share.

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

from calendar import monthrange
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
from django.conf import settings
from django.utils import timezone


def local_zone() -> ZoneInfo:
    """The one local time zone of every rule date (settings.TIME_ZONE, Asia/Shanghai)."""
    return timezone.get_default_timezone()


def local_today() -> date:
    """Today's local date."""
    return timezone.now().astimezone(local_zone()).date()


@dataclass(frozen=True)
class Deadlines:
    """The configurable deadlines of R24, R27, R28 and R33, with the rules' own values."""

    report_hours: int = 24  # R24: the origin reports within 24 h of detection
    exchange_hours: int = 24  # R24: the township group exchanges within 24 h of the report
    accept_working_days: int = 5  # R24: the destination accepts within 5 working days
    likely_to_leave_hours: int = 24  # R27: a patient likely to leave is reported within 24 h
    event_hours: int = 6  # R28: any other event is reported within 6 h
    diagnosis_working_days: int = 10  # R33: a suspected case is diagnosed within 10 working days


DEFAULT_DEADLINES = Deadlines()


def deadlines() -> Deadlines:
    """The deadlines as configured (settings.GRIDCARE_DEADLINES over the defaults)."""
    return Deadlines(**getattr(settings, "GRIDCARE_DEADLINES", {}))


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
    """The local date of an aware datetime (ValueError when naive)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: make it timezone-aware first")
    return moment.astimezone(local_zone()).date()


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
    """The last microsecond of the local `day` (a deadline is met up to it)."""
    return datetime.combine(_as_day(day), time.max, tzinfo=local_zone())


def working_day_deadline(
    start: datetime, n: int, overrides: CalendarOverrides = NO_OVERRIDES
) -> tuple[datetime, frozenset[int]]:
    """R24/R33: end (23:59:59.999999 local time) of the n-th working day after
    start's local date, and the fallback years. `start` must be aware."""
    count = add_working_days(local_date(start), n, overrides)
    return end_of_day(count.day), count.fallback_years


def hours_deadline(start: datetime, hours: int) -> datetime:
    """R24 (24 h), R27 (24 h), R28 (6 h): `hours` elapsed hours after an aware
    `start`, returned in local time.

    Computed in UTC: aware arithmetic in a zone with DST adds wall-clock time,
    which would be an hour off across a change. ValueError for naive or hours < 0."""
    local_date(start)  # rejects naive datetimes
    moment = start.astimezone(UTC) + timedelta(hours=_non_negative(hours, "hours"))
    return moment.astimezone(local_zone())


def add_months(day: date, months: int) -> date:
    """Calendar months (R6, R10, R16): `day` moved by `months` (negative allowed), clipped
    to the end of a shorter month: 31 Jan + 1 month = 28 Feb (29 Feb in a leap year)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def quarter_of(day: date) -> tuple[date, date]:
    """R8, R30: first and last day of the calendar quarter containing `day`."""
    first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return first, add_months(first, 3) - timedelta(days=1)


def half_year_of(day: date) -> tuple[date, date]:
    """R30: first and last day of the half-year containing `day`."""
    if day.month <= 6:
        return date(day.year, 1, 1), date(day.year, 6, 30)
    return date(day.year, 7, 1), date(day.year, 12, 31)


def year_of(day: date) -> tuple[date, date]:
    """R30: first and last day of the calendar year containing `day`."""
    return date(day.year, 1, 1), date(day.year, 12, 31)
