"""Correctness of the ledger and follow-up imports, checked against the generated files.

What the register should hold is worked out here from the files alone (the
latest risk assessment and reached follow-up, who shares a guardian or a
household) and pushed through cases.patients.rules, then compared with what the
importers stored.
"""

import inspect
from datetime import date

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import Count

from bench.ledger_data import AS_OF
from cases.patients import rules
from cases.patients.models import FollowUp, Guardian, Patient, RiskAssessment
from cases.transfers import rules as move_rules
from gridmap.models import Household

RECOMPUTED_SAMPLE = 1_000


def _fetch(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _share(good: int, total: int) -> tuple[bool, str]:
    return good == total, f"{good:,}/{total:,}"


def _day(value: str) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def expected_current(patients: pd.DataFrame, followups: pd.DataFrame) -> pd.DataFrame:
    """Per patient_no: risk level of the latest assessment (ledger or follow-up; an undated
    ledger one counts as made on the import date) and condition of the latest reached follow-up."""
    ledger = pd.DataFrame({
        "patient_no": patients["patient_no"],
        "risk": patients["risk_level"].astype(int),
        "on": patients["risk_assessed_on"].where(patients["risk_assessed_on"] != "", AS_OF.isoformat()),
        "condition": patients["condition"],
    }).set_index("patient_no")
    day = followups["followed_at"].str[:10]
    assessed = followups[followups["risk_level"] != ""].assign(on=day)
    latest = assessed.sort_values("followed_at").groupby("patient_no").last()
    newer = latest.index[latest["on"].to_numpy() > ledger.loc[latest.index, "on"].to_numpy()]
    ledger.loc[newer, "risk"] = latest.loc[newer, "risk_level"].astype(int)
    seen = followups[(followups["reached"] == "是") & (followups["condition"] != "")]
    condition = seen.sort_values("followed_at").groupby("patient_no")["condition"].last()
    ledger.loc[condition.index, "condition"] = condition
    return ledger


def recomputed(patients: pd.DataFrame, followups: pd.DataFrame, current: pd.DataFrame,
               sample: list[str]) -> dict[str, tuple]:
    """patient_no -> (key groups, next due, follow-ups this year, face-to-face due), by
    cases.patients.rules."""
    plan = rules.Schedule(**_settings_rules())
    active = patients[~patients["management_status"].isin(rules.INACTIVE_STATUSES)]
    by_guardian = active[active["guardian_id_number"] != ""].groupby("guardian_id_number").size()
    by_household = active[active["household_code"] != ""].groupby("household_code").size()
    rows = patients.set_index("patient_no").loc[sample]
    attempts_of = {no: group for no, group in followups[followups["patient_no"].isin(sample)]
                   .groupby("patient_no")}
    out = {}
    for no, row in rows.iterrows():
        visits = attempts_of.get(no, followups.iloc[:0])
        attempts = tuple(
            rules.Attempt(on=_day(at), reached=r == "是", face_to_face=m == "面访",
                          condition=rules.Condition(c) if c else None)
            for at, r, m, c in zip(visits["followed_at"], visits["reached"], visits["method"],
                                   visits["condition"], strict=True))
        risk, condition = int(current.at[no, "risk"]), rules.Condition(current.at[no, "condition"])
        guardian_id = row["guardian_id_number"]
        facts = rules.PatientFacts(
            status=row["management_status"], consent=row["consent"] or None, risk_level=risk,
            resident_since=_day(row["resident_since"]),
            has_guardian=bool(row["guardian_name"] or guardian_id),
            guardian_birth_date=rules.id_birth_date(guardian_id) if guardian_id
            else _day(row["guardian_birth_date"]),
            guardian_unable=row["guardian_unable"] == "是",
            active_patients_sharing_guardian=int(by_guardian.get(guardian_id, 1)) if guardian_id else 1,
            active_patients_in_household=int(by_household.get(row["household_code"], 1))
            if row["household_code"] else 1,
            prior_incidents=tuple(a for a in row["prior_incidents"].split(";") if a),
            psychotic_symptoms=row["psychotic_symptoms"] == "是",
            violent_tendency=row["violent_tendency"] == "是",
            admissions_past_year=int(row["admissions_past_year"]), attempts=attempts,
        )
        status = row["management_status"]
        face_due = (rules.needs_quarterly_face_to_face(status=status, risk_level=risk, condition=condition)
                    and not rules.face_to_face_done_in_quarter(attempts, AS_OF))
        out[no] = (rules.key_groups(facts, AS_OF, plan),
                   rules.next_due(attempts=attempts, condition=condition, status=status,
                                  registered_on=_day(row["registered_on"]), schedule=plan,
                                  **consent_argument(row["consent"] or None)),
                   rules.yearly_count(attempts, AS_OF.year), face_due)
    return out


def consent_argument(consent: str | None) -> dict:
    """next_due(consent=…) where the rules take it (R12: no follow-up due without consent)."""
    return {"consent": consent} if "consent" in inspect.signature(rules.next_due).parameters else {}


def _unit(value) -> int | None:
    return None if pd.isna(value) else int(value)


def _settings_rules() -> dict:
    from django.conf import settings

    return settings.GRIDCARE_RULES


def _arrays(frame: pd.DataFrame) -> list[list]:
    def number(column: str) -> list[float | None]:
        return [float(v) if v else None for v in frame[column]]

    return [frame["patient_no"].tolist(), frame["household_code"].tolist(),
            number("residence_lon"), number("residence_lat")]


FILE_ROWS = "unnest(%s::text[], %s::text[], %s::float8[], %s::float8[]) f(no, household, lon, lat)"
# Coordinates when the row gives them, else the household's point (formats.md §3).
POINT_SQL = f"""
    SELECT count(*) FROM {FILE_ROWS}
    JOIN cases_patient p ON p.patient_no = f.no
    LEFT JOIN gridmap_household h ON h.code = f.household
    WHERE p.geom IS NULL
       OR ST_X(p.geom) <> coalesce(f.lon, ST_X(h.geom)) OR ST_Y(p.geom) <> coalesce(f.lat, ST_Y(h.geom))
       OR p.household_id IS DISTINCT FROM h.id
"""
MISSED_SQL = """
    SELECT count(*) FROM cases_patient p WHERE p.micro_grid_id IS NULL
      AND EXISTS (SELECT 1 FROM gridmap_gridunit u WHERE u.level = 5 AND ST_Covers(u.geom, p.geom))
"""
WRONG_SQL = """
    SELECT count(*) FROM cases_patient p JOIN gridmap_gridunit u ON u.id = p.micro_grid_id
    WHERE u.level <> 5 OR NOT ST_Covers(u.geom, p.geom) OR p.outside
       OR ROW(p.county_id, p.township_id, p.village_id, p.grid_id)
          IS DISTINCT FROM ROW(u.county_id, u.township_id, u.village_id, u.grid_id)
"""


def ledger_checks(patients: pd.DataFrame, followups: pd.DataFrame, manifest: dict, runs: dict,
                  naive_placed: dict[str, int | None], seed: int = 11) -> dict[str, tuple[bool, str]]:
    """Each check: (passed, detail). Run after the ledger, its re-import and the follow-ups."""
    n = len(patients)
    first, again, follow = runs["ledger"]["report"], runs["again"]["report"], runs["followups"]["report"]
    flagged = set(Patient.objects.filter(outside=True).values_list("patient_no", flat=True))
    guardian_keys = np.where(patients["guardian_id_number"] != "", patients["guardian_id_number"],
                             np.where(patients["guardian_name"] != "", "p:" + patients["patient_no"], ""))
    stored = pd.DataFrame(list(Patient.objects.values_list(
        "patient_no", "risk_level", "condition", "key_groups", "next_due", "followups_this_year",
        "face_to_face_due", "classified_on", "micro_grid_id")),
        columns=["no", "risk", "condition", "groups", "due", "yearly", "face", "classified_on", "micro"],
    ).set_index("no")
    current = expected_current(patients, followups)
    same = ((stored.loc[current.index, "risk"].to_numpy() == current["risk"].to_numpy())
            & (stored.loc[current.index, "condition"].to_numpy() == current["condition"].to_numpy()))
    rng = np.random.default_rng(seed)
    sample = sorted(set(rng.choice(patients["patient_no"], min(RECOMPUTED_SAMPLE, n), replace=False))
                    | set(manifest["outside"]))
    expected = recomputed(patients, followups, current, sample)
    agree = sum(
        (list(stored.at[no, "groups"]), stored.at[no, "due"], stored.at[no, "yearly"], stored.at[no, "face"])
        == (groups, due, yearly, face) for no, (groups, due, yearly, face) in expected.items())
    with_risk = followups[followups["risk_level"] != ""]
    history = dict(RiskAssessment.objects.values("source").annotate(n=Count("id")).values_list("source", "n"))
    return {
        "every patient stored": _share(Patient.objects.count(), n),
        "no covered residence left without a micro-grid": _share(n - _fetch(MISSED_SQL)[0][0], n),
        "every placed patient's micro-grid covers the residence, ancestors agree": _share(
            n - len(flagged) - _fetch(WRONG_SQL)[0][0], n - len(flagged)),
        "residence = the household's point (code only) or the file's coordinates, bit for bit": _share(
            n - _fetch(POINT_SQL, _arrays(patients))[0][0], n),
        "outside = exactly the generated outside patients (importer's count too)": (
            flagged == set(manifest["outside"]) and first.stats.get("outside") == len(flagged),
            f"{len(flagged)} flagged, importer {first.stats.get('outside')}, "
            f"{len(manifest['outside'])} generated"),
        "one guardian per ID number (or per patient without one), shared ones once": _share(
            Guardian.objects.count(), len(set(guardian_keys) - {""})),
        "classified_on = the import date for every patient": _share(
            int((stored["classified_on"] == AS_OF).sum()), n),
        "re-import of the same ledger: nothing created, updated or moved": (
            again.created == 0 and again.updated == 0 and again.unchanged == n
            and not again.stats.get("moves") and not transfers_opened(),
            f"created {again.created}, updated {again.updated}, unchanged {again.unchanged:,}, "
            f"moves {again.stats.get('moves', {})}, transfers {transfers_opened()}"),
        "every follow-up stored": _share(FollowUp.objects.count(), len(followups)),
        "risk history: one ledger row per patient, one per follow-up re-assessment": (
            history.get("ledger") == n and history.get("follow_up") == len(with_risk),
            f"ledger {history.get('ledger', 0):,}/{n:,}, follow-up "
            f"{history.get('follow_up', 0):,}/{len(with_risk):,}"),
        "risk level and condition = the latest assessment and reached follow-up in the files": _share(
            int(same.sum()), n),
        f"key groups, next due, yearly count, face-to-face due = cases.patients.rules on the files "
        f"(sample of {len(sample):,})": _share(agree, len(sample)),
        "naive loop and set-based import agree on the sample's micro-grids": _share(
            sum(_unit(stored.at[no, "micro"]) == unit for no, unit in naive_placed.items()),
            len(naive_placed)),
        "follow-up import counted every row as new": _share(follow.created, len(followups)),
    }


def transfers_opened() -> int:
    from cases.transfers.models import Transfer

    return Transfer.objects.count()


def key_group_counts() -> dict[str, int]:
    rows = _fetch("SELECT g, count(*) FROM cases_patient, unnest(key_groups) g GROUP BY g")
    found = dict(rows)
    return {group: found.get(group, 0) for group in rules.KeyGroup.values}


LEVELS = ["county_id", "township_id", "village_id", "grid_id", "micro_grid_id"]


def placement_and_state() -> dict[str, tuple]:
    """patient_no -> ((placement at levels 1..5), risk level, risk assessed on, condition)."""
    return {row[0]: (row[1:6], *row[6:]) for row in Patient.objects.values_list(
        "patient_no", *LEVELS, "risk_level", "risk_assessed_on", "condition")}


def last_transfer() -> int:
    from cases.transfers.models import Transfer

    return Transfer.objects.order_by("-id").values_list("id", flat=True).first() or 0


def moved_outcome(moved: pd.DataFrame, before: dict[str, tuple], since: int, report) -> tuple[dict, dict]:
    """After the ledger with moved residences: the moves expected (cases.transfers.rules.move_kind from the
    stored placements and the new households'), the transfers this import opened (ids above
    `since`), who was re-homed, and
    whose risk or condition the ledger rewrote. Returns (figures, checks)."""
    from cases.transfers.models import Transfer

    after = placement_and_state()
    households = {row[0]: row[1:] for row in Household.objects.filter(
        code__in=list(moved["household_code"])).values_list("code", *LEVELS)}
    expected = {no: move_rules.move_kind(before[no][0], households[code])
                for no, code in zip(moved["patient_no"], moved["household_code"], strict=True)}
    expected = {no: kind for no, kind in expected.items() if kind}
    opened = dict(Transfer.objects.filter(source="import", id__gt=since)
                  .values_list("patient__patient_no", "kind"))
    handoff = {no for no, kind in expected.items() if kind in move_rules.HANDOFF_KINDS}
    right_place = sum(after[no][0] == (households[code] if no in handoff else before[no][0])
                      for no, code in zip(moved["patient_no"], moved["household_code"], strict=True)
                      if no in expected)
    stayed = [no for no in after if no not in expected]
    kinds = pd.Series(list(expected.values()), dtype=object).value_counts().to_dict()
    figures = {
        "moved": len(moved), "expected": kinds, "reported": report.stats.get("moves", {}),
        "handoffs": len(handoff), "risk_older": sum(
            after[no][2] is not None and before[no][2] is not None and after[no][2] < before[no][2]
            for no in stayed),
        "condition": sum(after[no][3] != before[no][3] for no in stayed),
    }
    checks = {
        "moves: a transfer or handoff of the R23 kind for every residence now in another "
        "micro-grid, none for anyone else": (opened == expected, f"{len(opened):,} opened, "
                                              f"{len(expected):,} expected ({_kinds(kinds)})"),
        "moves: handoffs re-homed, transfers kept with the origin until accepted (R25)": _share(
            right_place, len(expected)),
    }
    return figures, checks


def _kinds(kinds: dict) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in sorted(kinds.items())) or "none"
