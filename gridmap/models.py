"""The five-level grid: units, households, staff, the imports that feed them, and the
records every subject shares: the access log (R35) and the working-day calendar (R24, R33).

Everything placed on the grid (households here, patients and visits in the case apps)
carries five ancestor columns, one per level, filled by the set-based placement of R0
(gridmap.services); `PlacedQuerySet.under_any` reads them, and gridmap.access decides
with it what each person may see.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, GistIndex
from django.db.models import F, Q
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Level(models.IntegerChoices):
    COUNTY = 1, _("county")  # 区县
    TOWNSHIP = 2, _("township")  # 乡镇/街道
    VILLAGE = 3, _("village")  # 村/社区
    GRID = 4, _("grid")  # 网格
    MICRO_GRID = 5, _("micro-grid")  # 微网格


# The ancestor column for each level, on GridUnit and on everything placed on
# the grid (households now, patients and visits later).
LEVEL_FIELDS = {1: "county", 2: "township", 3: "village", 4: "grid", 5: "micro_grid"}


class User(AbstractUser):
    """A member of staff. Their data scope comes from their StaffAssignments."""

    full_name = models.CharField(_("name"), max_length=100, blank=True)  # 姓名
    phone = models.CharField(_("phone"), max_length=40, blank=True)  # 电话

    def __str__(self) -> str:
        return self.full_name or self.username


class PlacedQuerySet(models.QuerySet):
    """Rows placed on the grid: by their own five ancestor columns, or through relations to
    placed rows. `placed_by` names the relation paths whose columns place a row ("" is the
    row's own columns); a model adds its paths by subclassing (R22: a patient's
    registration unit)."""

    placed_by: tuple[str, ...] = ("",)

    def under_any(self, units: Iterable["GridUnit"], *, via: str | None = None) -> "PlacedQuerySet":
        """Rows placed under any of the units (each unit's whole subtree), by every path of
        `placed_by`, or by `via` alone. One indexed equality per level and path."""
        return self.filter(self.placed_under(units, (via,) if via is not None else self.placed_by))

    def under_or_above_any(self, units: Iterable["GridUnit"], *, via: str) -> "PlacedQuerySet":
        """Rows whose unit (reached by `via`, e.g. "scope__") lies under one of the units or
        above one of them: a campaign over a user's township and one over their village."""
        units = list(units)
        above = {unit.ancestor_id(level) for unit in units for level in range(1, unit.level)}
        return self.filter(self.placed_under(units, (via,)) | Q(**{f"{via}id__in": sorted(above)}))

    def with_unit_naming(self, *wanted: str) -> "PlacedQuerySet":
        """Unit codes and names read in the row itself: "micro_grid.code" gives the row's
        micro-grid's code as `micro_grid_code` (None where there is none).

        Why raw SQL: each is one primary-key lookup beside the row. As joins, a page naming
        five levels would plan a five-way join of the unit table, which costs more than the
        page itself (40 ms to plan, 4 ms to run; probe finding 12); as ORM subqueries they
        cost more to compile than to run (bench/load). Names come from code, never input."""
        table, units = self.model._meta.db_table, GridUnit._meta.db_table
        annotations = {}
        for name in wanted:
            level, column = name.split(".")
            if level not in LEVEL_FIELDS.values() or column not in ("code", "name"):
                raise ValueError(f"not a unit's name or code: {name}")
            annotations[f"{level}_{column}"] = RawSQL(
                f"(SELECT u.{column} FROM {units} u WHERE u.id = {table}.{level}_id)", (),
                output_field=models.CharField())
        return self.annotate(**annotations)

    @staticmethod
    def placed_under(units: Iterable["GridUnit"], paths: Iterable[str]) -> Q:
        """The condition "placed under one of the units" over the given relation paths."""
        by_level: dict[int, list[int]] = defaultdict(list)
        for unit in units:
            by_level[unit.level].append(unit.pk)
        condition = Q(pk__in=[])
        for path in paths:
            for level, ids in sorted(by_level.items()):
                condition |= Q(**{f"{path}{LEVEL_FIELDS[level]}_id__in": ids})
        return condition



class GridUnitQuerySet(PlacedQuerySet):
    def at_level(self, level: int) -> "GridUnitQuerySet":
        return self.filter(level=level)

    def under(self, unit: "GridUnit", *, include_self: bool = True) -> "GridUnitQuerySet":
        """Every unit in unit's subtree: one indexed equality on an ancestor column."""
        qs = self.filter(**{f"{LEVEL_FIELDS[unit.level]}_id": unit.pk})
        return qs if include_self else qs.exclude(pk=unit.pk)

    def covering(self, point) -> "GridUnitQuerySet":
        """Units whose polygon covers point, boundary included, lowest code first (R0)."""
        return self.filter(geom__covers=point).order_by("code")


class GridUnit(models.Model):
    """One polygon of the five-level grid (区县 > 乡镇 > 村 > 网格 > 微网格).

    Why per-level ancestor columns rather than a materialised path: the depth
    is fixed at five, so five nullable foreign keys (the unit itself at its
    own level) make "everything under X" one indexed equality
    (`township_id = X`) and "the level-k ancestor of Y" one column read, and
    they are exactly the GROUP BY keys of coverage and counts at any level.
    They are kept by `gridmap.services.grid_units_refresh_ancestry`, which
    recomputes them set-based after every import.
    """

    code = models.CharField(_("code"), max_length=64, unique=True)  # 编码
    name = models.CharField(_("name"), max_length=200)  # 名称
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)  # 层级
    parent = models.ForeignKey(
        "self", models.PROTECT, null=True, blank=True, related_name="children",
        verbose_name=_("parent"),
    )
    county = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="+")
    township = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="+")
    village = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="+")
    grid = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="+")
    micro_grid = models.ForeignKey(
        "self", models.PROTECT, null=True, blank=True, related_name="+"
    )
    geom = models.MultiPolygonField(_("boundary"), srid=settings.GRIDCARE_SRID)
    households = models.PositiveIntegerField(_("households"), default=0)  # 户数
    population = models.PositiveIntegerField(_("population"), default=0)  # 人口数
    extra = models.JSONField(_("extra columns"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = GridUnitQuerySet.as_manager()

    class Meta:
        verbose_name = _("grid unit")
        verbose_name_plural = _("grid units")
        ordering = ["code"]
        indexes = [models.Index(fields=["level", "code"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(level__gte=1, level__lte=5), name="gridunit_level_1_to_5"
            ),
            models.CheckConstraint(
                condition=Q(level=1, parent__isnull=True) | Q(level__gt=1, parent__isnull=False),
                name="gridunit_only_counties_have_no_parent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def ancestor_id(self, level: int) -> int | None:
        return getattr(self, f"{LEVEL_FIELDS[level]}_id")


class GridUnitShape(models.Model):
    """A boundary a unit had before a re-import changed it (geometry history)."""

    unit = models.ForeignKey(GridUnit, models.CASCADE, related_name="shapes")
    geom = models.MultiPolygonField(srid=settings.GRIDCARE_SRID)
    valid_until = models.DateTimeField(_("replaced at"))
    import_run = models.ForeignKey("ImportRun", models.SET_NULL, null=True, blank=True)

    class Meta:
        verbose_name = _("former boundary")
        verbose_name_plural = _("former boundaries")
        ordering = ["unit", "-valid_until"]


class UnitTile(models.Model):
    """A unit's shapes for the vector tiles (gridmap.tiles): in web Mercator, simplified
    once per band, and its label point. Derived, written only by
    gridmap.services.unit_tiles_refresh after every unit import; a band a level is never
    drawn from stays empty (NULL)."""

    unit = models.OneToOneField(GridUnit, models.CASCADE, primary_key=True, related_name="tile")
    level = models.PositiveSmallIntegerField(choices=Level.choices)
    # md5 of the unit's boundary (EWKB) these shapes were made from: the refresh skips units
    # whose boundary and level are unchanged (an import's updated_at is its transaction's
    # start, the same for two imports in one transaction).
    source_md5 = models.CharField(max_length=32)
    geom_5 = models.MultiPolygonField(srid=3857, null=True, spatial_index=False)
    geom_8 = models.MultiPolygonField(srid=3857, null=True, spatial_index=False)
    geom_11 = models.MultiPolygonField(srid=3857, null=True, spatial_index=False)
    geom_14 = models.MultiPolygonField(srid=3857, null=True, spatial_index=False)
    label = models.PointField(srid=3857, spatial_index=False)  # ST_PointOnSurface: inside, even a C shape

    class Meta:
        verbose_name = _("unit tile shape")
        verbose_name_plural = _("unit tile shapes")
        # A band's index holds only the units drawn from it: with NULLs in, PostGIS's estimate
        # of a z6 box over a province was a third of the table, and the planner scanned it
        # all (50 ms instead of 3). A tile's labels are one level's: an index per level, so
        # that a z6 tile reads its 100 county points, not the 130k of every level (15 ms).
        # (Written as expressions: GeoDjango drops the condition of a spatial index named by
        # its field, Django 5.2.)
        indexes = [
            *(GistIndex(F(f"geom_{band}"), condition=Q(**{f"geom_{band}__isnull": False}),
                        name=f"unittile_geom_{band}") for band in (5, 8, 11, 14)),
            *(GistIndex(F("label"), condition=Q(level=level), name=f"unittile_label_{level}")
              for level in range(1, 6)),
        ]


def _placement_fk() -> models.ForeignKey:
    return models.ForeignKey(GridUnit, models.SET_NULL, null=True, blank=True, related_name="+",
                             db_constraint=False)


class Placed(models.Model):
    """The units containing a point (R0), one column per level, derived and written only
    by the set-based placement (gridmap.services). Why no database FK constraint: each
    would cost a per-row trigger lookup at commit, a third of a 2-million-household
    import as measured in bench/; the placement reads the ids from the unit table in the
    same statement."""

    county = _placement_fk()
    township = _placement_fk()
    village = _placement_fk()
    grid = _placement_fk()
    micro_grid = _placement_fk()

    class Meta:
        abstract = True

    def placement(self) -> tuple[int | None, ...]:
        """The five unit ids, county first (None where there is none)."""
        return tuple(getattr(self, f"{name}_id") for name in LEVEL_FIELDS.values())


class Household(Placed):
    """A standard address (标准地址) with the units that contain it (R0)."""

    code = models.CharField(_("address code"), max_length=64, unique=True)  # 地址编码
    address = models.CharField(_("address"), max_length=300)  # 地址
    residents = models.PositiveIntegerField(_("residents"), null=True, blank=True)  # 人口数
    geom = models.PointField(_("location"), srid=settings.GRIDCARE_SRID)
    extra = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PlacedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("model", "household")
        verbose_name_plural = pgettext_lazy("model", "households")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.address} ({self.code})"


class Role(models.TextChoices):
    """Staff roles of formats.md §7."""

    COUNTY_OFFICE = "county_office", _("county mental-health office")  # 区县重精办
    TOWNSHIP_OFFICE = "township_office", _("township governance office")  # 乡镇综治办
    HEALTH_STAFF = "health_staff", _("health-centre mental-health staff")  # 卫生院精防人员
    POLICE = "police", _("police officer")  # 民警
    VILLAGE_COMMITTEE = "village_committee", _("village committee")  # 村两委
    LIAISON_LEADER = "liaison_leader", _("village liaison leader")  # 联村领导
    VILLAGE_DOCTOR = "village_doctor", _("village doctor")  # 村医
    GRID_WORKER = "grid_worker", _("grid worker")  # 网格员
    MICRO_GRID_LEADER = "micro_grid_leader", _("micro-grid leader")  # 微网格长


class StaffAssignment(models.Model):
    """A person serving a unit in a role; their data scope is that unit's subtree."""

    user = models.ForeignKey(User, models.CASCADE, related_name="assignments")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    unit = models.ForeignKey(GridUnit, models.CASCADE, related_name="staff")

    class Meta:
        verbose_name = _("responsibility")
        verbose_name_plural = _("responsibilities")
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "unit"], name="staff_once_per_role_unit")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.unit.code}"


class ImportRun(models.Model):
    """One run of an importer: what was read, what it did, every problem found."""

    class Kind(models.TextChoices):
        GRID_UNITS = "grid_units", _("grid units")
        HOUSEHOLDS = "households", _("households")
        STAFF = "staff", _("staff")
        PATIENTS = "patients", _("patient ledger")
        FOLLOWUPS = "followups", _("follow-up records")
        CAMPAIGNS = "campaigns", _("screening campaigns")
        SCREENING = "screening", _("screening visits")

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")  # the file had errors; nothing was written

    kind = models.CharField(max_length=32, choices=Kind.choices)
    filename = models.CharField(max_length=300)
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    dry_run = models.BooleanField(default=False)
    report = models.JSONField(default=dict, blank=True)
    job_id = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.filename} ({self.get_status_display()})"


