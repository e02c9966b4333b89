"""The patient register: patients, guardians, follow-ups, risk history, the
responsibility overrides, the tasks the rules open, and the access log.

Placement columns (county … micro_grid) follow gridmap.Household: derived,
written only by the set-based placement, indexed for "everything under X".
"""

from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridmap.models import GridUnit, Household, Role, User


class Diagnosis(models.TextChoices):
    """R1: the six managed diagnoses, stored as the national system spells them."""

    SCHIZOPHRENIA = "精神分裂症", _("schizophrenia")
    SCHIZOAFFECTIVE = "分裂情感性障碍", _("schizoaffective disorder")
    PARANOID = "偏执性精神病", _("persistent delusional disorder")
    BIPOLAR = "双相（情感）障碍", _("bipolar disorder")
    EPILEPSY = "癫痫所致精神障碍", _("mental disorder due to epilepsy")
    RETARDATION = "精神发育迟滞伴发精神障碍", _("intellectual disability with mental disorder")


class Status(models.TextChoices):
    """R4: management status; 死亡 and 出库 are inactive."""

    MANAGED = "在管", _("managed")
    LOST = "失访", _("lost to follow-up")
    UNMANAGED = "非在管", _("not managed")
    IN_HOSPITAL = "住院", _("in hospital")
    DEAD = "死亡", _("deceased")
    REMOVED = "出库", _("removed from register")


INACTIVE_STATUSES = (Status.DEAD, Status.REMOVED)


class Condition(models.TextChoices):
    """R5: condition class after a reached follow-up."""

    STABLE = "稳定", _("stable")
    BASIC = "基本稳定", _("basically stable")
    UNSTABLE = "不稳定", _("unstable")


class Consent(models.TextChoices):
    GIVEN = "同意", _("consented")
    REFUSED = "不同意", _("refused")


class KeyGroup(models.TextChoices):
    """R13–R19: canonical keys of the key groups (重点管理人群)."""

    LOST = "lost", _("lost to follow-up")  # 失访
    UNMANAGED = "unmanaged", _("not managed")  # 非在管
    WEAK_GUARDIAN = "weak_guardian", _("weak or no guardian")  # 弱/无监护
    FLOATING = "floating", _("floating")  # 流动暂住
    PRIOR_INCIDENT = "prior_incident", _("prior incident")  # 曾经肇事肇祸
    HIGH_RISK = "high_risk", _("risk level 3–5")  # 危险评估3-5级
    OTHER = "other", _("other")  # 其他


TEAM_ROLES = (Role.POLICE, Role.VILLAGE_COMMITTEE, Role.VILLAGE_DOCTOR, Role.LIAISON_LEADER)


class Guardian(models.Model):
    """A guardian (监护人); one can guard several patients (R15), known by ID number."""

    # The identity a ledger re-import finds the guardian by: the ID number, or,
    # for a guardian the ledger gives no ID number, "p:" + the patient number.
    key = models.CharField(max_length=80, unique=True)
    id_number = models.CharField(_("ID number"), max_length=18, unique=True, null=True, blank=True)
    name = models.CharField(_("name"), max_length=100)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    unable = models.BooleanField(_("unable to act through physical illness"), default=False)

    class Meta:
        verbose_name = _("guardian")
        verbose_name_plural = _("guardians")

    def __str__(self) -> str:
        return self.name


def _placement_fk(related_name: str = "+") -> models.ForeignKey:
    # Why no database constraint: see gridmap.Household; placement is derived.
    return models.ForeignKey(GridUnit, models.SET_NULL, null=True, blank=True,
                             related_name=related_name, db_constraint=False)


