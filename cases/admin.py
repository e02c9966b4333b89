"""Administration of the register. Patient records are deliberately not in the
admin: every read of one must go through cases.selectors and be logged (R35).
The access log itself is here, read-only."""

from django.contrib import admin

from cases.models import AccessLog, CalendarDay, Campaign


@admin.register(AccessLog)
class AccessLogAdmin(admin.ModelAdmin):
    list_display = ("at", "username", "action", "patient_count", "reason")
    list_filter = ("action",)
    search_fields = ("username", "reason")
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AccessLog._meta.fields]

    @admin.display(description="patients")
    def patient_count(self, entry: AccessLog) -> int:
        return len(entry.patient_ids)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    """R24: holidays and make-up working days (调休) the built-in calendar lacks, e.g. a
    new year's official schedule before the package knows it."""

    list_display = ("day", "working", "note")
    list_filter = ("working",)
    date_hierarchy = "day"


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    """Screening campaigns (R30): entered here one by one or imported from a file;
    saving rebuilds the campaign's stored coverage (R31)."""

    list_display = ("code", "name", "kind", "scope", "starts_on", "ends_on", "target")
    list_filter = ("kind",)
    search_fields = ("code", "name", "scope__code", "scope__name")
    raw_id_fields = ("scope",)
    readonly_fields = ("coverage_at",)

    def save_model(self, request, obj, form, change):
        from cases.coverage import coverage_rebuild, visits_derive

        super().save_model(request, obj, form, change)
        visits_derive([obj.pk])
        coverage_rebuild([obj.pk])
