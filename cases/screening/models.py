"""Screening campaigns (排查), their visits, suspected cases and stored coverage (R30–R33).

Screening stands beside the patient register, not on it: a suspected case is linked to
the patient registered for it through a relation (`SuspectedCase.patient`), never by
importing the register's code.
"""

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cases.screening.rules import CampaignKind, VisitResult
from gridmap.models import GridUnit, Household, PlacedQuerySet, User


class CampaignQuerySet(PlacedQuerySet):
    placed_by = ("scope__",)


class HouseholdPlacedQuerySet(PlacedQuerySet):
    # Visits and suspected cases lie where their household lies (R0).
    placed_by = ("household__",)


class CoverageQuerySet(PlacedQuerySet):
    placed_by = ("unit__",)


class Campaign(models.Model):
    """A screening campaign over every household under one unit (formats.md §6)."""

    Kind = CampaignKind

    code = models.CharField(_("code"), max_length=64, unique=True)  # 活动编码
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    scope = models.ForeignKey(GridUnit, models.PROTECT, related_name="campaigns", verbose_name=_("scope"))
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    target = models.DecimalField(_("target coverage"), max_digits=5, decimal_places=4)
    coverage_at = models.DateTimeField(null=True, blank=True)  # when CoverageCount was last built
    extra = models.JSONField(default=dict, blank=True)  # the file's unknown columns

    objects = CampaignQuerySet.as_manager()

    class Meta:
        db_table = "cases_campaign"
        verbose_name = _("screening campaign")
        verbose_name_plural = _("screening campaigns")
        ordering = ["-starts_on", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")),
                                   name="campaign_window_ordered"),
            models.CheckConstraint(condition=Q(target__gte=0, target__lte=1), name="campaign_target_share"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Visit(models.Model):
    """One screening visit to a household (formats.md §5). Every visit is kept (it is
    real work); whether it counts for coverage is derived (R31), as is on-site (R32)."""

    Result = VisitResult

    campaign = models.ForeignKey(Campaign, models.CASCADE, related_name="visits")
    household = models.ForeignKey(Household, models.CASCADE, related_name="visits")
    visited_at = models.DateTimeField(_("visited at"))
    worker = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    geom = models.PointField(_("GPS fix"), srid=settings.GRIDCARE_SRID, null=True, blank=True)
    result = models.CharField(_("result"), max_length=8, choices=Result.choices)
    distance_m = models.FloatField(null=True, blank=True)  # GPS fix to the household point
    on_site = models.BooleanField(null=True)  # R32; None without a fix
    screened = models.BooleanField(default=False)  # R31: counts for the campaign's coverage
    extra = models.JSONField(default=dict, blank=True)  # the file's unknown columns

    objects = HouseholdPlacedQuerySet.as_manager()

    class Meta:
        db_table = "cases_visit"
        verbose_name = _("screening visit")
        verbose_name_plural = _("screening visits")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "household", "visited_at"], name="visit_once"),
        ]
        indexes = [models.Index(fields=["campaign", "household"], condition=Q(screened=True),
                                name="visit_screened")]


class SuspectedCase(models.Model):
    """R33: a suspected case from a screening, referred for diagnosis within 10 working days."""

    class Status(models.TextChoices):
        REFERRED = "referred", _("referred for diagnosis")
        CONFIRMED = "confirmed", _("confirmed: registered as a patient")
        EXCLUDED = "excluded", _("not a case")

    visit = models.OneToOneField(Visit, models.CASCADE, related_name="suspected_case")
    household = models.ForeignKey(Household, models.CASCADE, related_name="+")
    found_at = models.DateTimeField()
    diagnose_by = models.DateTimeField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.REFERRED)
    patient = models.ForeignKey("patients.Patient", models.SET_NULL, null=True, blank=True, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    calendar_fallback_years = models.JSONField(default=list, blank=True)  # R33 deadline guessed

    objects = HouseholdPlacedQuerySet.as_manager()

    class Meta:
        db_table = "cases_suspectedcase"
        verbose_name = _("suspected case")
        verbose_name_plural = _("suspected cases")


class CoverageCount(models.Model):
    """R31, stored: households in a campaign's scope under a unit and how many were
    screened in the window. Rebuilt set-based after every visit import, so a leader's
    map at any level is one indexed read."""

    campaign = models.ForeignKey(Campaign, models.CASCADE, related_name="coverage")
    unit = models.ForeignKey(GridUnit, models.CASCADE, related_name="+")
    level = models.PositiveSmallIntegerField()
    households = models.PositiveIntegerField()
    screened = models.PositiveIntegerField()

    objects = CoverageQuerySet.as_manager()

    class Meta:
        db_table = "cases_coveragecount"
        constraints = [models.UniqueConstraint(fields=["campaign", "unit"], name="coverage_once")]
        indexes = [models.Index(fields=["campaign", "level"])]