class Patient(models.Model):
    """One registered patient (formats.md §3) and what the rules derive for them."""

    class Sex(models.TextChoices):
        MALE = "M", _("male")  # 男
        FEMALE = "F", _("female")  # 女

    patient_no = models.CharField(_("patient number"), max_length=64, unique=True)  # 档案编号
    name = models.CharField(_("name"), max_length=100)
    id_number = models.CharField(_("ID number"), max_length=18, blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    diagnosis = models.CharField(_("diagnosis"), max_length=32, choices=Diagnosis.choices)
    registered_on = models.DateField(_("registered on"), null=True, blank=True)
    # Residence (现住址): the point, and the units containing it (R0, R22).
    residence_address = models.CharField(_("residence address"), max_length=300)
    household = models.ForeignKey(Household, models.SET_NULL, null=True, blank=True,
                                  related_name="patients", db_constraint=False)
    geom = models.PointField(_("residence"), srid=4326, null=True, blank=True)
    resident_since = models.DateField(_("resident since"), null=True, blank=True)
    county = _placement_fk()
    township = _placement_fk()
    village = _placement_fk()
    grid = _placement_fk()
    micro_grid = _placement_fk()
    # R22: a residence in no stored unit is kept and flagged; the registration
    # place is then responsible.
    outside = models.BooleanField(_("residence outside the stored area"), default=False)
    # Household registration (户籍地), secondary place (R22).
    registration_address = models.CharField(_("registration address"), max_length=300, blank=True)
    registration_code = models.CharField(_("registration unit code"), max_length=64, blank=True)
    registration_unit = models.ForeignKey(GridUnit, models.SET_NULL, null=True, blank=True,
                                          related_name="registered_patients")
    risk_level = models.PositiveSmallIntegerField(_("risk level"), null=True, blank=True)
    risk_assessed_on = models.DateField(_("risk assessed on"), null=True, blank=True)
    condition = models.CharField(_("condition"), max_length=8, choices=Condition.choices, blank=True)
    consent = models.CharField(_("consent"), max_length=8, choices=Consent.choices, blank=True)
    status = models.CharField(_("management status"), max_length=8, choices=Status.choices,
                              default=Status.MANAGED)
    guardian = models.ForeignKey(Guardian, models.SET_NULL, null=True, blank=True,
                                 related_name="patients", verbose_name=_("guardian"))
    guardian_relation = models.CharField(_("relation to guardian"), max_length=40, blank=True)
    prior_incidents = ArrayField(models.CharField(max_length=20), default=list, blank=True,
                                 verbose_name=_("prior incidents"))
    admissions_past_year = models.PositiveSmallIntegerField(_("admissions in the past year"),
                                                            default=0)
    psychotic_symptoms = models.BooleanField(_("hallucinations or delusions"), default=False)
    violent_tendency = models.BooleanField(_("harmful behaviour or tendency"), default=False)
    extra = models.JSONField(default=dict, blank=True)
    # Derived by cases.services.patients_classify (R5–R19), as of `classified_on`.
    key_groups = ArrayField(models.CharField(max_length=20), default=list, blank=True,
                            verbose_name=_("key groups"))
    next_due = models.DateField(_("next follow-up due"), null=True, blank=True)
    followups_this_year = models.PositiveSmallIntegerField(default=0)
    face_to_face_due = models.BooleanField(default=False)  # R8, this quarter
    classified_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        ordering = ["patient_no"]
        indexes = [
            models.Index(fields=["status"]),
            models.Index(fields=["next_due"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(risk_level__isnull=True) | Q(risk_level__lte=5),
                                   name="patient_risk_0_to_5"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.patient_no})"

    @property
    def active(self) -> bool:
        return self.status not in INACTIVE_STATUSES


class FollowUp(models.Model):
    """One follow-up attempt (随访, formats.md §4), reached or not (R9, R10)."""

    class Method(models.TextChoices):
        FACE_TO_FACE = "面访", _("face to face")
        PHONE = "电话", _("telephone")

    class Medication(models.TextChoices):
        REGULAR = "规律", _("regular")
        IRREGULAR = "间断", _("irregular")
        NONE = "不服药", _("not taking")

    patient = models.ForeignKey(Patient, models.CASCADE, related_name="followups")
    followed_at = models.DateTimeField(_("followed up at"))
    method = models.CharField(_("method"), max_length=4, choices=Method.choices)
    reached = models.BooleanField(_("reached"))
    condition = models.CharField(_("condition"), max_length=8, choices=Condition.choices, blank=True)
    risk_level = models.PositiveSmallIntegerField(_("risk level"), null=True, blank=True)
    medication = models.CharField(_("medication"), max_length=8, choices=Medication.choices,
                                  blank=True)
    recorded_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    extra = models.JSONField(default=dict, blank=True)  # the file's unknown columns
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["patient", "-followed_at"]
        constraints = [
            # A re-imported follow-up file updates, never duplicates.
            models.UniqueConstraint(fields=["patient", "followed_at", "method"],
                                    name="followup_once_per_time_method"),
        ]


class RiskAssessment(models.Model):
    """The history of risk levels (R2): from ledgers, follow-ups and forms."""

    class Source(models.TextChoices):
        LEDGER = "ledger", _("ledger import")
        FOLLOW_UP = "follow_up", _("follow-up")
        FORM = "form", _("form")

    patient = models.ForeignKey(Patient, models.CASCADE, related_name="risk_assessments")
    assessed_on = models.DateField(_("assessed on"))
    level = models.PositiveSmallIntegerField(_("risk level"))
    source = models.CharField(max_length=16, choices=Source.choices)

    class Meta:
        verbose_name = _("risk assessment")
        verbose_name_plural = _("risk assessments")
        ordering = ["patient", "-assessed_on"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "assessed_on", "source"],
                                    name="risk_once_per_day_source"),
            models.CheckConstraint(condition=Q(level__lte=5), name="risk_assessment_0_to_5"),
        ]


