"""Reads of the patient register, and the one place that decides who sees what (R22, R35).

Every page, API endpoint and export gets its patients from
`patients_visible_to(user)` and its field detail from `field_groups_for(user)`;
a read of a record, a list or search, and an export are logged through
`cases.services.access_log_record`.
"""

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Q, QuerySet
from django.http import Http404

from cases.models import TEAM_ROLES, Patient, TeamOverride
from gridmap.models import LEVEL_FIELDS, GridUnit, Role, StaffAssignment, User

# Field detail by role (issue #3 §6, R35): a grid worker sees name, address and
# team but not the diagnosis; police see risk and incidents; health staff and
# village doctors see medical fields; offices see risk and identity.
IDENTITY, ID_NUMBER, RISK, MEDICAL = "identity", "id_number", "risk", "medical"
ROLE_FIELD_GROUPS: dict[str, frozenset[str]] = {
    Role.COUNTY_OFFICE: frozenset({IDENTITY, ID_NUMBER, RISK, MEDICAL}),
    Role.TOWNSHIP_OFFICE: frozenset({IDENTITY, ID_NUMBER, RISK}),
    Role.HEALTH_STAFF: frozenset({IDENTITY, ID_NUMBER, RISK, MEDICAL}),
    Role.POLICE: frozenset({IDENTITY, ID_NUMBER, RISK}),
    Role.VILLAGE_COMMITTEE: frozenset({IDENTITY, RISK}),
    Role.LIAISON_LEADER: frozenset({IDENTITY, RISK}),
    Role.VILLAGE_DOCTOR: frozenset({IDENTITY, RISK, MEDICAL}),
    Role.GRID_WORKER: frozenset({IDENTITY}),
    Role.MICRO_GRID_LEADER: frozenset({IDENTITY}),
}
ALL_GROUPS = frozenset({IDENTITY, ID_NUMBER, RISK, MEDICAL})


def scope_units(user: User) -> list[GridUnit]:
    """The units whose subtrees make the user's scope."""
    if not user.is_authenticated:
        return []
    return list(GridUnit.objects.filter(staff__user=user).distinct())


def _sees_everything(user: User) -> bool:
    return user.is_authenticated and user.is_superuser


def patients_visible_to(user: User) -> QuerySet[Patient]:
    """R22/R35: patients whose residence lies under one of the user's units, plus
    those registered (户籍地) under it — which is how the registration place sees
    its floating patients and those whose residence is outside or unknown — plus
    those an open transfer is bringing to it (R24)."""
    if _sees_everything(user):
        return Patient.objects.all()
    from cases.models import Transfer

    incoming = [s for s in Transfer.OPEN_STATES if s != Transfer.State.OUTFLOW]
    condition = Q(pk__in=[])
    for unit in scope_units(user):
        column = LEVEL_FIELDS[unit.level]
        condition |= Q(**{f"{column}_id": unit.pk}) | Q(**{f"registration_unit__{column}_id": unit.pk})
        # R24: the destination of an open transfer verifies the patient before accepting.
        condition |= Q(pk__in=Transfer.objects.filter(
            state__in=incoming, **{f"to_unit__{column}_id": unit.pk}).values("patient_id"))
    return Patient.objects.filter(condition)


def field_groups_for(user: User) -> frozenset[str]:
    """Which field groups (IDENTITY, ID_NUMBER, RISK, MEDICAL) the user may see."""
    if _sees_everything(user):
        return ALL_GROUPS
    roles = StaffAssignment.objects.filter(user=user).values_list("role", flat=True).distinct()
    groups: frozenset[str] = frozenset()
    for role in roles:
        groups |= ROLE_FIELD_GROUPS.get(role, frozenset())
    return groups


def patient_get_for_user(*, user: User, pk: int, reason: str = "", action: str = "view") -> Patient:
    """One patient the user may see, logged (R35); Http404 for anyone else's."""
    from cases.services import access_log_record

    patient = patients_visible_to(user).select_related(
        "guardian", "micro_grid", "grid", "village", "township", "county", "registration_unit"
    ).filter(pk=pk).first()
    if patient is None:
        raise Http404("no such patient")
    access_log_record(user=user, action=action, patient_ids=[patient.pk], reason=reason)
    return patient


@dataclass
class Team:
    """R20: the five people responsible for a patient, and the roles nobody fills."""

    guardian: str = ""
    members: dict[str, list[User]] = field(default_factory=dict)  # role -> people
    overridden: set[str] = field(default_factory=set)

    @property
    def gaps(self) -> list[str]:
        missing = [] if self.guardian else ["guardian"]
        return missing + [role.value for role in TEAM_ROLES if not self.members.get(role.value)]


# Why raw SQL: for every patient at once, the nearest unit up the tree naming
# each role (R20) — DISTINCT ON over the patient's own unit chain ordered by
# depth — which the ORM cannot express. The chain is the residence's; for a
# residence outside the stored units, the registration unit's (R22).
TEAM_SQL = """
    SELECT DISTINCT ON (p.id, sa.role, sa.user_id) p.id, sa.role, sa.user_id, u.level
    FROM cases_patient p
    JOIN gridmap_gridunit ru ON ru.id = coalesce(p.micro_grid_id, p.grid_id, p.village_id,
                                                 p.township_id, p.county_id, p.registration_unit_id)
    JOIN gridmap_staffassignment sa
      ON sa.unit_id IN (ru.county_id, ru.township_id, ru.village_id, ru.grid_id, ru.micro_grid_id)
    JOIN gridmap_gridunit u ON u.id = sa.unit_id
    WHERE p.id = ANY(%s) AND sa.role = ANY(%s)
    ORDER BY p.id, sa.role, sa.user_id, u.level DESC
"""


