"""Reads of the patient register. Which patients and which of their fields a person may
see is decided by gridmap.access (R22, R35); every read of a record is logged there.
"""

import hashlib
import json
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.gis.geos import Polygon
from django.contrib.postgres.expressions import ArraySubquery
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, FilteredRelation, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from redis.exceptions import RedisError

from cases.patients import rules
from cases.patients.models import TEAM_ROLES, Patient, RegisterChange, TeamOverride
from cases.patients.rules import KeyGroup
from gridmap import access, crypto, tiles
from gridmap.models import (
    LEVEL_FIELDS,
    AccessGrant,
    AccessLog,
    GridUnit,
    Purpose,
    Role,
    StaffAssignment,
    User,
)

logger = logging.getLogger(__name__)

PATIENT = Patient._meta.db_table
UNIT, STAFF = GridUnit._meta.db_table, StaffAssignment._meta.db_table
OVERRIDE, USER = TeamOverride._meta.db_table, User._meta.db_table


def patients_visible_to(user: User) -> QuerySet[Patient]:
    """R22/R35: the patients the user may see (gridmap.access decides)."""
    return access.visible(user, Patient.objects.all())


def field_groups_by_patient(scope: access.Scope, patients) -> dict[int, frozenset[str]]:
    """R35: for each patient, the field groups the person's roles give on that patient's
    units: the residence's chain, the registration place's (R22) and an open transfer's
    destination (R24); for a patient opened by breaking the glass, what their roles give
    anywhere. One query for any number of patients."""
    patients = list(patients)
    if scope.everything:
        return {p.pk: access.ALL_GROUPS for p in patients}
    known: dict[int, frozenset[str]] = {}
    if (uniform := scope.uniform_groups) is not None:
        # Living under one of the person's units: their groups, without reading the chains.
        mine = {unit.pk for unit in scope.units}
        known = {p.pk: uniform for p in patients if mine.intersection(p.placement())}
        patients = [p for p in patients if p.pk not in known]
        if not patients:
            return known
    chains = {p.pk: set(p.placement()) for p in patients}
    if all(hasattr(p, "other_chains") for p in patients):  # read with the rows (with_other_chains)
        for p in patients:
            chains[p.pk].update(p.other_chains or ())
        return known | _groups_of_chains(scope, chains)
    columns = [f"{name}_id" for name in LEVEL_FIELDS.values()]
    # The open transfer is cases.transfers' row, reached through its `transfers` relation;
    # open while it has no closing time (one per patient at most).
    rows = (Patient.objects.filter(pk__in=chains)
            .alias(incoming=FilteredRelation("transfers", condition=Q(transfers__closed_at__isnull=True)))
            .values_list("pk", *(f"registration_unit__{c}" for c in columns),
                         *(f"incoming__to_unit__{c}" for c in columns)))
    for pk, *ids in rows:
        chains[pk].update(ids)
    return known | _groups_of_chains(scope, chains)


def _groups_of_chains(scope: access.Scope, chains: dict[int, set[int]]) -> dict[int, frozenset[str]]:
    return {pk: scope.groups_at(ids) | (scope.field_groups if pk in scope.granted else frozenset())
            for pk, ids in chains.items()}


def patient_field_groups(user, patient: Patient) -> frozenset[str]:
    """R35: the field groups the user may see of this patient."""
    return field_groups_by_patient(access.scope_of(user), [patient])[patient.pk]


def patient_get_for_user(*, user: User, pk: int, reason: str = "", action: str = "view",
                         purpose: str = Purpose.CARE, request=None) -> Patient:
    """One patient the user may see, logged (R35); Http404 for anyone else's, and the
    attempt logged as refused. A patient opened by breaking the glass is read, not changed."""
    scope = access.scope_of(user)
    visible = scope.visible(Patient.objects.all())
    if action == "view" and pk in scope.granted:
        visible = visible | Patient.objects.filter(pk=pk)
    patient = visible.select_related(
        "guardian", "micro_grid", "grid", "village", "township", "county", "registration_unit"
    ).filter(pk=pk).first()
    if patient is None:
        exists = Patient.objects.filter(pk=pk).exists()
        access.log_denied(user=user, what=f"{action}: patient not in the person's units" if exists
                          else f"{action}: no such patient", patient_ids=[pk] if exists else [],
                          query={"patient": pk}, request=request)
        raise Http404("no such patient")
    access.log(user=user, action=action, purpose=purpose, patient_ids=[patient.pk], reason=reason,
               request=request)
    return patient


