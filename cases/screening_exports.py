"""Screening exports: a campaign's coverage table (R31) and the mop-up lists of
households not yet screened (for the field and for visit routes)."""

from cases import coverage
from cases.ledgers import Ledger, Sheet, ledger_write
from cases.models import Campaign
from gridmap.models import LEVEL_FIELDS, GridUnit, Household

COVERAGE_HEADERS = {
    "unit_code": ("单元编码", "unit_code"), "name": ("名称", "name"), "households": ("户数", "households"),
    "visited": ("已排查户数", "visited"), "coverage": ("覆盖率", "coverage"), "colour": ("颜色", "colour"),
}
MOP_UP_HEADERS = {
    "grid_code": ("网格编码", "grid_code"), "code": ("地址编码", "code"), "address": ("地址", "address"),
    "lon": ("经度", "lon"), "lat": ("纬度", "lat"),
}


def _write(kind: str, headers: dict, rows: list[list], fmt: str, lang: str) -> bytes:
    sheet = Sheet(kind, list(headers), rows, headers=headers)
    return ledger_write(Ledger(kind, lang, [sheet], []), fmt)


def coverage_export(campaign: Campaign, *, level: int, fmt: str = "csv", lang: str = "zh") -> bytes:
    """One row per unit of the level under the scope; coverage 0..1 with four decimals,
    blank for a unit without households (R31: no coverage, not 0 %)."""
    rows = [[c.unit.code, c.unit.name, c.households, c.screened,
             "" if c.share is None else f"{c.share:.4f}", c.colour]
            for c in coverage.coverage_at_level(campaign, level)]
    return _write("coverage", COVERAGE_HEADERS, rows, fmt, lang)


def mop_up_households(campaign: Campaign, unit: GridUnit):
    """Households under the unit (and the campaign's scope) not yet screened: the
    mop-up list (补漏), ordered for the field by grid and code."""
    column = f"{LEVEL_FIELDS[unit.level]}_id"
    scope_column = f"{LEVEL_FIELDS[campaign.scope.level]}_id"
    return (Household.objects.filter(**{column: unit.pk, scope_column: campaign.scope_id})
            .exclude(visits__campaign=campaign, visits__screened=True)
            .select_related("grid").order_by("grid__code", "code"))


def mop_up_export(campaign: Campaign, unit: GridUnit, *, fmt: str = "csv", lang: str = "zh") -> bytes:
    rows = [[h.grid.code if h.grid_id else "", h.code, h.address, round(h.geom.x, 6), round(h.geom.y, 6)]
            for h in mop_up_households(campaign, unit)]
    return _write("mop-up", MOP_UP_HEADERS, rows, fmt, lang)
