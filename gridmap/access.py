"""Who may see what, and the record of what they saw (R22, R35): the one place that decides.

- A person's scope is every unit they serve, in whatever role (StaffAssignment); a
  superuser's is everything. `scope_of(user)` reads it in one query.
- A row placed on the grid is in scope when it lies under one of those units. Every model
  placed on the grid has a queryset with `under_any(units)` (gridmap.models.PlacedQuerySet)
  that knows how the model is placed: a household by its point, a visit by its household,
  a patient also by the registration place (R22) and by an open transfer to the unit
  (R24). `visible` applies it; aggregates over units above the person's own (a county's
  campaign seen by a village) use `visible_or_above`.
- What a person may do on a transfer follows the roles they hold on the unit or above it
  (`acts_for`, R24–R26).
- Which of a patient's fields they see follows the roles they hold *for that patient's
  units* (`Scope.groups_at`, R35): a village doctor in one village who is a grid worker
  elsewhere sees diagnoses only in the village. `field_groups` is what any of their
  roles gives somewhere (to decide whether a column or a filter is offered at all).
- Every read of a patient record, every list or search, every export and every refusal
  is written to the access log (`log`, `log_denied`) with why: the purpose the person
  chose (exports, break-glass, the API's `purpose`) or the page's own task.
- A person may open one patient outside their units by breaking the glass
  (`break_glass`): they say why, the access lasts GRIDCARE_BREAK_GLASS_HOURS, it is
  logged and the county office sees it (gridmap.audit). `Scope.granted` holds the
  patients so opened; they are read (not changed) with the fields the person's roles
  give anywhere.

Pages, API views, exports, downloads and jobs all come through here; nothing else decides.
"""

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from gridmap.models import (
    LEVEL_FIELDS,
    AccessGrant,
    AccessLog,
    GridUnit,
    Purpose,
    Role,
    StaffAssignment,
)

ANY_ROLE: tuple[str, ...] = tuple(Role.values)

# Field detail by role (R35): a grid worker sees name, address and team but not the
# diagnosis; police see risk and incidents; health staff and village doctors see medical
# fields; offices see risk and identity.
IDENTITY, ID_NUMBER, RISK, MEDICAL = "identity", "id_number", "risk", "medical"
ALL_GROUPS = frozenset({IDENTITY, ID_NUMBER, RISK, MEDICAL})
ROLE_FIELD_GROUPS: dict[str, frozenset[str]] = {
    Role.COUNTY_OFFICE: ALL_GROUPS,
    Role.TOWNSHIP_OFFICE: frozenset({IDENTITY, ID_NUMBER, RISK}),
    Role.HEALTH_STAFF: ALL_GROUPS,
    Role.POLICE: frozenset({IDENTITY, ID_NUMBER, RISK}),
    Role.VILLAGE_COMMITTEE: frozenset({IDENTITY, RISK}),
    Role.LIAISON_LEADER: frozenset({IDENTITY, RISK}),
    Role.VILLAGE_DOCTOR: frozenset({IDENTITY, RISK, MEDICAL}),
    Role.GRID_WORKER: frozenset({IDENTITY}),
    Role.MICRO_GRID_LEADER: frozenset({IDENTITY}),
}