def identifiers_reveal(*, user, patient: Patient, request=None) -> dict[str, str]:
    """The numbers of a patient in full that the user's roles on them may reveal
    (access.may_reveal), logged as an unmask; {} when none (nothing is logged then)."""
    allowed = access.may_reveal(patient_field_groups(user, patient))
    numbers = {}
    if "id_number" in allowed and patient.id_number:
        numbers["id_number"] = patient.id_number
    if "phone" in allowed and patient.guardian_id and patient.guardian.phone:
        numbers["guardian_phone"] = patient.guardian.phone
    if numbers:
        access.log(user=user, action=AccessLog.Action.UNMASK, purpose=Purpose.CARE,
                   patient_ids=[patient.pk], query={"revealed": sorted(numbers)}, request=request)
    return numbers


def open_grant(user, patient: Patient) -> AccessGrant | None:
    """The break-glass that lets the user read this patient now, if that is how they do."""
    if access.scope_of(user).visible(Patient.objects.filter(pk=patient.pk)).exists():
        return None
    return (AccessGrant.objects.filter(user=user, patient_id=patient.pk, expires_at__gt=timezone.now())
            .order_by("-expires_at").first())


def patient_find(number: str) -> Patient | None:
    """The patient with this patient number or ID number (exact), whoever's it is: for a
    break-glass, which is logged by its caller whatever it finds."""
    number = number.strip()
    if not number:
        return None
    return Patient.objects.filter(Q(patient_no=number) | Q(id_number_index=crypto.index(number))).first()


# --- The access-log viewer (the county office) -------------------------------------------------

def audits(user) -> bool:
    """Who reads the access log: the county office, and superusers."""
    scope = access.scope_of(user)
    return scope.everything or any(Role.COUNTY_OFFICE in held for held in scope.roles.values())


def _audited_units(user) -> list[GridUnit] | None:
    """The units whose people and patients the user audits (None: everything)."""
    scope = access.scope_of(user)
    if scope.everything:
        return None
    return [u for u in scope.units if Role.COUNTY_OFFICE in scope.roles.get(u.pk, ())]


def audit_rows(user, *, username: str = "", patient: str = "", action: str = "", since=None,
               until=None) -> QuerySet[AccessLog]:
    """Log rows of the people serving the user's county (or naming its patients), newest
    first, filtered."""
    rows = AccessLog.objects.all()
    units = _audited_units(user)
    if units is not None:
        people = StaffAssignment.objects.filter(unit__in=GridUnit.objects.under_any(units)).values("user_id")
        theirs = ArraySubquery(Patient.objects.under_any(units).values("pk"))
        rows = rows.filter(Q(user_id__in=people) | Q(patient_ids__overlap=theirs))
    if username:
        rows = rows.filter(username__icontains=username)
    if patient:
        found = Patient.objects.filter(patient_no=patient.strip()).values_list("pk", flat=True).first()
        rows = rows.filter(patient_ids__contains=[found]) if found else rows.none()
    if action:
        rows = rows.filter(action=action)
    if since:
        rows = rows.filter(at__date__gte=since)
    if until:
        rows = rows.filter(at__date__lte=until)
    return rows.order_by("-id")


def audit_grants(user) -> QuerySet[AccessGrant]:
    """Break-glass accesses of the user's county's people or to its patients, newest first."""
    grants = AccessGrant.objects.select_related("user").order_by("-granted_at")
    units = _audited_units(user)
    if units is None:
        return grants
    people = StaffAssignment.objects.filter(unit__in=GridUnit.objects.under_any(units)).values("user_id")
    return grants.filter(Q(user_id__in=people)
                         | Q(patient_id__in=Patient.objects.under_any(units).values("pk")))


def patient_numbers(ids) -> dict[int, str]:
    """Patient numbers by id, for the ids a page shows."""
    return dict(Patient.objects.filter(pk__in=list(ids)).values_list("pk", "patient_no"))


TEAM_ROLE_VALUES = tuple(role.value for role in TEAM_ROLES)


@dataclass(frozen=True)
class Member:
    """A person on a patient's team, as the team shows them (their name, else username)."""

    pk: int
    username: str
    name: str

    def __str__(self) -> str:
        return self.name or self.username


