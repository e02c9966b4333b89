"""Checks of a screening run: the stored coverage against what the generator drew.

The generator knows, for every campaign, which households of its scope got a
counted visit; every other visit is a decoy (无人在家, outside the window, outside
the scope). So the expected numerator and denominator of every unit at every
level follow from the households' stored placement, independently of the SQL
under test.
"""

import numpy as np
import pandas as pd
from django.db import connection

from bench.screening_data import COUNTED, FOREIGN, LATE, LEVEL_COLUMNS, NOBODY, REPEAT, ScreeningData
from gridmap.models import LEVEL_FIELDS


def _fetch(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _share(good: int, total: int, extra: str = "") -> tuple[bool, str]:
    return good == total, f"{good:,}/{total:,}" + (f"; {extra}" if extra else "")


def expected_counts(data: ScreeningData) -> pd.DataFrame:
    """campaign code, unit id, households, screened: R31 for every unit under every scope
    that holds households (units without any are stored as 0/0)."""
    frames = []
    for campaign in data.campaigns.itertuples():
        column = LEVEL_COLUMNS[campaign.scope_level - 1]
        inside = data.households[data.households[column] == campaign.scope_id]
        screened = inside["id"].isin(data.screened[campaign.code])
        for level in range(campaign.scope_level, 6):
            by = inside[LEVEL_COLUMNS[level - 1]]
            counts = pd.DataFrame({"unit_id": by, "screened": screened}).query("unit_id != 0")
            grouped = counts.groupby("unit_id").agg(households=("screened", "size"),
                                                    screened=("screened", "sum")).reset_index()
            grouped["code"] = campaign.code
            frames.append(grouped)
    return pd.concat(frames, ignore_index=True)


def stored_counts() -> pd.DataFrame:
    return pd.DataFrame(_fetch("""
        SELECT c.code, cc.unit_id, cc.level, cc.households, cc.screened
        FROM cases_coveragecount cc JOIN cases_campaign c ON c.id = cc.campaign_id
    """), columns=["code", "unit_id", "level", "households", "screened"])


def units_under_scopes() -> int:
    """Rows coverage_rebuild must store: every unit under each scope, the scope included."""
    scope_tests = " OR ".join(f"(s.level = {level} AND u.{name}_id = s.id)"
                              for level, name in LEVEL_FIELDS.items())
    return _fetch(f"""
        SELECT count(*) FROM cases_campaign c JOIN gridmap_gridunit s ON s.id = c.scope_id
        JOIN gridmap_gridunit u ON ({scope_tests})
    """)[0][0]


RECOMPUTE_SQL = """
    SELECT u.id,
        (SELECT count(*) FROM gridmap_household h WHERE h.{column} = u.id AND h.{scope} = %(scope)s),
        (SELECT count(DISTINCT v.household_id) FROM cases_visit v
         JOIN gridmap_household h ON h.id = v.household_id
         WHERE v.campaign_id = %(campaign)s AND h.{column} = u.id AND h.{scope} = %(scope)s
           AND v.result <> '无人在家'
           AND (v.visited_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN %(starts)s AND %(ends)s)
    FROM gridmap_gridunit u WHERE u.id = ANY(%(units)s)
"""


def recomputed(campaign, units: dict[int, int]) -> dict[int, tuple[int, int]]:
    """unit id -> (households, screened) recomputed in SQL from the raw visits, per level."""
    out = {}
    for level in set(units.values()):
        sql = RECOMPUTE_SQL.format(column=f"{LEVEL_FIELDS[level]}_id",
                                   scope=f"{LEVEL_FIELDS[campaign.scope.level]}_id")
        rows = _fetch(sql, {"scope": campaign.scope_id, "campaign": campaign.pk, "starts": campaign.starts_on,
                            "ends": campaign.ends_on, "units": [u for u, lv in units.items() if lv == level]})
        out |= {unit: (h, s) for unit, h, s in rows}
    return out


IN_SCOPE = " OR ".join(f"(s.level = {lv} AND h.{n}_id = s.id)" for lv, n in LEVEL_FIELDS.items())
NOT_COUNTING_SQL = f"""
    SELECT count(*) FROM cases_visit v
    JOIN cases_campaign c ON c.id = v.campaign_id JOIN gridmap_gridunit s ON s.id = c.scope_id
    JOIN gridmap_household h ON h.id = v.household_id
    WHERE v.screened AND (v.result = '无人在家'
       OR (v.visited_at AT TIME ZONE 'Asia/Shanghai')::date NOT BETWEEN c.starts_on AND c.ends_on
       OR NOT coalesce({IN_SCOPE}, false))
"""


def screening_checks(data: ScreeningData, main, out: dict) -> dict[str, tuple[bool, str]]:
    kinds = out["kinds"]
    visits = data.visits
    n_visits, n_screened, n_false, on_false, on_null, cases = _fetch("""
        SELECT count(*), count(*) FILTER (WHERE screened), count(*) FILTER (WHERE NOT screened),
               count(*) FILTER (WHERE on_site IS FALSE), count(*) FILTER (WHERE on_site IS NULL),
               (SELECT count(*) FROM cases_suspectedcase)
        FROM cases_visit
    """)[0]
    expected = expected_counts(data)
    stored = stored_counts()
    merged = stored.merge(expected, on=["code", "unit_id"], how="outer", suffixes=("", "_expected"))
    merged[["households_expected", "screened_expected"]] = merged[
        ["households_expected", "screened_expected"]].fillna(0)
    good = ((merged["households"] == merged["households_expected"])
            & (merged["screened"] == merged["screened_expected"])).sum()
    scope_rows = units_under_scopes()
    naive = out["naive"]["results"]
    levels = dict(_fetch("SELECT id, level FROM gridmap_gridunit WHERE id = ANY(%s)", [list(naive)]))
    again = recomputed(main, levels)
    mine = stored[stored["code"] == main.code].set_index("unit_id")
    mine_of = {u: (int(mine.at[u, "households"]), int(mine.at[u, "screened"])) for u in naive}
    counted_visits = int(kinds[COUNTED] + kinds[REPEAT])
    truth = sum(len(ids) for ids in data.screened.values())
    scope_level = stored.merge(data.campaigns[["code", "scope_id"]], left_on=["code", "unit_id"],
                               right_on=["code", "scope_id"])
    households_main = int(mine.at[main.scope_id, "households"])
    hexes = out["hexagons"]["households"]
    unvisited = households_main - len(data.screened[main.code])
    suspected = int((visits["result"] == "发现疑似患者").sum())
    decoys = int(kinds[NOBODY] + kinds[LATE] + kinds[FOREIGN])
    return {
        "every visit stored": _share(n_visits, len(visits)),
        "stored coverage = the generator's, every unit of every level of every campaign": _share(
            int(good), len(merged), f"{len(stored):,} rows stored, {scope_rows:,} units under the scopes"),
        "stored coverage = a recomputation in SQL from the raw visits (naive sample, every level)": _share(
            sum(again.get(u) == mine_of[u] for u in naive), len(naive)),
        "naive ORM loop = stored coverage on its sample": _share(
            sum(tuple(naive[u]) == mine_of[u] for u in naive), len(naive)),
        "repeat visits count once: screened at the scopes = households drawn as screened": _share(
            int(scope_level["screened"].sum()), truth,
            f"{counted_visits:,} visits in the window to them, {n_screened:,} marked screened"),
        "screened ≤ households in every unit": _share(
            int((stored["screened"] <= stored["households"]).sum()), len(stored)),
        "no 无人在家 / out-of-window / out-of-scope visit counts (SQL on the raw columns)": _share(
            n_screened - _fetch(NOT_COUNTING_SQL)[0][0], n_screened),
        "visits not counted = the generator's decoys": _share(
            n_false, decoys, f"无人在家 {kinds[NOBODY]:,}, outside the window {kinds[LATE]:,}, "
                             f"outside the scope {kinds[FOREIGN]:,}"),
        "R32: not on site = the far GPS fixes, no fix = on_site NULL": (
            on_false == int(visits["far"].sum()) and on_null == int((~visits["fix"]).sum()),
            f"not on site {on_false:,}/{int(visits['far'].sum()):,}, "
            f"no fix {on_null:,}/{int((~visits['fix']).sum()):,}"),
        "R33: one suspected case per 发现疑似患者 visit": _share(cases, suspected),
        "hexagons (250 m) hold every unvisited household of the county": _share(
            hexes, unvisited, f"{out['hexagons']['cells']:,} cells"),
    }


def kinds_line(kinds: np.ndarray) -> str:
    from bench.screening_data import KIND_NAMES

    return ", ".join(f"{name} {int(n):,}" for name, n in zip(KIND_NAMES, kinds, strict=True))