def teams_for(patients: list[Patient]) -> dict[int, Team]:
    """R20 for many patients in two queries: unit staff (nearest level wins), then overrides."""
    ids = [p.pk for p in patients]
    roles = [r.value for r in TEAM_ROLES]
    with connection.cursor() as cursor:
        cursor.execute(TEAM_SQL, [ids, roles])
        rows = cursor.fetchall()
    nearest: dict[tuple[int, str], int] = {}
    for pid, role, _user, level in rows:
        nearest[(pid, role)] = max(level, nearest.get((pid, role), 0))
    users = {u.pk: u for u in User.objects.filter(pk__in={r[2] for r in rows})}
    teams = {p.pk: Team(guardian=p.guardian.name if p.guardian_id else "") for p in patients}
    for pid, role, user_id, level in rows:
        if level == nearest[(pid, role)]:
            teams[pid].members.setdefault(role, []).append(users[user_id])
    for override in TeamOverride.objects.filter(patient_id__in=ids).select_related("user"):
        team = teams[override.patient_id]
        team.members[override.role] = [override.user]
        team.overridden.add(override.role)
    return teams


def care_group(village: GridUnit) -> dict[str, list[User]]:
    """R21: a village's care group — its village committee, its grid workers, its village doctor."""
    wanted = {Role.VILLAGE_COMMITTEE: Q(unit=village), Role.VILLAGE_DOCTOR: Q(unit=village),
              Role.GRID_WORKER: Q(unit__village=village)}
    group: dict[str, list[User]] = {}
    for role, where in wanted.items():
        people = User.objects.filter(
            pk__in=StaffAssignment.objects.filter(where, role=role).values("user_id")
        ).order_by("username")
        group[role.value] = list(people)
    return group


FILTER_NEEDS = {"key_group": RISK, "risk": RISK, "overdue": MEDICAL}


def patients_filtered(user: User, filters: dict, *, as_of) -> QuerySet[Patient]:
    """The user's patients narrowed by the list filters (unit, key group, risk, overdue,
    text). Callers check FILTER_NEEDS first: a filter may not reveal a hidden field."""
    patients = patients_visible_to(user)
    if filters.get("unit"):
        unit = GridUnit.objects.filter(code=filters["unit"]).first()
        if unit is None:
            return patients.none()
        column = LEVEL_FIELDS[unit.level]
        patients = patients.filter(Q(**{f"{column}_id": unit.pk})
                                   | Q(**{f"registration_unit__{column}_id": unit.pk}))
    if filters.get("key_group"):
        patients = patients.filter(key_groups__contains=[filters["key_group"]])
    if filters.get("risk") is not None:
        patients = patients.filter(risk_level=filters["risk"])
    if filters.get("overdue") is not None:
        overdue = Q(next_due__lt=as_of)
        patients = patients.filter(overdue if filters["overdue"] else ~overdue | Q(next_due__isnull=True))
    if filters.get("q"):
        patients = patients.filter(Q(name__contains=filters["q"]) | Q(patient_no__startswith=filters["q"])
                                   | Q(residence_address__contains=filters["q"]))
    return patients


def key_group_counts(patients: QuerySet[Patient]) -> dict[str, int]:
    """How many of these patients are in each key group (R13–R19), one aggregate."""
    from django.db.models import Count

    from cases.models import KeyGroup

    counts = patients.aggregate(**{
        key: Count("pk", filter=Q(key_groups__contains=[key])) for key in KeyGroup.values})
    return counts


def patient_map_data(patient: Patient) -> dict:
    """What the patient page's small map draws: the residence point and its micro-grid."""
    import json

    unit = patient.micro_grid or patient.grid or patient.village
    return {
        "point": [patient.geom.x, patient.geom.y] if patient.geom else None,
        "unit": json.loads(unit.geom.geojson) if unit is not None else None,
        "unitName": str(unit) if unit is not None else "",
    }


def transfers_for(user: User, *, box: str) -> QuerySet:
    """R24: the moves into ("inbox") or out of ("outbox") the user's units, newest first."""
    from cases.models import Transfer

    side = "to_unit" if box == "inbox" else "from_unit"
    transfers = Transfer.objects.select_related("patient", "from_unit", "to_unit")
    if _sees_everything(user):
        return transfers.all()
    condition = Q(pk__in=[])
    for unit in scope_units(user):
        condition |= Q(**{f"{side}__{LEVEL_FIELDS[unit.level]}_id": unit.pk})
    return transfers.filter(condition)


def open_alerts_for(user: User) -> QuerySet:
    """Missed deadlines (R24, R28) in the user's units, not yet cleared."""
    from cases.models import Alert

    alerts = Alert.objects.filter(cleared_at__isnull=True).select_related(
        "transfer__patient", "event_report__patient", "unit").order_by("due_at")
    if _sees_everything(user):
        return alerts
    condition = Q(pk__in=[])
    for unit in scope_units(user):
        condition |= Q(**{f"unit__{LEVEL_FIELDS[unit.level]}_id": unit.pk})
    return alerts.filter(condition)