@dataclass
class Team:
    """R20: the five people responsible for a patient, and the roles nobody fills."""

    guardian: str = ""
    members: dict[str, list[Member]] = field(default_factory=dict)  # role -> people
    overridden: set[str] = field(default_factory=set)

    @property
    def gaps(self) -> list[str]:
        missing = [] if self.guardian else ["guardian"]
        return missing + [role for role in TEAM_ROLE_VALUES if not self.members.get(role)]


# Why raw SQL: for every patient at once, the nearest unit up the tree naming each role
# (R20) — the staff of the patient's own unit chain, kept where their unit is the deepest
# naming that role — which the ORM cannot express. The chain is the residence's; for a
# residence outside the stored units, the registration unit's (R22). A role the patient's
# overrides name is theirs instead (`overridden` true). One statement, the people's names in it.
TEAM_SQL = f"""
    WITH staff AS (
        SELECT p.id AS patient_id, sa.role, sa.user_id, u.level,
               max(u.level) OVER (PARTITION BY p.id, sa.role) AS nearest
        FROM {PATIENT} p
        JOIN {UNIT} ru ON ru.id = coalesce(p.micro_grid_id, p.grid_id, p.village_id,
                                           p.township_id, p.county_id, p.registration_unit_id)
        JOIN {STAFF} sa
          ON sa.unit_id IN (ru.county_id, ru.township_id, ru.village_id, ru.grid_id, ru.micro_grid_id)
        JOIN {UNIT} u ON u.id = sa.unit_id
        WHERE p.id = ANY(%(ids)s) AND sa.role = ANY(%(roles)s)
    ), chosen AS (
        SELECT DISTINCT patient_id, role, user_id, false AS overridden FROM staff s
        WHERE level = nearest AND NOT EXISTS (
            SELECT 1 FROM {OVERRIDE} o WHERE o.patient_id = s.patient_id AND o.role = s.role)
        UNION ALL
        SELECT o.patient_id, o.role, o.user_id, true FROM {OVERRIDE} o WHERE o.patient_id = ANY(%(ids)s)
    )
    SELECT c.patient_id, c.role, c.overridden, us.id, us.username, us.full_name
    FROM chosen c JOIN {USER} us ON us.id = c.user_id
    ORDER BY c.patient_id, c.role, us.username
"""


def teams_for(patients: list[Patient]) -> dict[int, Team]:
    """R20 for many patients in one statement: unit staff (nearest level wins), or the
    patient's override for a role."""
    with connection.cursor() as cursor:
        cursor.execute(TEAM_SQL, {"ids": [p.pk for p in patients], "roles": list(TEAM_ROLE_VALUES)})
        rows = cursor.fetchall()
    teams = {p.pk: Team(guardian=_guardian_name(p)) for p in patients}
    for pid, role, overridden, *person in rows:
        team = teams[pid]
        team.members.setdefault(role, []).append(Member(*person))
        if overridden:
            team.overridden.add(role)
    return teams


def _guardian_name(patient: Patient) -> str:
    if not patient.guardian_id:
        return ""
    if hasattr(patient, "guardian_name"):  # read with the row (PatientQuerySet.with_guardian_contact)
        return patient.guardian_name
    return patient.guardian.name


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


# A list filter may not reveal a field the reader cannot see (R35).
FILTER_NEEDS = {"key_group": access.RISK, "risk": access.RISK, "overdue": access.MEDICAL}


def patients_filtered(user: User, filters: dict, *, as_of) -> QuerySet[Patient]:
    """The user's patients narrowed by the list filters (unit, key group, risk, overdue,
    text). A filter on a field runs over the patients whose field the user may see (R35):
    where they hold no role that shows risk, a risk filter finds nobody."""
    scope = access.scope_of(user)
    patients = scope.visible(Patient.objects.all())
    for name in {n for n in FILTER_NEEDS if filters.get(n) is not None and filters.get(n) != ""}:
        if not scope.grants_everywhere(FILTER_NEEDS[name]):
            patients = patients & scope.visible_with(Patient.objects.all(), FILTER_NEEDS[name])
    if filters.get("unit"):
        unit = GridUnit.objects.filter(code=filters["unit"]).first()
        if unit is None:
            return patients.none()
        patients = patients.living_or_registered_under([unit])
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


