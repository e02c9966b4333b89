"""The ledgers (台账) users download: key groups, lost patients, follow-ups due.

`ledger_build` returns a Ledger (sheets of headers and rows) for one user's
scope and field detail (R35), evaluated as of a date; `ledger_write` turns it
into CSV or XLSX. Each export is logged with the patients it contained.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from cases.patients import rules, selectors
from cases.patients.models import FollowUp, LostSearch, Patient, Task
from cases.patients.rules import INACTIVE_STATUSES
from cases.patients.services import classify_results
from geodata.writers import Sheet, write_table
from gridmap import access
from gridmap.calendar import local_date
from gridmap.models import LEVEL_FIELDS, GridUnit

KINDS = ("key-groups", "lost", "followups-due")
DUE_SOON_DAYS = 14  # followups-due lists what is overdue or due within two weeks

HEADERS = {  # column key -> (中文, English)
    "patient_no": ("档案编号", "patient_no"), "name": ("姓名", "name"),
    "county_code": ("区县编码", "county_code"), "township_code": ("乡镇编码", "township_code"),
    "village_code": ("村社区编码", "village_code"), "grid_code": ("网格编码", "grid_code"),
    "micro_grid_code": ("微网格编码", "micro_grid_code"), "key_groups": ("重点管理人群", "key_groups"),
    "risk_level": ("危险性评估等级", "risk_level"), "condition": ("病情", "condition"),
    "next_due": ("下次随访日期", "next_due"), "days_overdue": ("逾期天数", "days_overdue"),
    "guardian": ("监护人", "guardian"), "police": ("民警", "police"),
    "village_committee": ("村两委", "village_committee"), "village_doctor": ("村医", "village_doctor"),
    "liaison_leader": ("联村领导", "liaison_leader"), "gaps": ("缺位", "team_gaps"),
    "status": ("管理状态", "status"), "responsible": ("责任人", "responsible"),
    "responsible_role": ("责任角色", "responsible_role"), "tasks": ("待办", "open_tasks"),
    "date": ("日期", "date"), "entry": ("记录类型", "entry"), "detail": ("内容", "detail"),
    "address": ("现住址", "residence_address"),
}
GAP = {"zh": "（缺）", "en": "(gap)"}
MEDICAL_COLUMNS = {"condition", "next_due", "days_overdue"}
RISK_COLUMNS = {"risk_level", "key_groups"}


def _sheet(title: str, columns: list[str], rows: list[list] | None = None) -> Sheet:
    return Sheet(title, columns, HEADERS, rows if rows is not None else [])


@dataclass
class Ledger:
    """A ledger's sheets and the patients it holds (for the access log, R35)."""

    kind: str
    lang: str
    sheets: list[Sheet]
    patient_ids: list[int]


def _visible_columns(columns: list[str], groups: frozenset[str]) -> list[str]:
    """Field detail by role (R35): medical and risk columns only for those who may see them."""
    hidden = set()
    if access.MEDICAL not in groups:
        hidden |= MEDICAL_COLUMNS
    if access.RISK not in groups:
        hidden |= RISK_COLUMNS
    return [c for c in columns if c not in hidden]


def _scoped(user, unit: GridUnit | None):
    patients = selectors.patients_visible_to(user) if user is not None else Patient.objects.all()
    if unit is not None:
        patients = patients.living_or_registered_under([unit])
    return patients.exclude(status__in=INACTIVE_STATUSES).select_related(
        "guardian", "county", "township", "village", "grid", "micro_grid").order_by("patient_no")


def _as_of_results(patients: list[Patient], as_of: date) -> dict[int, tuple[list[str], date | None]]:
    """Key groups and due dates as of the ledger's date: stored ones when they were
    computed for that date, recomputed in memory (nothing written) otherwise."""
    if all(p.classified_on == as_of for p in patients):
        return {p.pk: (p.key_groups, p.next_due) for p in patients}
    return {r[0]: (r[1], r[2]) for r in classify_results(as_of=as_of, patient_ids=[p.pk for p in patients])}


def _names(people) -> str:
    return "、".join(str(p) for p in people)


def ledger_build(kind: str, *, user=None, unit: GridUnit | None = None, as_of: date,
                 lang: str = "zh") -> Ledger:
    """The ledger of one kind for a user's scope (None: an operator at the command line)."""
    if kind not in KINDS:
        raise ValueError(f"unknown ledger {kind!r}: one of {', '.join(KINDS)}")
    scope = access.scope_of(user) if user is not None else access.Scope(everything=True)
    groups = scope.field_groups  # the columns the ledger may have at all
    patients = list(_scoped(user, unit))
    shown = selectors.field_groups_by_patient(scope, patients)  # R35: what each row may show
    if kind != "key-groups":  # follow-up dates and attempts are medical detail
        patients = [p for p in patients if access.MEDICAL in shown[p.pk]]
    if kind == "lost":
        results = _as_of_results(patients, as_of) if patients else {}
        return _lost([p for p in patients if "lost" in results[p.pk][0]], lang)
    results = _as_of_results(patients, as_of)
    teams = selectors.teams_for(patients)
    if kind == "key-groups":
        sheet = _key_groups(patients, results, teams, as_of, lang, groups, shown)
    else:
        sheet = _followups_due(patients, results, teams, as_of, lang, groups)
    at = sheet.columns.index("patient_no")
    included = {row[at] for row in sheet.rows}
    return Ledger(kind, lang, [sheet], [p.pk for p in patients if p.patient_no in included])


