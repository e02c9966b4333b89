"""GeoDjango admin for the grid, with an upload page for every importer; the access
log (read-only) and the working-day calendar's corrections. Patient records are
deliberately not in the admin: every read of one must go through gridmap.access and be
logged (R35)."""

from pathlib import Path

import django_rq
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletGeoAdmin
from rq.exceptions import NoSuchJobError
from rq.job import Job

from gridmap import services
from gridmap.jobs import (
    import_run_again,
    import_run_enqueue,
    import_runs_reconcile,
    upload_save,
)
from gridmap.models import (
    AccessLog,
    CalendarDay,
    GridUnit,
    GridUnitShape,
    Household,
    ImportRun,
    StaffAssignment,
    User,
)


class StaffAssignmentInline(admin.TabularInline):
    model = StaffAssignment
    extra = 0
    autocomplete_fields = ["unit"]


@admin.register(User)
class GridcareUserAdmin(UserAdmin):
    fieldsets = UserAdmin.fieldsets + ((_("Contact"), {"fields": ("full_name", "phone")}),)
    list_display = ("username", "full_name", "phone", "is_staff", "is_active")
    search_fields = ("username", "full_name", "phone")
    inlines = [StaffAssignmentInline]


class ShapeInline(admin.TabularInline):
    model = GridUnitShape
    extra = 0
    fields = ("valid_until", "import_run")
    readonly_fields = fields
    can_delete = False