def key_group_counts(user: User, filters: dict, *, as_of, total: bool = False) -> dict[str, int]:
    """How many of the user's patients narrowed by the list filters (patients_filtered) are
    in each key group (R13–R19), one aggregate, over those whose key groups the user may see
    (R35). With `total`, also how many patients there are in all ("total"), in the same
    aggregate, where that is the same set: where the user may see everyone's key groups (a
    list page then needs no count of its own).

    Kept in the cache under the version of the user's counties' register (register_version):
    any change to a patient, a transfer or a unit there makes a new version, so a count is
    never older than the register it is read with. With the cache down it is counted."""
    scope = access.scope_of(user)
    key = _counts_key(scope, filters, as_of, total, register_version(scope))
    try:
        counts = cache.get(key)
    except RedisError:
        logger.warning("cache unavailable; the key groups are counted without it")
        return _key_group_counts(user, filters, as_of=as_of, total=total)
    if counts is None:
        counts = _key_group_counts(user, filters, as_of=as_of, total=total)
        try:
            cache.set(key, counts, timeout=settings.GRIDCARE_COUNT_CACHE_SECONDS)
        except RedisError:
            logger.warning("cache unavailable; the key-group counts were not kept")
    return counts


def _key_group_counts(user: User, filters: dict, *, as_of, total: bool) -> dict[str, int]:
    scope = access.scope_of(user)
    patients = patients_filtered(user, filters, as_of=as_of)
    aggregates = {key: Count("pk", filter=Q(key_groups__contains=[key])) for key in KeyGroup.values}
    if not scope.grants_everywhere(access.RISK):
        patients = patients & scope.visible_with(Patient.objects.all(), access.RISK)
    elif total:
        aggregates["total"] = Count("pk")
    return patients.aggregate(**aggregates)


def _counts_key(scope: access.Scope, filters: dict, as_of, total: bool, version: tuple[int, int]) -> str:
    """The cache key of a count: everything it depends on besides the register (the units
    counted and those showing risk, the filters, the day where "overdue" asks for it)."""
    units = "*" if scope.everything else ",".join(str(unit.pk) for unit in scope.units)
    risk = "*" if scope.grants_everywhere(access.RISK) else ",".join(
        str(unit.pk) for unit in scope.units_granting(access.RISK))
    asked = sorted((name, str(value)) for name, value in filters.items() if value not in (None, ""))
    day = as_of.isoformat() if any(name == "overdue" for name, _ in asked) else ""
    material = json.dumps([units, risk, asked, day, total, version], ensure_ascii=False)
    return "key-group-counts:" + hashlib.sha256(material.encode()).hexdigest()


# The register's version for a set of counties (cases.patients.models.RegisterChange).
REGISTER_VERSION_SQL = ("SELECT coalesce(sum(weight), 0)::bigint, coalesce(max(id), 0)"
                        f" FROM {RegisterChange._meta.db_table}")


def register_version(scope: access.Scope) -> tuple[int, int]:
    """The version of the register the person's units count: of their counties, or of
    every county for a person who sees everything. One indexed read."""
    with connection.cursor() as cursor:
        if scope.everything:
            cursor.execute(REGISTER_VERSION_SQL)
        else:
            counties = sorted({unit.ancestor_id(1) for unit in scope.units} - {None})
            cursor.execute(REGISTER_VERSION_SQL + " WHERE county_id = ANY(%s)", [counties])
        return tuple(cursor.fetchone())


def patient_map_data(patient: Patient) -> dict:
    """What the patient page's small map draws: the residence point and its micro-grid."""
    unit = patient.micro_grid or patient.grid or patient.village
    return {
        "point": [patient.geom.x, patient.geom.y] if patient.geom else None,
        "unit": json.loads(unit.geom.geojson) if unit is not None else None,
        "unitName": str(unit) if unit is not None else "",
    }


# --- The map's patient layer (issue 11, Deliver 3) -------------------------------------------

# A cluster gathers the patients of a square of about this many screen pixels, on a grid
# anchored to the world (web Mercator's origin): 256 / 64 = 4 squares a tile side, so no
# square spans two tiles and a cluster is the same whichever tile draws it.
CLUSTER_PIXELS = 64
# From this zoom (a street, ~5 m a pixel) each patient is a marker of their own.
MARKER_ZOOM = 15