def _team_cells(team: selectors.Team, lang: str) -> list[str]:
    cells = [team.guardian or GAP[lang]]
    for role in ("police", "village_committee", "village_doctor", "liaison_leader"):
        cells.append(_names(team.members.get(role, [])) or GAP[lang])
    return cells + [";".join(team.gaps)]


def _key_groups(patients, results, teams, as_of, lang, groups, shown) -> Sheet:
    columns = ["patient_no", "name", "county_code", "township_code", "village_code", "grid_code",
               "micro_grid_code", "key_groups", "risk_level", "condition", "next_due", "days_overdue",
               "guardian", "police", "village_committee", "village_doctor", "liaison_leader", "gaps"]
    visible = _visible_columns(columns, groups)
    sheet = _sheet("重点管理人群" if lang == "zh" else "key groups", visible)
    for p in patients:
        key_groups, due = results[p.pk]
        values = {
            "patient_no": p.patient_no, "name": p.name,
            **{f"{name}_code": getattr(p, name).code if getattr(p, f"{name}_id") else ""
               for name in LEVEL_FIELDS.values()},
            "key_groups": ";".join(key_groups), "risk_level": p.risk_level, "condition": p.condition,
            "next_due": due, "days_overdue": rules.days_overdue(due, as_of),
        }
        values.update(zip(columns[12:], _team_cells(teams[p.pk], lang), strict=True))
        row_columns = set(_visible_columns(visible, shown[p.pk]))  # blank where this row may not show
        sheet.rows.append([values[c] if c in row_columns else "" for c in visible])
    return sheet


def _followups_due(patients, results, teams, as_of, lang, groups) -> Sheet:
    """Due or overdue follow-ups (R6, R9) and open tasks (R8), per responsible village doctor (R20)."""
    columns = ["responsible", "responsible_role", "patient_no", "name", "micro_grid_code", "address",
               "next_due", "days_overdue", "tasks"]
    if access.MEDICAL not in groups:  # the due date itself is medical detail
        return _sheet("随访待办" if lang == "zh" else "follow-ups due", ["patient_no"])
    horizon = as_of + timedelta(days=DUE_SOON_DAYS)
    tasks: dict[int, list[str]] = {}
    for pid, kind in Task.objects.filter(patient_id__in=[p.pk for p in patients],
                                         closed_on__isnull=True).values_list("patient_id", "kind"):
        tasks.setdefault(pid, []).append(kind)
    rows = []
    for p in patients:
        due = results[p.pk][1]
        if due is None or due > horizon:
            continue
        doctors = teams[p.pk].members.get("village_doctor", [])
        rows.append([_names(doctors) or GAP[lang], "village_doctor", p.patient_no, p.name,
                     p.micro_grid.code if p.micro_grid_id else "", p.residence_address, due,
                     rules.days_overdue(due, as_of), ";".join(sorted(tasks.get(p.pk, [])))])
    rows.sort(key=lambda r: (r[0], r[6], r[2]))
    return _sheet("随访待办" if lang == "zh" else "follow-ups due", columns, rows)


def _lost(patients: list[Patient], lang: str) -> Ledger:
    """R11: one file per lost patient — every attempt and every search action, and the status."""
    columns = ["patient_no", "name", "status", "date", "entry", "detail"]
    summary = _sheet("失访患者" if lang == "zh" else "lost patients", columns)
    sheets = [summary]
    attempts: dict[int, list] = {}
    for f in FollowUp.objects.filter(patient__in=patients).order_by("followed_at"):
        attempts.setdefault(f.patient_id, []).append(
            (local_date(f.followed_at), "随访" if lang == "zh" else "attempt",
             f"{f.method} {'随访到' if f.reached else '未随访到'}"))
    for s in LostSearch.objects.filter(patient__in=patients).order_by("searched_on"):
        attempts.setdefault(s.patient_id, []).append(
            (s.searched_on, "查找" if lang == "zh" else "search",
             s.action + (" (找到)" if s.found else "")))
    for p in patients:
        sheet = _sheet(p.patient_no, columns)
        for on, entry, detail in sorted(attempts.get(p.pk, []), key=lambda e: e[0]):
            sheet.rows.append([p.patient_no, p.name, p.status, on, entry, detail])
        summary.rows.extend(sheet.rows or [[p.patient_no, p.name, p.status, "", "", ""]])
        sheets.append(sheet)
    return Ledger("lost", lang, sheets, [p.pk for p in patients])


def ledger_write(ledger: Ledger, fmt: str) -> bytes:
    """CSV (UTF-8 with BOM; the first sheet's rows, which for `lost` hold every entry) or
    XLSX (every sheet)."""
    return write_table(ledger.sheets, fmt=fmt, lang=ledger.lang)


def ledger_export(kind: str, *, user=None, unit: GridUnit | None = None, as_of: date, lang: str = "zh",
                  fmt: str = "xlsx", purpose: str, reason: str = "", request=None) -> bytes:
    """Build, write and log (R35) one ledger export, with the purpose the person chose."""
    ledger = ledger_build(kind, user=user, unit=unit, as_of=as_of, lang=lang)
    data = ledger_write(ledger, fmt)
    access.log(
        user=user or Operator(), action="export", purpose=purpose, patient_ids=ledger.patient_ids,
        reason=reason, query={"ledger": kind, "unit": unit.code if unit else None,
                              "as_of": as_of.isoformat(), "format": fmt, "lang": lang},
        request=request,
    )
    return data


class Operator:
    """The command line without --user: an operator with shell access to the server."""

    is_authenticated = False

    def get_username(self) -> str:
        return "(command line)"
