"""Pure rules of moves and transfers: the kind of a residence change (R23) and the three
deadlines of a transfer (R24).

No ORM, no database: plain values in, plain values out. The deadline numbers come from
gridmap.calendar.Deadlines (settings-backed), the working days from its calendar.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _

from gridmap.calendar import (
    DEFAULT_DEADLINES,
    NO_OVERRIDES,
    CalendarOverrides,
    Deadlines,
    hours_deadline,
    working_day_deadline,
)


class MoveKind(TextChoices):
    """R23: the canonical move kinds (formats.md), named by the level crossed."""

    MICRO_GRID = "micro_grid", _("within a grid")  # handoff
    GRID = "grid", _("within a village")  # handoff
    VILLAGE = "village", _("within a township")  # transfer
    TOWNSHIP = "township", _("within a county")  # transfer
    COUNTY = "county", _("between counties")  # transfer
    OUTSIDE = "outside", _("out of the area")  # outflow


# A handoff stays in one village and takes effect at once; a transfer does not (R23).
HANDOFF_KINDS = frozenset({MoveKind.MICRO_GRID, MoveKind.GRID})
TRANSFER_KINDS = frozenset({MoveKind.VILLAGE, MoveKind.TOWNSHIP, MoveKind.COUNTY})
# The kind named after the lowest level the old and new residence share (formats.md).
_SHARED_LEVEL_KIND = {4: MoveKind.MICRO_GRID, 3: MoveKind.GRID, 2: MoveKind.VILLAGE, 1: MoveKind.TOWNSHIP}


def move_kind(old: Sequence[int | None], new: Sequence[int | None]) -> str | None:
    """R23: the kind of a residence change between two placements.

    `old` and `new` are the unit ids at levels 1..5 (county … micro-grid), None
    where there is none; an all-None `new` is a point in no stored unit. Returns
    None when the deepest units are the same (no move), "outside" when the new
    point lies in no unit, "county" when no level-1 unit is shared (including an
    old placement that is unknown), else the kind named after the lowest shared
    level's child (same grid -> "micro_grid", same village -> "grid", …).
    """
    if len(old) != 5 or len(new) != 5:
        raise ValueError("placements have five levels")
    if not any(new):
        return None if not any(old) else MoveKind.OUTSIDE
    if deepest(old) == deepest(new):
        return None
    for level in (4, 3, 2, 1):
        if old[level - 1] is not None and old[level - 1] == new[level - 1]:
            return _SHARED_LEVEL_KIND[level]
    return MoveKind.COUNTY


def deepest(placement: Sequence[int | None]) -> int | None:
    """R23: the deepest unit of a placement (micro-grid first), or None."""
    return next((unit for unit in reversed(placement) if unit is not None), None)


@dataclass(frozen=True)
class TransferDeadlines:
    """R24: the three deadlines of a transfer; a later one is None until the
    step it counts from has happened."""

    report_by: datetime
    exchange_by: datetime | None
    accept_by: datetime | None
    fallback_years: frozenset[int]


def transfer_deadlines(
    *,
    detected_at: datetime,
    reported_at: datetime | None = None,
    exchanged_at: datetime | None = None,
    deadlines: Deadlines = DEFAULT_DEADLINES,
    overrides: CalendarOverrides = NO_OVERRIDES,
) -> TransferDeadlines:
    """R24: report within 24 h of detection, exchange within 24 h of the report,
    accept within 5 working days of the exchange's local date (that day not
    counted). Each deadline counts from its own predecessor's actual time, not
    from the previous deadline; the numbers are `deadlines` (configurable)."""
    exchange_by = (hours_deadline(reported_at, deadlines.exchange_hours)
                   if reported_at is not None else None)
    accept_by, fallback = None, frozenset()
    if exchanged_at is not None:
        accept_by, fallback = working_day_deadline(exchanged_at, deadlines.accept_working_days, overrides)
    return TransferDeadlines(
        report_by=hours_deadline(detected_at, deadlines.report_hours),
        exchange_by=exchange_by,
        accept_by=accept_by,
        fallback_years=fallback,
    )
