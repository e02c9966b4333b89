"""The patient register: patients, guardians, follow-ups, risk history, the
responsibility overrides, the tasks the rules open, event reports and lost-patient
searches (R1–R22, R27, R28).

Placement columns (county … micro_grid) follow gridmap.Household: derived, written
only by the set-based placement, indexed for "everything under X". The register's
enumerations are defined once, in cases.patients.rules.
"""

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.db.models import F, Func, Q
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_lazy as _

from cases.patients.rules import INACTIVE_STATUSES, Condition, Consent, DeathSource, Diagnosis, Status
from gridmap import crypto
from gridmap.crypto import EncryptedCharField
from gridmap.models import LEVEL_FIELDS, GridUnit, Household, Placed, PlacedQuerySet, Role, User

TEAM_ROLES = (Role.POLICE, Role.VILLAGE_COMMITTEE, Role.VILLAGE_DOCTOR, Role.LIAISON_LEADER)


class Guardian(models.Model):
    """A guardian (监护人); one can guard several patients (R15), known by ID number."""

    # The identity a ledger re-import finds the guardian by: the ID number's index, or,
    # for a guardian the ledger gives no ID number, "p:" + the patient number.
    key = models.CharField(max_length=80, unique=True)
    # Encrypted at rest (gridmap.crypto); equality and search through the index columns.
    id_number = EncryptedCharField(_("ID number"), column_label="cases_guardian.id_number", max_length=18,
                                   null=True, blank=True)
    id_number_index = models.CharField(max_length=80, blank=True, editable=False)
    name = models.CharField(_("name"), max_length=100)
    phone = EncryptedCharField(_("phone"), column_label="cases_guardian.phone", max_length=40, blank=True)
    phone_index = models.CharField(max_length=80, blank=True, editable=False)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    unable = models.BooleanField(_("unable to act through physical illness"), default=False)

    class Meta:
        db_table = "cases_guardian"
        verbose_name = _("guardian")
        verbose_name_plural = _("guardians")
        constraints = [models.UniqueConstraint(fields=["id_number_index"], condition=~Q(id_number_index=""),
                                               name="guardian_one_per_id_number")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.id_number_index, self.phone_index = crypto.index(self.id_number), crypto.index(self.phone)
        super().save(*args, **kwargs)

    @classmethod
    def after_index_rotation(cls) -> None:
        """A guardian known by ID number is keyed by its index (gridmap.crypto.rotate)."""
        cls.objects.exclude(id_number_index="").update(key=F("id_number_index"))


class PatientQuerySet(PlacedQuerySet):
    # R22: the residence places a patient, and so does the household registration (户籍地),
    # which sees its floating patients and those whose residence is outside or unknown.
    placed_by = ("", "registration_unit__")

    def under_any(self, units, *, via: str | None = None) -> "PatientQuerySet":
        """Patients placed under the units (R22), and, unless `via` names one path, those an
        open transfer is bringing there (R24: the destination verifies the patient before
        accepting). Transfers are cases.transfers' rows, reached through their `transfers`
        relation; a transfer is open while it has no `closed_at` (a database constraint
        there keeps that true)."""
        if via is not None:
            return super().under_any(units, via=via)
        units = list(units)
        incoming = Patient.objects.filter(self.placed_under(units, ("transfers__to_unit__",)),
                                          transfers__closed_at__isnull=True).values("pk")
        return self.filter(self.placed_under(units, self.placed_by) | Q(pk__in=incoming))

    def with_coordinates(self) -> "PatientQuerySet":
        """The residence as two numbers PostGIS reads out (`geom_lon`, `geom_lat`; None where
        unknown) instead of a point object per row: a page of 50 or a map of 5,000 builds no
        geometry in Python."""
        return self.defer("geom").annotate(
            geom_lon=Func("geom", function="ST_X", output_field=models.FloatField()),
            geom_lat=Func("geom", function="ST_Y", output_field=models.FloatField()))

    def with_guardian_contact(self) -> "PatientQuerySet":
        """The guardian's name and telephone (decrypted) as `guardian_name` and
        `guardian_phone`, read in the row: a list builds no guardian object per patient."""
        return self.annotate(guardian_name=F("guardian__name"), guardian_phone=F("guardian__phone"))

    def with_other_chains(self) -> "PatientQuerySet":
        """`other_chains`: the unit ids of the registration place's chain (R22) and of an
        open transfer's destination (R24), which with the residence's decide a row's field
        groups (cases.patients.selectors.field_groups_by_patient) without a query of its own.
        Why raw SQL: two lookups beside the row returning arrays, which the ORM has no
        expression for; transfers are cases.transfers' rows (one open per patient at most)."""
        ids = ", ".join(f"u.{level}_id" for level in LEVEL_FIELDS.values())
        table, units = self.model._meta.db_table, GridUnit._meta.db_table
        return self.annotate(other_chains=RawSQL(
            f"""(SELECT ARRAY[{ids}] FROM {units} u WHERE u.id = {table}.registration_unit_id)
                || (SELECT ARRAY[{ids}] FROM cases_transfer t JOIN {units} u ON u.id = t.to_unit_id
                    WHERE t.patient_id = {table}.id AND t.closed_at IS NULL)""",
            (), output_field=ArrayField(models.BigIntegerField())))

    def living_or_registered_under(self, units) -> "PatientQuerySet":
        """Patients whose residence or registration place (R22) lies under the units."""
        return self.filter(self.placed_under(units, self.placed_by))


class Patient(Placed):
    """One registered patient (formats.md §3) and what the rules derive for them."""

    class Sex(models.TextChoices):
        MALE = "M", _("male")  # 男
        FEMALE = "F", _("female")  # 女

    patient_no = models.CharField(_("patient number"), max_length=64, unique=True)  # 档案编号
    name = models.CharField(_("name"), max_length=100)
    # Encrypted at rest (gridmap.crypto); search by `id_number_index`.
    id_number = EncryptedCharField(_("ID number"), column_label="cases_patient.id_number", max_length=18,
                                   blank=True)
    id_number_index = models.CharField(max_length=80, blank=True, editable=False, db_index=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    diagnosis = models.CharField(_("diagnosis"), max_length=32, choices=Diagnosis.choices)
    registered_on = models.DateField(_("registered on"), null=True, blank=True)
    # Residence (现住址): the point, and the units containing it (R0, R22).
    residence_address = models.CharField(_("residence address"), max_length=300)
    household = models.ForeignKey(Household, models.SET_NULL, null=True, blank=True,
                                  related_name="patients", db_constraint=False)
    geom = models.PointField(_("residence"), srid=settings.GRIDCARE_SRID, null=True, blank=True)
    resident_since = models.DateField(_("resident since"), null=True, blank=True)
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
    # R4: a death is recorded with its date and how it became known.
    died_on = models.DateField(_("date of death"), null=True, blank=True)
    death_source = models.CharField(_("source of the death record"), max_length=16,
                                    choices=DeathSource.choices, blank=True)
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
    # Derived by cases.patients.services.patients_classify (R5–R19), as of `classified_on`.
    key_groups = ArrayField(models.CharField(max_length=20), default=list, blank=True,
                            verbose_name=_("key groups"))
    next_due = models.DateField(_("next follow-up due"), null=True, blank=True)
    followups_this_year = models.PositiveSmallIntegerField(default=0)
    face_to_face_due = models.BooleanField(default=False)  # R8, this quarter
    classified_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PatientQuerySet.as_manager()

    class Meta:
        db_table = "cases_patient"
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

    def save(self, *args, **kwargs):
        self.id_number_index = crypto.index(self.id_number)
        if kwargs.get("update_fields") is not None and "id_number" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "id_number_index"}
        super().save(*args, **kwargs)

    @property
    def active(self) -> bool:
        return self.status not in INACTIVE_STATUSES  # R4


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
        db_table = "cases_followup"
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
        db_table = "cases_riskassessment"
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
        db_table = "cases_teamoverride"
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
        db_table = "cases_task"
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
        db_table = "cases_lostsearch"
        verbose_name = _("search action")
        verbose_name_plural = _("search actions")
        ordering = ["patient", "searched_on"]


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
        db_table = "cases_eventreport"
        verbose_name = _("event report")
        verbose_name_plural = _("event reports")
        ordering = ["-discovered_at"]

    @property
    def late(self) -> bool:
        return self.reported_at is not None and self.reported_at > self.due_by


class RegisterChange(models.Model):
    """One statement's change to what one county's people may count: written only by the
    database's statement triggers (migration 0004) on patients, transfers and units, so no
    writer (a page, an importer's set-based SQL, the nightly classification) can miss it.

    A patient counts for a county's people when it lives there, is registered there (R22)
    or an open transfer is bringing it there (R24): a statement changing patients records
    each of those counties, one changing transfers the destinations', one changing units
    their counties. The sum of a county's weights with the largest id is the version of its
    register (selectors.register_version): the sum grows with every commit and the id tells
    apart two states the sum cannot (a transaction that read its own rows and rolled back).
    Rows are only inserted, so writers never wait on each other here; the nightly
    compaction (services.register_changes_compact) folds a county's rows into one."""

    county_id = models.BigIntegerField(db_index=True)  # 0: a patient placed in no county
    weight = models.BigIntegerField(default=1)

    class Meta:
        db_table = "cases_registerchange"