@dataclass(frozen=True)
class Scope:
    """The units a person serves (all of them) and the roles they hold on each."""

    everything: bool = False
    units: tuple[GridUnit, ...] = ()
    roles: Mapping[int, frozenset[str]] = field(default_factory=dict)  # unit id -> roles
    granted: frozenset[int] = frozenset()  # patients opened by breaking the glass, still open

    def visible(self, queryset: QuerySet, *, via: str | None = None) -> QuerySet:
        """The rows of a placed model's queryset that lie under the person's units."""
        return queryset if self.everything else queryset.under_any(self.units, via=via)

    def visible_or_above(self, queryset: QuerySet, *, via: str) -> QuerySet:
        """Rows about a unit under the person's units or above them (campaigns, coverage)."""
        return queryset if self.everything else queryset.under_or_above_any(self.units, via=via)

    def placement_sql(self, alias: str) -> tuple[str, dict]:
        """The same decision for a hand-written statement: a predicate over the placement
        columns of the table aliased `alias` (an identifier from code), and its named
        parameters. TRUE for everything, FALSE for no units."""
        if self.everything:
            return "TRUE", {}
        by_level: dict[int, list[int]] = {}
        for unit in self.units:
            by_level.setdefault(unit.level, []).append(unit.pk)
        if not by_level:
            return "FALSE", {}
        terms = [f"{alias}.{LEVEL_FIELDS[level]}_id = ANY(%(scope_{level})s)" for level in sorted(by_level)]
        return "(" + " OR ".join(terms) + ")", {f"scope_{level}": ids for level, ids in by_level.items()}

    def holds(self, row) -> bool:
        """Whether a row with its own placement columns (a unit, a household) lies under one
        of the person's units, without a query."""
        return self.everything or any(
            getattr(row, f"{LEVEL_FIELDS[unit.level]}_id") == unit.pk for unit in self.units)

    def acts_for(self, unit: GridUnit | None, roles: Iterable[str] = ANY_ROLE) -> bool:
        """Whether the person holds one of the roles on the unit or on a unit above it."""
        if self.everything:
            return True
        if unit is None:
            return False
        wanted = set(roles)
        return any(self.roles.get(unit.ancestor_id(level), frozenset()) & wanted
                   for level in LEVEL_FIELDS if level <= unit.level)

    @property
    def field_groups(self) -> frozenset[str]:
        """Which field groups (IDENTITY, ID_NUMBER, RISK, MEDICAL) any of the person's roles
        gives, on some unit: what a page may offer at all, never what a row shows."""
        if self.everything:
            return ALL_GROUPS
        return _groups_of(role for held in self.roles.values() for role in held)

    def groups_at(self, unit_ids: Iterable[int | None]) -> frozenset[str]:
        """R35: the field groups of a row placed at these units (every unit of its chains,
        ancestors included): what the roles held on them give, and nothing else."""
        if self.everything:
            return ALL_GROUPS
        return _groups_of(role for unit_id in set(unit_ids) if unit_id is not None
                          for role in self.roles.get(unit_id, ()))

    @property
    def uniform_groups(self) -> frozenset[str] | None:
        """The field groups each of the person's units gives, when every unit gives the
        same ones (a township's 精防人员, a grid worker of two grids); None otherwise. Then a
        row placed under one of their units shows exactly these (R35): the roles held on
        its other chains can add nothing the person's roles do not give."""
        if self.everything:
            return ALL_GROUPS
        given = {_groups_of(self.roles.get(unit.pk, ())) for unit in self.units}
        return given.pop() if len(given) == 1 else None

    def units_granting(self, group: str) -> tuple[GridUnit, ...]:
        """The person's units where a role they hold gives `group` (a filter on a field
        runs over the rows there only, so it reveals nothing the person cannot see)."""
        return tuple(unit for unit in self.units
                     if group in _groups_of(self.roles.get(unit.pk, ())))

    def visible_with(self, queryset: QuerySet, group: str) -> QuerySet:
        """The rows of a placed queryset under the units where the person may see `group`."""
        return queryset if self.everything else queryset.under_any(self.units_granting(group))

    def units_showing_points(self) -> tuple[GridUnit, ...]:
        """The person's units where a role they hold puts single patients on the map: every
        role but those that look at aggregates only (AGGREGATE_ONLY_ROLES, DESIGN)."""
        return tuple(unit for unit in self.units
                     if self.roles.get(unit.pk, frozenset()) - AGGREGATE_ONLY_ROLES)

    def grants_everywhere(self, group: str) -> bool:
        """Whether every unit of the person gives `group`: then `visible_with` is `visible`
        and narrowing a visible queryset by it changes nothing."""
        return self.everything or len(self.units_granting(group)) == len(self.units)