class TeamOverride(models.Model):
    """R20: a person named for one patient in a role, instead of the unit's."""

    patient = models.ForeignKey(Patient, models.CASCADE, related_name="team_overrides")
    role = models.CharField(_("role"), max_length=32, choices=[(r.value, r.label) for r in TEAM_ROLES])
    user = models.ForeignKey(User, models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("team override")
        verbose_name_plural = _("team overrides")
        constraints = [models.UniqueConstraint(fields=["patient", "role"], name="override_once_per_role")]


class Task(models.Model):
    """Work the rules open for a patient (R8, R9); closed when no longer needed."""

    class Kind(models.TextChoices):
        RETRY = "retry", _("follow-up retry")  # R9
        FACE_TO_FACE = "face_to_face", _("quarterly face-to-face visit")  # R8
        MOBILISE_ADMISSION = "mobilise_admission", _("mobilise admission")  # R8
        PHONE_FOLLOW_UP = "phone_follow_up", _("telephone follow-up during a transfer")  # R25

    patient = models.ForeignKey(Patient, models.CASCADE, related_name="tasks")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    # The unit whose team does it: the residence's, the origin's during a transfer
    # (R25); acceptance moves every open task to the destination.
    unit = models.ForeignKey(GridUnit, models.SET_NULL, null=True, blank=True, related_name="+")
    due_on = models.DateField(_("due"), null=True, blank=True)
    opened_on = models.DateField(_("opened"))
    closed_on = models.DateField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        constraints = [
            models.UniqueConstraint(fields=["patient", "kind"], condition=Q(closed_on__isnull=True),
                                    name="one_open_task_per_kind"),
        ]


class LostSearch(models.Model):
    """R11: one action taken to find a lost patient, for the per-person file."""

    patient = models.ForeignKey(Patient, models.CASCADE, related_name="searches")
    searched_on = models.DateField(_("date"))
    action = models.TextField(_("search action"))
    found = models.BooleanField(_("found"), default=False)
    recorded_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("search action")
        verbose_name_plural = _("search actions")
        ordering = ["patient", "searched_on"]


class AccessLog(models.Model):
    """R35: who read or exported which patients, when, and why."""

    class Action(models.TextChoices):
        VIEW = "view", _("viewed a record")
        LIST = "list", _("listed or searched")
        EXPORT = "export", _("exported")
        UPDATE = "update", _("changed a record")

    user = models.ForeignKey(User, models.SET_NULL, null=True, related_name="+")
    username = models.CharField(max_length=150)  # kept if the user is deleted
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=8, choices=Action.choices)
    patient_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    query = models.JSONField(default=dict, blank=True)  # filters, export kind, path
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")
        ordering = ["-at"]
        indexes = [models.Index(fields=["user", "at"]), GinIndex(fields=["patient_ids"])]


# --- Moves, handoffs and transfers (R23–R28) -------------------------------------------------