@admin.register(GridUnit)
class GridUnitAdmin(LeafletGeoAdmin):
    list_display = ("code", "name", "level", "parent", "households", "population")
    list_filter = ("level",)
    search_fields = ("code", "name")
    autocomplete_fields = ["parent"]
    readonly_fields = ("households", "population", "created_at", "updated_at")
    fields = ("code", "name", "level", "parent", "geom", "households", "population", "extra",
              "created_at", "updated_at")
    inlines = [ShapeInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.grid_units_refresh_ancestry()


@admin.register(Household)
class HouseholdAdmin(LeafletGeoAdmin):
    list_display = ("code", "address", "residents", "micro_grid")
    search_fields = ("code", "address")
    raw_id_fields = ("county", "township", "village", "grid", "micro_grid")


# A staff file decides who may see which patients: importing one is changing responsibilities.
KIND_NEEDS = {ImportRun.Kind.STAFF: ("gridmap.add_staffassignment", "gridmap.change_staffassignment",
                                     "gridmap.delete_staffassignment")}


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=ImportRun.Kind.choices)
    file = forms.FileField(label=_("File"))
    source_crs = forms.ChoiceField(
        label=_("Coordinate system"), required=False,
        choices=[("", _("as the file declares (CSV: WGS84)")), ("gcj02", _("GCJ-02 (AMap, Tencent)")),
                 ("bd09", _("BD-09 (Baidu)")), ("EPSG:4490", "CGCS2000 (EPSG:4490)"),
                 ("EPSG:4326", "WGS84 (EPSG:4326)")],
    )
    as_of = forms.DateField(
        label=_("Evaluate the rules as of"), required=False,
        help_text=_("Patient ledgers and follow-ups only; blank means today."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    dry_run = forms.BooleanField(label=_("Only check, write nothing"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_kind(self):
        kind = self.cleaned_data["kind"]
        if not self.user.has_perms(KIND_NEEDS.get(kind, ())):
            raise forms.ValidationError(_("You may not import this kind of file."))
        return kind


def _can_run_again(run: ImportRun) -> bool:
    return run.status == ImportRun.Status.FAILED and bool(run.options.get("path")) and \
        Path(run.options["path"]).is_file()


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "filename", "status", "dry_run", "created_by")
    list_filter = ("kind", "status")
    readonly_fields = [f.name for f in ImportRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def get_urls(self):
        return [
            path("upload/", self.admin_site.admin_view(self.upload_view), name="gridmap_import_upload"),
            path("<int:pk>/progress/", self.admin_site.admin_view(self.progress_view),
                 name="gridmap_import_progress"),
            path("<int:pk>/status/", self.admin_site.admin_view(self.status_view),
                 name="gridmap_import_status"),
            path("<int:pk>/again/", self.admin_site.admin_view(self.again_view),
                 name="gridmap_import_again"),
        ] + super().get_urls()

    def _run_for(self, request, pk) -> ImportRun:
        """A run the user may follow: their own, or any for a superuser."""
        run = get_object_or_404(ImportRun, pk=pk)
        if not request.user.has_perm("gridmap.view_importrun") or (
                run.created_by_id != request.user.pk and not request.user.is_superuser):
            raise PermissionDenied
        return run

    def upload_view(self, request):
        if not request.user.has_perm("gridmap.add_importrun"):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            run = ImportRun.objects.create(
                kind=form.cleaned_data["kind"], filename=Path(upload.name).name,
                dry_run=form.cleaned_data["dry_run"], created_by=request.user,
            )
            target = upload_save(run, upload)
            as_of = form.cleaned_data["as_of"]
            run.options = {"path": str(target), "source_crs": form.cleaned_data["source_crs"] or None,
                           "as_of": as_of.isoformat() if as_of else None}
            run.save(update_fields=["options"])
            import_run_enqueue(run)
            return redirect("admin:gridmap_import_progress", pk=run.pk)
        context = {**self.admin_site.each_context(request), "form": form,
                   "title": _("Import a file"), "opts": self.model._meta}
        return render(request, "admin/gridmap/import_upload.html", context)

    def progress_view(self, request, pk):
        run = self._run_for(request, pk)
        context = {**self.admin_site.each_context(request), "run": run, "again": _can_run_again(run),
                   "title": _("Import progress"), "opts": self.model._meta}
        return render(request, "admin/gridmap/import_progress.html", context)

    def again_view(self, request, pk):
        """POST: run a crashed run's kept file again (a new run, same options)."""
        run = self._run_for(request, pk)
        if request.method != "POST" or not request.user.has_perm("gridmap.add_importrun"):
            raise PermissionDenied
        if run.kind == ImportRun.Kind.STAFF and not request.user.has_perms(KIND_NEEDS[run.kind]):
            raise PermissionDenied
        again = import_run_again(run, request.user)
        if again is None:
            messages.error(request, _("This run cannot be run again: it did not fail, or its file "
                                      "is no longer kept. Upload the file again."))
            return redirect("admin:gridmap_import_progress", pk=run.pk)
        return redirect("admin:gridmap_import_progress", pk=again.pk)

    def status_view(self, request, pk):
        run = self._run_for(request, pk)
        if run.status in (ImportRun.Status.QUEUED, ImportRun.Status.RUNNING):
            import_runs_reconcile(ImportRun.objects.filter(pk=run.pk))  # its worker may have died
            run.refresh_from_db()
        progress, message = 0.0, ""
        if run.job_id and run.status in (ImportRun.Status.QUEUED, ImportRun.Status.RUNNING):
            try:
                job = Job.fetch(run.job_id, connection=django_rq.get_connection("default"))
                progress, message = job.meta.get("progress", 0.0), job.meta.get("message", "")
            except NoSuchJobError:  # the job expired from Redis; the run row still tells
                pass
        elif run.status in (ImportRun.Status.DONE, ImportRun.Status.FAILED):
            progress = 1.0
        return JsonResponse({"status": run.status, "progress": progress, "message": message,
                             "report": run.report, "again": _can_run_again(run)})



@admin.register(AccessLog)
class AccessLogAdmin(admin.ModelAdmin):
    list_display = ("at", "username", "action", "patient_count", "reason")
    list_filter = ("action",)
    search_fields = ("username", "reason")
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AccessLog._meta.fields]

    @admin.display(description=_("patients"))
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
    """R24, R33: holidays and make-up working days (调休) the built-in calendar lacks, e.g.
    a new year's official schedule before the package knows it."""

    list_display = ("day", "working", "note")
    list_filter = ("working",)
    date_hierarchy = "day"


admin.site.site_header = _("Severe mental disorder grid management · administration")
admin.site.site_title = _("gridcare administration")
admin.site.index_title = _("Administration")