class Purpose(models.TextChoices):
    """Why a person reads, searches or exports patients: asked for exports (the user picks
    one), a break-glass (emergency) and an API call (`purpose`); a page's own task otherwise."""

    CARE = "care", _("daily management and follow-up")  # 日常管理与随访
    REPORT = "report", _("statistics and reporting")  # 统计上报
    TRANSFER = "transfer", _("transfer and handover")  # 转介交接
    SCREENING = "screening", _("screening")  # 筛查
    VERIFY = "verify", _("verification")  # 核查核实
    EMERGENCY = "emergency", _("emergency (break-glass)")  # 紧急查阅
    AUDIT = "audit", _("audit")  # 审计
    OTHER = "other", _("other (say why)")  # 其他


class AccessLog(models.Model):
    """R35, seed 000 §三(二) (严格查询程序): who read, searched, exported or was refused
    which patients, when, what and why. Written by gridmap.access only.

    Append-only and tamper-evident (issue 10, Deliver 6): the database refuses UPDATE,
    DELETE and TRUNCATE on the table (trigger). When the transaction that wrote a row
    commits, a deferred trigger numbers it (`seq`, in commit order) and stores the SHA-256
    of its content chained to the previous row's (`prev_hash`, `hash`): the chain's lock is
    held only while committing, so logging never makes two transactions wait on each other.
    gridmap.audit verifies the chain and the daily heads kept outside the database."""

    class Action(models.TextChoices):
        VIEW = "view", _("viewed a record")
        LIST = "list", _("listed or searched")
        EXPORT = "export", _("exported")
        UPDATE = "update", _("changed a record")
        DENIED = "denied", _("was refused")
        BREAK_GLASS = "break_glass", _("opened a record outside their units (break-glass)")
        UNMASK = "unmask", _("revealed an ID or phone number")

    # No database constraint: deleting a person must not rewrite (or be refused by) the log;
    # `username` keeps who it was.
    user = models.ForeignKey(User, models.DO_NOTHING, null=True, related_name="+", db_constraint=False)
    username = models.CharField(max_length=150)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices, blank=True)
    reason = models.CharField(_("why"), max_length=300, blank=True)  # in the person's words
    patient_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    query = models.JSONField(default=dict, blank=True)  # filters, export kind, what was refused
    path = models.CharField(max_length=300, blank=True)
    seq = models.BigIntegerField(null=True, unique=True, editable=False)  # set on commit
    prev_hash = models.CharField(max_length=64, blank=True, editable=False)
    hash = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        db_table = "cases_accesslog"  # created with the register (cases/migrations)
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")
        ordering = ["-at"]
        indexes = [models.Index(fields=["user", "at"]), GinIndex(fields=["patient_ids"]),
                   models.Index(fields=["action", "at"])]
        constraints = [
            # Every row but a refusal says why; "other" and a break-glass say it in words.
            models.CheckConstraint(condition=Q(action="denied") | ~Q(purpose=""),
                                   name="accesslog_has_a_purpose"),
            models.CheckConstraint(condition=(~Q(purpose="other") & ~Q(action="break_glass"))
                                   | ~Q(reason=""), name="accesslog_reason_when_needed"),
        ]