class MoveKind(models.TextChoices):
    """R23: canonical move kinds (formats.md), by the level crossed."""

    MICRO_GRID = "micro_grid", _("within a grid")  # handoff
    GRID = "grid", _("within a village")  # handoff
    VILLAGE = "village", _("within a township")  # transfer
    TOWNSHIP = "township", _("within a county")  # transfer
    COUNTY = "county", _("between counties")  # transfer
    OUTSIDE = "outside", _("out of the area")  # outflow


class Transfer(models.Model):
    """R23–R26: one detected residence change (流转) and what follows it.

    Handoffs (micro_grid, grid) are effective at once. Transfers (village,
    township, county) run detected → reported → exchanged → accepted, or
    disputed → escalated → resolved, or cancelled; until acceptance the
    patient stays with the origin (the patient row keeps its old residence
    and units; the new ones are here). Outflows (outside) stay open with the
    origin responsible.
    """

    class State(models.TextChoices):
        HANDED_OVER = "handed_over", _("handed over")
        DETECTED = "detected", _("detected")
        REPORTED = "reported", _("reported")
        EXCHANGED = "exchanged", _("information exchanged")
        ACCEPTED = "accepted", _("accepted")
        DISPUTED = "disputed", _("disputed")
        ESCALATED = "escalated", _("escalated")
        RESOLVED = "resolved", _("resolved")
        CANCELLED = "cancelled", _("cancelled")
        OUTFLOW = "outflow", _("outflow (origin responsible)")

    OPEN_STATES = ("detected", "reported", "exchanged", "disputed", "escalated", "outflow")

    class Source(models.TextChoices):
        IMPORT = "import", _("ledger import")
        API = "api", _("API")
        FORM = "form", _("form")

    patient = models.ForeignKey(Patient, models.CASCADE, related_name="transfers")
    kind = models.CharField(_("kind"), max_length=12, choices=MoveKind.choices)
    state = models.CharField(_("state"), max_length=12, choices=State.choices)
    source = models.CharField(max_length=8, choices=Source.choices)
    from_unit = models.ForeignKey(GridUnit, models.PROTECT, null=True, blank=True, related_name="+",
                                  verbose_name=_("from"))
    to_unit = models.ForeignKey(GridUnit, models.PROTECT, null=True, blank=True, related_name="+",
                                verbose_name=_("to"))
    from_point = models.PointField(srid=4326, null=True, blank=True)
    to_point = models.PointField(srid=4326, null=True, blank=True)
    to_address = models.CharField(_("new address"), max_length=300, blank=True)
    to_household = models.ForeignKey(Household, models.SET_NULL, null=True, blank=True, related_name="+",
                                     db_constraint=False)
    detected_at = models.DateTimeField(_("detected"))
    reported_at = models.DateTimeField(_("reported"), null=True, blank=True)
    exchanged_at = models.DateTimeField(_("exchanged"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    disputed_at = models.DateTimeField(_("disputed"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)  # resolved or cancelled
    # R24 deadlines, set as each step happens; fallback years: the calendar was guessed.
    report_by = models.DateTimeField(_("report by"), null=True, blank=True)
    exchange_by = models.DateTimeField(_("exchange by"), null=True, blank=True)
    accept_by = models.DateTimeField(_("accept by"), null=True, blank=True)
    calendar_fallback_years = ArrayField(models.PositiveSmallIntegerField(), default=list, blank=True)
    # R26: a dispute carries the origin's risk assessment and a written explanation.
    dispute_explanation = models.TextField(_("explanation"), blank=True)
    dispute_risk_level = models.PositiveSmallIntegerField(null=True, blank=True)
    dispute_risk_assessed_on = models.DateField(null=True, blank=True)
    escalated_to = models.CharField(max_length=16, blank=True)  # "county" or "above_county"
    resolution = models.TextField(_("resolution"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        ordering = ["-detected_at"]
        constraints = [
            # Two simultaneous moves of one patient produce one open transfer.
            models.UniqueConstraint(fields=["patient"], condition=Q(state__in=(
                "detected", "reported", "exchanged", "disputed", "escalated", "outflow")),
                name="one_open_transfer_per_patient"),
        ]
        indexes = [models.Index(fields=["state"]), models.Index(fields=["to_unit", "state"]),
                   models.Index(fields=["from_unit", "state"])]

    def __str__(self) -> str:
        return f"{self.patient} · {self.get_kind_display()} · {self.get_state_display()}"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES


class TransferAttachment(models.Model):
    """R26: evidence attached to a disputed transfer."""

    transfer = models.ForeignKey(Transfer, models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="transfers/%Y/%m/")
    uploaded_by = models.ForeignKey(User, models.SET_NULL, null=True, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)


class EventReport(models.Model):
    """R27/R28: a discovered event reported to the township group; late ones flagged."""

    class Kind(models.TextChoices):
        LOST_CONTACT = "lost_contact", _("lost contact")  # 失联
        NO_GUARDIAN = "no_guardian", _("no guardian")  # 无监护
        IRREGULAR_MEDICATION = "irregular_medication", _("irregular medication")  # 不规律服药
        RELAPSE = "relapse", _("relapse or worsening")  # 复发或病情加重
        INCIDENT_RISK = "incident_risk", _("other incident risk")  # 其他肇事肇祸风险
        LIKELY_TO_LEAVE = "likely_to_leave", _("likely to leave")  # R27 拟外出

    patient = models.ForeignKey(Patient, models.CASCADE, related_name="event_reports")
    kind = models.CharField(_("event"), max_length=24, choices=Kind.choices)
    discovered_at = models.DateTimeField(_("discovered"))
    reported_at = models.DateTimeField(_("reported"), null=True, blank=True)
    due_by = models.DateTimeField(_("report by"))
    note = models.TextField(_("note"), blank=True)
    reported_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("event report")
        verbose_name_plural = _("event reports")
        ordering = ["-discovered_at"]

    @property
    def late(self) -> bool:
        return self.reported_at is not None and self.reported_at > self.due_by


class Alert(models.Model):
    """A missed deadline found by the sweep (R24, R27, R28); one per thing and kind."""

    class Kind(models.TextChoices):
        REPORT_OVERDUE = "report_overdue", _("transfer not reported in time")
        EXCHANGE_OVERDUE = "exchange_overdue", _("information not exchanged in time")
        ACCEPT_OVERDUE = "accept_overdue", _("transfer not accepted in time")
        EVENT_OVERDUE = "event_overdue", _("event not reported in time")

    kind = models.CharField(max_length=20, choices=Kind.choices)
    transfer = models.ForeignKey(Transfer, models.CASCADE, null=True, blank=True, related_name="alerts")
    event_report = models.ForeignKey(EventReport, models.CASCADE, null=True, blank=True,
                                     related_name="alerts")
    unit = models.ForeignKey(GridUnit, models.CASCADE, null=True, blank=True, related_name="+")
    due_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        constraints = [
            # A sweep run twice creates nothing twice.
            models.UniqueConstraint(fields=["kind", "transfer"], condition=Q(transfer__isnull=False),
                                    name="one_alert_per_transfer_kind"),
            models.UniqueConstraint(fields=["kind", "event_report"],
                                    condition=Q(event_report__isnull=False),
                                    name="one_alert_per_event_kind"),
        ]


class Notification(models.Model):
    """A message to one person: a handoff into or out of their grid (R23), a floating
    patient of their registration village (R27)."""

    user = models.ForeignKey(User, models.CASCADE, related_name="notifications")
    patient = models.ForeignKey(Patient, models.CASCADE, related_name="+")
    transfer = models.ForeignKey(Transfer, models.CASCADE, null=True, blank=True, related_name="+")
    key = models.CharField(max_length=64)  # what it is about, for idempotence
    text = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["user", "patient", "key"],
                                               name="notification_once")]


class CalendarDay(models.Model):
    """An administrator's correction of the working-day calendar (R24): a holiday or a
    make-up working day (调休), e.g. for a year the built-in calendar does not know."""

    day = models.DateField(_("date"), unique=True)
    working = models.BooleanField(_("working day"))
    note = models.CharField(_("note"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["day"]


from cases.screening_models import Campaign, CoverageCount, SuspectedCase, Visit  # noqa: E402,F401