# Why raw SQL: the tile is one statement over the patients the access module lets the
# person see (its SQL embedded as the subquery): ST_TileEnvelope for the tile's box, the
# GiST index of the residences for the patients in it, a GROUP BY over the world-anchored
# squares for the clusters, ST_AsMVTGeom and ST_AsMVT to encode.
CLUSTER_SQL = f"""
    WITH box AS (SELECT ST_TileEnvelope(%s, %s, %s) AS tile),
    points AS (
        SELECT ST_Transform(p.geom, 3857) AS g
        FROM {PATIENT} p, box
        WHERE p.id IN ({{visible}}) AND p.geom && ST_Transform(box.tile, %s::integer)
    ), squares AS (
        SELECT count(*) AS patients, ST_SetSRID(ST_MakePoint(avg(ST_X(g)), avg(ST_Y(g))), 3857) AS g
        FROM points GROUP BY floor(ST_X(g) / %s), floor(ST_Y(g) / %s)
    )
    SELECT coalesce((SELECT ST_AsMVT(c, 'clusters', %s, 'geom') FROM (
        SELECT ST_AsMVTGeom(s.g, box.tile, %s, 0, true) AS geom, s.patients FROM squares s, box
    ) c WHERE c.geom IS NOT NULL), '')
"""

MARKER_SQL = f"""
    WITH box AS (SELECT ST_TileEnvelope(%s, %s, %s) AS tile)
    SELECT coalesce((SELECT ST_AsMVT(m, 'patients', %s, 'geom') FROM (
        SELECT ST_AsMVTGeom(ST_Transform(p.geom, 3857), box.tile, %s, 0, true) AS geom,
               s.id, s.risk_level, s.key_groups, s.days_overdue
        FROM unnest(%s::bigint[], %s::int[], %s::text[], %s::int[])
             AS s (id, risk_level, key_groups, days_overdue)
        JOIN {PATIENT} p ON p.id = s.id, box
    ) m WHERE m.geom IS NOT NULL), '')
"""


def patient_tile(user: User, *, zoom: int, x: int, y: int, as_of) -> tuple[bytes, list[int]]:
    """The map's patient layer at zoom/x/y (MVT) and the patients shown one by one in it.

    Only patients the access module lets the person see, under the units where a role of
    theirs shows single patients (gridmap.access.units_showing_points; township leaders
    have none). Below MARKER_ZOOM, layer `clusters`: a point per world-anchored square with
    its count of patients, nobody named. From MARKER_ZOOM, layer `patients`: a point per
    patient with its id (for the record, read and logged through the API), and its risk
    level and key groups (comma-separated) where the person's roles on that patient show
    risk, its days overdue where they show medical fields (R35); nothing else.
    """
    scope = access.scope_of(user)
    visible = (Patient.objects.all() if scope.everything
               else Patient.objects.under_any(scope.units_showing_points()))
    if zoom < MARKER_ZOOM:
        cell = CLUSTER_PIXELS * tiles.METRES_PER_PIXEL_Z0 / 2 ** zoom  # the square's side in metres
        sql, params = visible.values("pk").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(CLUSTER_SQL.format(visible=sql),
                           [zoom, x, y, *params, settings.GRIDCARE_SRID, cell, cell, tiles.EXTENT, tiles.EXTENT])
            return bytes(cursor.fetchone()[0]), []
    box = Polygon.from_bbox(tiles.tile_bounds(zoom, x, y))
    box.srid = settings.GRIDCARE_SRID
    rows = list(visible.filter(geom__bboverlaps=box)
                .only("risk_level", "key_groups", "next_due", *(f"{n}_id" for n in LEVEL_FIELDS.values()))
                .with_other_chains().order_by("pk"))
    groups = field_groups_by_patient(scope, rows)
    shown = [(p.pk, p.risk_level if access.RISK in groups[p.pk] else None,
              ",".join(p.key_groups) if access.RISK in groups[p.pk] else None,
              rules.days_overdue(p.next_due, as_of) if access.MEDICAL in groups[p.pk] else None)
             for p in rows]
    columns = [list(column) for column in zip(*shown, strict=True)] or [[], [], [], []]
    with connection.cursor() as cursor:
        cursor.execute(MARKER_SQL, [zoom, x, y, tiles.EXTENT, tiles.EXTENT, *columns])
        return bytes(cursor.fetchone()[0]), columns[0]