# Township leaders look at aggregates and need no individual points (DESIGN, R35): the
# map's patient layer is not theirs (coverage, counts and ledgers are).
AGGREGATE_ONLY_ROLES = frozenset({Role.TOWNSHIP_OFFICE})


# ID and telephone numbers are shown masked (gridmap.crypto.mask_id / mask_phone); a person
# whose roles on the patient give this group may reveal them in full, one logged action.
UNMASKED_BY = {"id_number": ID_NUMBER, "phone": IDENTITY}


def may_reveal(groups: frozenset[str]) -> frozenset[str]:
    """Which of the numbers (UNMASKED_BY's keys) these field groups may reveal."""
    return frozenset(what for what, group in UNMASKED_BY.items() if group in groups)


def _groups_of(roles: Iterable[str]) -> frozenset[str]:
    groups: frozenset[str] = frozenset()
    for role in roles:
        groups |= ROLE_FIELD_GROUPS.get(role, frozenset())
    return groups


# Within one request a person's scope is read once (`scopes_cached`, entered by
# gridmap.security.ScopeCacheMiddleware): a page asks for it from several selectors.
_scopes: ContextVar[dict[int, "Scope"] | None] = ContextVar("gridcare_scopes", default=None)


@contextmanager
def scopes_cached() -> Iterator[None]:
    """Read each person's scope once inside this block (one request); forgotten after."""
    token = _scopes.set({})
    try:
        yield
    finally:
        _scopes.reset(token)


def forget_scope(user) -> None:
    """Drop the cached scope of a person whose assignments or grants just changed."""
    cache = _scopes.get()
    if cache is not None:
        cache.pop(user.pk, None)


def scope_of(user) -> Scope:
    """The person's scope, in one query; nothing for an anonymous visitor."""
    if not user.is_authenticated:
        return Scope()
    if user.is_superuser:
        return Scope(everything=True)
    cache = _scopes.get()
    if cache is None:
        return _read_scope(user)
    if user.pk not in cache:
        cache[user.pk] = _read_scope(user)
    return cache[user.pk]


# A person's units with their roles, and their open break-glasses: one statement, run on
# every request (the second-factor check and the pages ask for the scope), written out
# here because compiling it through the ORM cost more than running it (bench/load).
# The boundaries are not read: a county's polygon is large and deciding scope needs none.
SCOPE_UNIT_COLUMNS = ("id", "code", "name", "level", "parent_id",
                      *(f"{name}_id" for name in LEVEL_FIELDS.values()))
SCOPE_SQL = f"""
    SELECT sa.role, {", ".join(f"u.{column}" for column in SCOPE_UNIT_COLUMNS)}
      FROM {StaffAssignment._meta.db_table} sa JOIN {GridUnit._meta.db_table} u ON u.id = sa.unit_id
     WHERE sa.user_id = %(user)s
    UNION ALL
    SELECT NULL, g.patient_id{", NULL" * (len(SCOPE_UNIT_COLUMNS) - 1)}
      FROM {AccessGrant._meta.db_table} g
     WHERE g.user_id = %(user)s AND g.expires_at > %(now)s
    ORDER BY level, code  -- units by level, then code (grants, with neither, last)
"""


def _read_scope(user) -> Scope:
    with connection.cursor() as cursor:
        cursor.execute(SCOPE_SQL, {"user": user.pk, "now": timezone.now()})
        rows = cursor.fetchall()
    units: dict[int, GridUnit] = {}
    roles: dict[int, set[str]] = {}
    granted = set()
    for role, *values in rows:
        if role is None:
            granted.add(values[0])
            continue
        if values[0] not in units:
            units[values[0]] = GridUnit.from_db("default", SCOPE_UNIT_COLUMNS, values)
        roles.setdefault(values[0], set()).add(role)
    return Scope(units=tuple(units.values()), roles={k: frozenset(v) for k, v in roles.items()},
                 granted=frozenset(granted))


