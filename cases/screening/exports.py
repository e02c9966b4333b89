"""Screening exports: a campaign's coverage table (R31) and the mop-up lists of
households not yet screened (for the field and for visit routes)."""

from cases.screening import selectors
from cases.screening.models import Campaign
from geodata.writers import Sheet, write_table
from gridmap.models import GridUnit

COVERAGE_HEADERS = {
    "unit_code": ("单元编码", "unit_code"), "name": ("名称", "name"), "households": ("户数", "households"),
    "visited": ("已排查户数", "visited"), "coverage": ("覆盖率", "coverage"), "colour": ("颜色", "colour"),
}
MOP_UP_HEADERS = {
    "grid_code": ("网格编码", "grid_code"), "code": ("地址编码", "code"), "address": ("地址", "address"),
    "lon": ("经度", "lon"), "lat": ("纬度", "lat"),
}


def coverage_export(campaign: Campaign, *, level: int, fmt: str = "csv", lang: str = "zh") -> bytes:
    """One row per unit of the level under the scope; coverage 0..1 with four decimals,
    blank for a unit without households (R31: no coverage, not 0 %)."""
    rows = [[c.unit.code, c.unit.name, c.households, c.screened,
             "" if c.share is None else f"{c.share:.4f}", c.colour]
            for c in selectors.coverage_at_level(campaign, level)]
    sheet = Sheet("coverage", list(COVERAGE_HEADERS), COVERAGE_HEADERS, rows)
    return write_table([sheet], fmt=fmt, lang=lang)


def mop_up_export(campaign: Campaign, unit: GridUnit, *, fmt: str = "csv", lang: str = "zh") -> bytes:
    rows = [[h.grid.code if h.grid_id else "", h.code, h.address, round(h.geom.x, 6), round(h.geom.y, 6)]
            for h in selectors.mop_up_households(campaign, unit)]
    sheet = Sheet("mop-up", list(MOP_UP_HEADERS), MOP_UP_HEADERS, rows)
    return write_table([sheet], fmt=fmt, lang=lang)
