"""Screening campaigns in the admin (R30): entered one by one here or imported from a file."""

from django.contrib import admin

from cases.screening.models import Campaign
from cases.screening.services import coverage_rebuild, visits_derive


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    """Saving a campaign re-decides which of its visits count and rebuilds its stored
    coverage (R31)."""

    list_display = ("code", "name", "kind", "scope", "starts_on", "ends_on", "target")
    list_filter = ("kind",)
    search_fields = ("code", "name", "scope__code", "scope__name")
    raw_id_fields = ("scope",)
    readonly_fields = ("coverage_at",)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        visits_derive([obj.pk])
        coverage_rebuild([obj.pk])