class AccessGrant(models.Model):
    """A break-glass (issue 10, Deliver 5): a person opened a patient outside their units,
    stating why; they may see that patient until `expires_at` (GRIDCARE_BREAK_GLASS_HOURS).
    The county office sees every grant (gridmap.audit). The patient is an id only: the
    register sits above the grid (cases.patients) and is not imported here."""

    user = models.ForeignKey(User, models.CASCADE, related_name="grants")
    patient_id = models.BigIntegerField()
    reason = models.CharField(_("why"), max_length=300)
    granted_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = _("break-glass access")
        verbose_name_plural = _("break-glass accesses")
        ordering = ["-granted_at"]
        indexes = [models.Index(fields=["user", "expires_at"])]
        constraints = [models.CheckConstraint(condition=~Q(reason=""), name="grant_has_a_reason")]


class CalendarDay(models.Model):
    """An administrator's correction of the working-day calendar (R24, R33): a holiday or a
    make-up working day (调休), e.g. for a year the built-in calendar does not know."""

    day = models.DateField(_("date"), unique=True)
    working = models.BooleanField(_("working day"))
    note = models.CharField(_("note"), max_length=100, blank=True)

    class Meta:
        db_table = "cases_calendarday"  # created with the transfers (cases/migrations)
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["day"]