def visible(user, queryset: QuerySet, *, via: str | None = None) -> QuerySet:
    """The rows of a placed model's queryset the user may see (R22, R35)."""
    return scope_of(user).visible(queryset, via=via)


def acts_for(user, unit: GridUnit | int | None, roles: Iterable[str] = ANY_ROLE) -> bool:
    """Whether the user holds one of the roles on the unit (or its id) or above it."""
    if unit is not None and not isinstance(unit, GridUnit):
        unit = GridUnit.objects.defer("geom", "extra").get(pk=unit)
    return scope_of(user).acts_for(unit, roles)


def field_groups(user) -> frozenset[str]:
    """Which field groups any of the user's roles gives somewhere (see Scope.field_groups)."""
    return scope_of(user).field_groups


def unit_tiles_allowed(user) -> bool:
    """The unit tiles hold the grid's geography and its household and population counts,
    never a patient figure: every signed-in person may draw them, and all draw the same
    cached tile (patients on the map come through `visible`)."""
    return user.is_authenticated and user.is_active


def patient_points_allowed(user) -> bool:
    """Whether the person may have the map's patient layer (clusters and markers) at all:
    a role of theirs somewhere shows single patients (Scope.units_showing_points)."""
    scope = scope_of(user)
    return scope.everything or bool(scope.units_showing_points())


def purpose_of(request, default: str = "") -> str:
    """The purpose a request states (`purpose`, one of Purpose), else `default`."""
    stated = request.GET.get("purpose") or request.POST.get("purpose") or ""
    return stated if stated in Purpose.values else default


def log(*, user, action: str, purpose: str = "", reason: str = "", patient_ids: Iterable[int] = (),
        query: dict | None = None, request=None) -> AccessLog:
    """R35: write who read, searched, exported or changed which patients, when and why.
    With the request, a purpose it states overrides `purpose` (the page's own task) and
    its path is kept. A row without a purpose is refused, here and by the database."""
    if request is not None:
        purpose = purpose_of(request, purpose)
    if not purpose and action != AccessLog.Action.DENIED:
        raise ValueError(f"an access-log row ({action}) needs a purpose")
    return AccessLog.objects.create(
        user=user if user.is_authenticated else None, username=user.get_username()[:150],
        action=action, purpose=purpose, reason=reason[:300], patient_ids=list(patient_ids),
        query=query or {}, path=request.path[:300] if request is not None else "",
    )


def log_denied(*, user, what: str, patient_ids: Iterable[int] = (), query: dict | None = None,
               request=None, username: str = "") -> AccessLog:
    """A refusal: what was asked for and why it was refused (`what`, in the log's words)."""
    return AccessLog.objects.create(
        user=user if user is not None and user.is_authenticated else None,
        username=(username or (user.get_username() if user is not None else ""))[:150],
        action=AccessLog.Action.DENIED, reason=what[:300], patient_ids=list(patient_ids),
        query=query or {}, path=request.path[:300] if request is not None else "",
    )


def break_glass(*, user, patient_id: int, reason: str, request=None) -> AccessGrant:
    """Open one patient outside the person's units for GRIDCARE_BREAK_GLASS_HOURS, with
    why (required), logged as a break-glass. The caller has found the patient."""
    reason = reason.strip()
    if not reason:
        raise ValueError("breaking the glass needs a reason")
    grant = AccessGrant.objects.create(
        user=user, patient_id=patient_id, reason=reason[:300],
        expires_at=timezone.now() + timedelta(hours=settings.GRIDCARE_BREAK_GLASS_HOURS))
    forget_scope(user)
    log(user=user, action=AccessLog.Action.BREAK_GLASS, purpose=Purpose.EMERGENCY, reason=reason,
        patient_ids=[patient_id], query={"until": grant.expires_at.isoformat()}, request=request)
    return grant
