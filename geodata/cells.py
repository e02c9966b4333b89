"""Parsing the cells of ledger files (formats.md §3–§7): each parser returns
the value or raises CellError with a message for `row N, column C: message`."""

import json
import math
import re
from datetime import date, datetime, timedelta
from decimal import Decimal, DecimalException

from django.core.exceptions import ValidationError
from django.utils import timezone

from geodata.readers import blank

# Plausible dates (every file, form and API field): nothing before 1900; what has happened
# (a birth, a follow-up, a visit) at most a day ahead of today (clocks and time zones
# differ by less), what is planned (a campaign's window) before 2100.
EARLIEST = date(1900, 1, 1)
LATEST_PLANNED = date(2099, 12, 31)


def date_problem(day: date, *, planned: bool = False) -> str | None:
    """What makes a date implausible, or None."""
    if isinstance(day, datetime):
        day = timezone.localtime(day).date() if timezone.is_aware(day) else day.date()
    if day < EARLIEST:
        return f"{day} is before {EARLIEST}"
    latest = LATEST_PLANNED if planned else timezone.localdate() + timedelta(days=1)
    if day > latest:
        return f"{day} is after {latest}" if planned else f"{day} is in the future"
    return None


def plausible_date(value) -> None:
    """Validator for forms and API fields of something that has happened (a date or an
    aware datetime): ValidationError when implausible."""
    problem = date_problem(value) if value is not None else None
    if problem:
        raise ValidationError(problem)

YES = {"是", "y", "yes", "true", "1", "有"}
NO = {"否", "n", "no", "false", "0", "无"}
_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]00:00(?::00)?)?")
_DATETIME = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")


class CellError(ValueError):
    pass


def text(value) -> str:
    return "" if blank(value) else str(value).strip()


def as_int(value) -> int | None:
    """An integer cell, whatever the file made of it ("3", 3, 3.0); None if not one."""
    if blank(value):
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def to_json(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def extra_json(record: dict, known) -> str:
    """formats.md: the columns an importer does not know, kept as JSON text (`extra`)."""
    return to_json({str(k): text(v) for k, v in record.items() if k not in known and text(v)})


def parse_date(value, *, planned: bool = False) -> date | None:
    """YYYY-MM-DD (also / . or 年月日, and Excel's "YYYY-MM-DD 00:00:00"); blank is None.
    A plausible date (date_problem): `planned` for a date that may lie ahead."""
    value = text(value)
    if not value:
        return None
    match = _DATE.fullmatch(value)
    if not match:
        raise CellError(f"{value!r} is not a date (YYYY-MM-DD)")
    try:
        day = date(*(int(g) for g in match.groups()))
    except ValueError:
        raise CellError(f"{value!r} is not a real date") from None
    problem = date_problem(day, planned=planned)
    if problem:
        raise CellError(problem)
    return day


def parse_datetime(value) -> datetime | None:
    """YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS], naive (the caller applies the local zone), of
    something that has happened (a plausible date, date_problem)."""
    value = text(value)
    if not value:
        return None
    match = _DATETIME.fullmatch(value)
    if not match:
        raise CellError(f"{value!r} is not a date or time (YYYY-MM-DD HH:MM)")
    try:
        moment = datetime(*(int(g or 0) for g in match.groups()))
    except ValueError:
        raise CellError(f"{value!r} is not a real date or time") from None
    problem = date_problem(moment)
    if problem:
        raise CellError(problem)
    return moment


def parse_bool(value) -> bool | None:
    """是/否 (also yes/no, y/n, true/false, 1/0); blank is None."""
    value = text(value).lower()
    if not value:
        return None
    if value in YES:
        return True
    if value in NO:
        return False
    raise CellError(f"{value!r} is not 是 or 否")


def parse_int(value, *, low: int | None = None, high: int | None = None) -> int | None:
    """A whole number, optionally within [low, high]; blank is None."""
    value = text(value)
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise CellError(f"{value!r} is not a whole number") from None
    if not number.is_integer():
        raise CellError(f"{value!r} is not a whole number")
    number = int(number)
    if (low is not None and number < low) or (high is not None and number > high):
        raise CellError(f"{number} is outside {low}..{high}")
    return number


def parse_float(value) -> float | None:
    """A finite number; blank is None ("nan" and "inf" are not numbers a file can mean)."""
    value = text(value)
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise CellError(f"{value!r} is not a number") from None
    if not math.isfinite(number):
        raise CellError(f"{value!r} is not a number")
    return number


def parse_choice(value, choices: dict[str, str], what: str) -> str | None:
    """One of the accepted spellings (keys, compared case-insensitively) -> canonical value."""
    value = text(value)
    if not value:
        return None
    found = choices.get(value, choices.get(value.lower()))
    if found is None:
        raise CellError(f"unknown {what} {value!r}")
    return found


def parse_share(value) -> Decimal | None:
    """A share 0..1 as 0.9 or 90% (four decimals, as stored); blank is None."""
    value = text(value)
    if not value:
        return None
    number = value.rstrip("%％").strip()
    try:
        share = Decimal(number)
    except DecimalException:
        share = Decimal("NaN")
    if not share.is_finite():
        raise CellError(f"{value!r} is not a share (0.9 or 90%)")
    # Compared before dividing: 9e999999999% would overflow in the division.
    high = 100 if number != value else 1
    if not 0 <= share <= high:
        raise CellError(f"{value!r} is outside 0..1 (write 0.9 or 90%)")
    return (share / high).quantize(Decimal("0.0001"))


class RowCells:
    """One table row being checked: every failure is reported as `row N, column C:
    message` and none stops the others (formats.md: every bad row, every column)."""

    def __init__(self, n: int, record: dict, report):
        self.n, self.record, self.report = n, record, report

    def fail(self, column: str, message: str, key: str = "bad_value") -> None:
        self.report.error(f"row {self.n}, column {column}", key, message)

    def cell(self, column: str, parse, *args, **kwargs):
        """The parsed cell, or None after reporting why it could not be parsed."""
        try:
            return parse(self.record[column], *args, **kwargs)
        except CellError as exc:
            self.fail(column, str(exc))
            return None

    def require(self, columns) -> None:
        for column in columns:
            if not text(self.record[column]):
                self.fail(column, f"{column} is required", "required")

    def text(self, column: str, max_length: int | None = None) -> str:
        """The cell as text, reported when longer than the field it fills holds."""
        value = text(self.record[column])
        if max_length is not None and len(value) > max_length:
            self.fail(column, f"{len(value)} characters, more than the {max_length} allowed", "too_long")
            return value[:max_length]
        return value
