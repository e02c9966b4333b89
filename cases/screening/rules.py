"""Pure rules of screening: campaign kinds and their cadence (R30), what a visit's result
means (R31), coverage shares, colours and masked counts (R31, R35).

No ORM, no database: plain values in, plain values out. The configurable numbers live in
`ScreeningRules`, whose defaults are the rules' own values (settings.GRIDCARE_SCREENING
over them, read by cases.screening.selectors.screening_rules).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _

from gridmap.calendar import half_year_of, quarter_of, year_of


class CampaignKind(TextChoices):
    """R30: the kinds of screening campaign."""

    TOWNSHIP_HALF_YEARLY = "township_half_yearly", _("township half-yearly special screening")
    VILLAGE_QUARTERLY = "village_quarterly", _("village quarterly screening")
    ANNUAL_FULL = "annual_full", _("annual whole-area screening")
    SPECIAL = "special", _("special screening")


class VisitResult(TextChoices):
    """R31, R33: what a screening visit found, stored as the Chinese answer."""

    NORMAL = "无异常", _("nothing unusual")
    SUSPECTED = "发现疑似患者", _("suspected case found")
    NOBODY_HOME = "无人在家", _("nobody home")  # R31: does not screen the household


# R30: (kind, level of the units that owe it, the period it is owed for).
CADENCE: tuple[tuple[str, int, Callable[[date], tuple[date, date]]], ...] = (
    (CampaignKind.TOWNSHIP_HALF_YEARLY, 2, half_year_of),  # each township, every half-year
    (CampaignKind.VILLAGE_QUARTERLY, 3, quarter_of),  # each village, every quarter
    (CampaignKind.ANNUAL_FULL, 2, year_of),  # each township, a whole-area screening a year
)

SMALL = "<5"  # how a masked count is shown
WITHHELD = "—"  # a count hidden so that a masked sibling cannot be recomputed from it


@dataclass(frozen=True)
class ScreeningRules:
    """The configurable numbers of R31, R32 and the masking of small counts (R35)."""

    on_site_metres: float = 200.0  # R32
    # R31 colours, highest threshold first: ≥ 90 % green, 75–90 % orange, 20–75 % red, < 20 % yellow.
    colours: Sequence[tuple[float, str]] = ((0.9, "green"), (0.75, "orange"), (0.2, "red"), (0.0, "yellow"))
    min_cell_count: int = 5  # aggregates below this are shown as "<5" to leaders


def coverage_share(screened: int, households: int) -> Decimal | None:
    """R31: screened ÷ households with four decimals; None for a unit without households
    (no coverage, not 0 %)."""
    if not households:
        return None
    return (Decimal(screened) / Decimal(households)).quantize(Decimal("0.0001"))


def coverage_colour(share: Decimal | float | None, rules: ScreeningRules = ScreeningRules()) -> str:
    """R31 colours: the first band whose threshold the share reaches; "none" without a share."""
    if share is None:
        return "none"
    for threshold, colour in rules.colours:
        if share >= Decimal(str(threshold)):
            return colour
    return rules.colours[-1][1]


def legend(rules: ScreeningRules = ScreeningRules()) -> list[dict]:
    """The R31 colour bands as the maps draw them, highest first ({colour, from, to})."""
    bands, upper = [], None
    for threshold, colour in rules.colours:
        bands.append({"colour": colour, "from": threshold, "to": upper})
        upper = threshold
    return bands


def masked(count: int, rules: ScreeningRules = ScreeningRules()) -> int | str:
    """A count as a leader may see it: below the minimum it is shown as "<5" (R35)."""
    return SMALL if count < rules.min_cell_count else count


def withheld_with(counts: Sequence[int], rules: ScreeningRules = ScreeningRules()) -> set[int]:
    """R35: which of the sibling counts (positions) must be hidden besides those below the
    minimum, so that no hidden count can be recomputed as the parent's total less the
    others: a lone masked sibling takes the smallest shown one with it."""
    small = [i for i, n in enumerate(counts) if n < rules.min_cell_count]
    shown = sorted((n, i) for i, n in enumerate(counts) if n >= rules.min_cell_count)
    if len(small) == 1 and shown:
        return {shown[0][1]}
    return set()
