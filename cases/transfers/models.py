"""Moves, handoffs and transfers (R23–R26), the alerts the deadline sweep raises (R24,
R27, R28) and the notices people receive (R23, R27)."""

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cases.patients.models import EventReport, Patient
from cases.transfers.rules import MoveKind
from gridmap.models import GridUnit, Household, PlacedQuerySet, Role, User

# R24–R26: who acts as a township group on a transfer (exchange, accept, dispute, escalate).
TOWNSHIP_GROUP = (Role.TOWNSHIP_OFFICE, Role.HEALTH_STAFF, Role.COUNTY_OFFICE)


class TransferState(models.TextChoices):
    """R23–R26: where a move stands."""

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


# Open until accepted, resolved or cancelled: the origin keeps the patient meanwhile (R25).
OPEN_STATES = (TransferState.DETECTED, TransferState.REPORTED, TransferState.EXCHANGED,
               TransferState.DISPUTED, TransferState.ESCALATED, TransferState.OUTFLOW)


class TransferQuerySet(PlacedQuerySet):
    # A move is placed at both ends: the origin's units and the destination's.
    placed_by = ("from_unit__", "to_unit__")


class Transfer(models.Model):
    """R23–R26: one detected residence change (流转) and what follows it.

    Handoffs (micro_grid, grid) are effective at once. Transfers (village,
    township, county) run detected → reported → exchanged → accepted, or
    disputed → escalated → resolved, or cancelled; until acceptance the
    patient stays with the origin (the patient row keeps its old residence
    and units; the new ones are here). Outflows (outside) stay open with the
    origin responsible.
    """

    State = TransferState
    OPEN_STATES = OPEN_STATES

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
    from_point = models.PointField(srid=settings.GRIDCARE_SRID, null=True, blank=True)
    to_point = models.PointField(srid=settings.GRIDCARE_SRID, null=True, blank=True)
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

    objects = TransferQuerySet.as_manager()

    class Meta:
        db_table = "cases_transfer"
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        ordering = ["-detected_at"]
        constraints = [
            # Two simultaneous moves of one patient produce one open transfer.
            models.UniqueConstraint(fields=["patient"], condition=Q(state__in=OPEN_STATES),
                                    name="one_open_transfer_per_patient"),
            # A transfer is open exactly while it has no closing time: the register's scope
            # (cases.patients.models.PatientQuerySet, R24) reads openness from closed_at.
            models.CheckConstraint(condition=Q(state__in=OPEN_STATES, closed_at__isnull=True)
                                   | (~Q(state__in=OPEN_STATES) & Q(closed_at__isnull=False)),
                                   name="transfer_open_until_closed"),
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

    class Meta:
        db_table = "cases_transferattachment"


class AlertQuerySet(PlacedQuerySet):
    # Placed at the unit whose team must act: the origin, the destination or the township.
    placed_by = ("unit__",)


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

    objects = AlertQuerySet.as_manager()

    class Meta:
        db_table = "cases_alert"
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
        db_table = "cases_notification"
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["user", "patient", "key"],
                                               name="notification_once")]
