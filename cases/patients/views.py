"""Patient pages. Each view is a few lines around one selector or service; which
patients and fields a person sees is decided by gridmap.access, where every read is
logged (R35)."""

import html
from functools import lru_cache

from csp.decorators import csp_exempt
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from cases.patients import ledgers, rules, selectors, services
from cases.patients.forms import (
    AuditFilterForm,
    EventReportForm,
    FollowUpForm,
    PatientFilterForm,
    ResidenceForm,
)
from cases.patients.rules import KeyGroup, Status
from gridmap import access, crypto, tiles
from gridmap.calendar import local_today
from gridmap.forms import BreakGlassForm, ExportPurposeForm
from gridmap.models import Purpose, Role


@csp_exempt()  # a vector tile is no document: no policy to build for it
@require_GET
def patient_tile(request, z: int, x: int, y: int):
    """The map's patient layer (selectors.patient_tile): for each person their own, never
    cached by anyone between (private, no-store). The patients a tile shows one by one are
    logged as a read (R35); a person whose roles show aggregates only is refused, logged."""
    if not request.user.is_authenticated:
        return HttpResponseForbidden()  # a tile is no page to sign in on
    if not access.patient_points_allowed(request.user):
        access.log_denied(user=request.user, what="map: the person's roles show aggregates only",
                          query={"tile": f"{z}/{x}/{y}"}, request=request)
        return HttpResponseForbidden()
    if not tiles.valid_tile(z, x, y):
        raise Http404
    body, shown = selectors.patient_tile(request.user, zoom=z, x=x, y=y, as_of=local_today())
    if shown:
        access.log(user=request.user, action="list", purpose=Purpose.CARE, patient_ids=shown,
                   query={"tile": f"{z}/{x}/{y}"}, request=request)
    return HttpResponse(body, content_type=tiles.MEDIA_TYPE)


@login_required
def patient_list(request):
    groups = access.field_groups(request.user)
    form = PatientFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    filters = {k: v for k, v in filters.items()
               if v not in (None, "") and selectors.FILTER_NEEDS.get(k, access.IDENTITY) in groups}
    as_of = local_today()
    patients = selectors.patients_filtered(request.user, filters, as_of=as_of)
    paginator = Paginator(patients.only(*LIST_COLUMNS).with_unit_naming("micro_grid.code", "village.name")
                          .with_other_chains(), 50)
    counts = None
    if access.RISK in groups:
        # The chips count the user's whole register; unfiltered, that is the list's count too.
        totals = selectors.key_group_counts(request.user, {}, as_of=as_of, total=not filters)
        counts = [(key, label, totals[key]) for key, label in KeyGroup.choices]
        if "total" in totals:
            paginator.count = totals["total"]
    page = paginator.get_page(request.GET.get("page"))
    access.log(user=request.user, action="list", purpose=Purpose.CARE, patient_ids=[p.pk for p in page],
               query={k: str(v) for k, v in filters.items()}, request=request)
    # R35: each row shows what the reader's roles on that patient's units show.
    shown = selectors.field_groups_by_patient(access.scope_of(request.user), page)
    rows = _list_rows(page, groups, shown, as_of)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "patients/patient_list.html", {
        "form": form, "page": page, "rows": rows, "counts": counts, "groups": groups,
        "query": query.urlencode(), "forms": _list_forms(get_language(), form, groups),
    })


def _list_forms(language: str, form: PatientFilterForm, groups: frozenset[str]) -> str:
    """The list's filter and download forms as HTML, which depend only on the language, the
    filter values and the field groups offered: rendered once for each and kept (a form's
    widgets cost an eighth of the page to render)."""
    values = tuple((name, form.data.get(name, "")) for name in form.fields)
    return _list_forms_cached(language, values, groups)


@lru_cache(maxsize=512)
def _list_forms_cached(language: str, values: tuple, groups: frozenset[str]) -> str:
    with translation.override(language):
        return render_to_string("patients/_list_forms.html", {
            "form": PatientFilterForm(dict(values) if any(v for _, v in values) else None),
            "groups": groups, "export_form": ExportPurposeForm(), "ledger_kinds": _ledger_kinds(groups)})


# What a row of the list reads (_list_rows, field_groups_by_patient): nothing else is
# fetched, decrypted or turned into Python values for a page of 50.
LIST_COLUMNS = ("patient_no", "name", "status", "outside", "risk_level", "key_groups", "next_due",
                "county", "township", "village", "grid", "micro_grid")


def _list_rows(page, groups: frozenset[str], shown: dict[int, frozenset[str]], as_of) -> str:
    """The rows of the patient list as HTML, escaped here: a page of 50 rows is built in a
    fifth of the time a template loop with a condition per cell takes (probe finding 12).
    A column is there when the reader's roles give its group somewhere; its cell is
    empty ("withheld") where they do not give it for this patient (R35)."""
    # One reverse() for the page: the patient's number is the pattern's only argument.
    url = reverse("patients:patient", args=[987654321]).split("987654321")
    outside = f'<span class="tag warn">{html.escape(_("outside"))}</span>'
    # The labels in the reader's language, translated once per page rather than per row.
    statuses = {key: html.escape(str(label)) for key, label in Status.choices}
    key_groups = {key: f'<span class="tag kg-{key}">{html.escape(str(label))}</span>'
                  for key, label in KeyGroup.choices}
    withheld = '<td class="withheld"></td><td class="withheld"></td>'
    rows = []
    for p in page:
        if p.micro_grid_id:
            micro_grid = html.escape(p.micro_grid_code)
        else:
            micro_grid = outside if p.outside else "—"
        village = html.escape(p.village_name) if p.village_id else "—"
        cells = [f'<tr><td><a href="{url[0]}{p.pk}{url[1]}">{html.escape(p.patient_no)}</a></td>'
                 f"<td>{html.escape(p.name)}</td><td>{village}</td><td>{micro_grid}</td>"
                 f"<td>{statuses.get(p.status) or html.escape(p.status)}</td>"]
        if access.RISK in groups:
            if access.RISK in shown[p.pk]:
                tags = "".join(key_groups.get(key) or html.escape(key) for key in p.key_groups)
                cells.append(f'<td>{"—" if p.risk_level is None else p.risk_level}</td><td>{tags}</td>')
            else:
                cells.append(withheld)
        if access.MEDICAL in groups:
            if access.MEDICAL in shown[p.pk]:
                overdue = rules.days_overdue(p.next_due, as_of)
                cells.append(f'<td>{p.next_due.isoformat() if p.next_due else "—"}</td>'
                             + (f'<td class="late">{overdue}</td>' if overdue else "<td></td>"))
            else:
                cells.append(withheld)
        cells.append("</tr>")
        rows.append("".join(cells))
    return mark_safe("\n".join(rows))  # every value above is escaped


def _ledger_kinds(groups) -> list[tuple[str, str]]:
    kinds = [("key-groups", _("Key-group ledger"))]
    if access.MEDICAL in groups:
        kinds += [("lost", _("Lost-patient files")), ("followups-due", _("Follow-ups due"))]
    return kinds


@login_required
def patient_detail(request, pk: int):
    # A POST changes the record: never through a break-glass, which opens it for reading.
    patient = selectors.patient_get_for_user(user=request.user, pk=pk, reason=request.GET.get("reason", ""),
                                             action="update" if request.method == "POST" else "view",
                                             request=request)
    groups = selectors.patient_field_groups(request.user, patient)  # R35: the roles held for this patient
    form = FollowUpForm(request.POST or None) if access.MEDICAL in groups else None
    if request.method == "POST":
        if form is None:
            raise Http404
        if form.is_valid():
            services.followup_record(user=request.user, patient=patient, **form.cleaned_data)
            patient.refresh_from_db()
            messages.success(request, _("Follow-up recorded. Next follow-up due: %(due)s") % {
                "due": patient.next_due or "—"})
            return redirect("patients:patient", pk=patient.pk)
    return _detail_page(request, patient, groups, form)


@login_required
def identifiers_reveal(request, pk: int):
    """POST: the patient page with the ID and telephone numbers in full (those the reader's
    roles on the patient may reveal); one logged action (R35)."""
    if request.method != "POST":
        raise Http404
    patient = selectors.patient_get_for_user(user=request.user, pk=pk, request=request)
    revealed = selectors.identifiers_reveal(user=request.user, patient=patient, request=request)
    if not revealed:
        raise PermissionDenied
    groups = selectors.patient_field_groups(request.user, patient)
    form = FollowUpForm() if access.MEDICAL in groups else None
    return _detail_page(request, patient, groups, form, revealed=revealed)


def _detail_page(request, patient, groups, form, *, revealed=None):
    team = selectors.teams_for([patient])[patient.pk]
    return render(request, "patients/patient_detail.html", {
        "patient": patient, "groups": groups, "team": team, "form": form,
        "days_overdue": rules.days_overdue(patient.next_due, local_today()),
        "followups": patient.followups.all()[:50] if access.MEDICAL in groups else None,
        "assessments": patient.risk_assessments.all()[:20] if access.RISK in groups else None,
        "tasks": patient.tasks.filter(closed_on__isnull=True) if access.MEDICAL in groups else None,
        "key_group_labels": dict(KeyGroup.choices),
        "map_data": selectors.patient_map_data(patient),
        "care_group": _care_group(patient),
        # The patient's moves (cases.transfers), through their relation to the patient.
        "transfers": patient.transfers.select_related("from_unit", "to_unit"),
        "events": patient.event_reports.all()[:20],
        "event_form": EventReportForm(),
        "residence_form": ResidenceForm(),
        "grant": selectors.open_grant(request.user, patient),
        "revealed": revealed or {}, "may_reveal": access.may_reveal(groups),
        "id_masked": crypto.mask_id(patient.id_number),
        "phone_masked": crypto.mask_phone(patient.guardian.phone) if patient.guardian_id else "",
    })


@login_required
def break_glass(request):
    """Open a patient outside one's units, saying why: for GRIDCARE_BREAK_GLASS_HOURS, read
    only, logged, and listed for the county office (access.break_glass)."""
    if not access.scope_of(request.user).units:
        raise PermissionDenied  # a person without responsibilities has no reason to
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        patient = selectors.patient_find(form.cleaned_data["patient"])
        if patient is None:
            access.log_denied(user=request.user, what="break-glass: no patient with this number",
                              query={"searched": form.cleaned_data["patient"][:64]}, request=request)
            form.add_error("patient", _("No patient has this number or ID number."))
        elif selectors.patients_visible_to(request.user).filter(pk=patient.pk).exists():
            return redirect("patients:patient", pk=patient.pk)  # theirs anyway: no glass to break
        else:
            grant = access.break_glass(user=request.user, patient_id=patient.pk,
                                       reason=form.cleaned_data["reason"], request=request)
            messages.warning(request, _("Opened outside your units until %(until)s. This access is "
                                        "logged and shown to the county office.") % {
                "until": timezone.localtime(grant.expires_at).strftime("%H:%M")})
            return redirect("patients:patient", pk=patient.pk)
    return render(request, "patients/break_glass.html", {
        "form": form, "hours": f"{settings.GRIDCARE_BREAK_GLASS_HOURS:g}"})


@login_required
def audit_log(request):
    """The county office's view of the access log: who read, searched, exported or was
    refused which patients, when and why; break-glass accesses on top."""
    if not selectors.audits(request.user):
        raise PermissionDenied
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    rows = selectors.audit_rows(request.user, **filters)
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    grants = list(selectors.audit_grants(request.user)[:50])
    numbers = selectors.patient_numbers({pk for entry in page for pk in entry.patient_ids[:10]}
                                        | {g.patient_id for g in grants})
    access.log(user=request.user, action="list", purpose=Purpose.AUDIT,
               patient_ids=sorted(numbers), query={"audit": {k: str(v) for k, v in filters.items()}},
               request=request)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "patients/audit_log.html", {
        "form": form, "page": page, "numbers": numbers, "query": query.urlencode(),
        "grants": grants,
    })


@login_required
def event_report(request, pk: int):
    """R27/R28: report an event about a patient from the patient page."""
    if request.method != "POST":
        raise Http404
    patient = selectors.patient_get_for_user(user=request.user, pk=pk, action="update")
    form = EventReportForm(request.POST)
    if form.is_valid():
        event = services.event_report_record(user=request.user, patient=patient, **form.cleaned_data)
        if event.late:
            messages.warning(request, _("Reported late: it was due by %(due)s.") % {
                "due": timezone.localtime(event.due_by).strftime("%Y-%m-%d %H:%M")})
        else:
            messages.success(request, _("Event reported."))
    else:
        messages.error(request, "; ".join(f"{k}: {', '.join(v)}" for k, v in form.errors.items()))
    return redirect("patients:patient", pk=patient.pk)


def _care_group(patient) -> list[tuple[str, list]] | None:
    """R21: the care group of the village responsible for the patient (R22 when outside)."""
    village = patient.village or (patient.registration_unit.village
                                  if patient.registration_unit_id and patient.registration_unit.village_id
                                  else None)
    if village is None:
        return None
    group = selectors.care_group(village)
    return [(Role(role).label, people) for role, people in group.items()]


@login_required
def ledger_download(request, kind: str):
    if kind not in dict(_ledger_kinds(access.field_groups(request.user))):
        raise Http404
    why = ExportPurposeForm(request.GET)
    if not why.is_valid():  # R35: no export without its purpose
        messages.error(request, _("Choose the purpose of the download (and say why for “other”)."))
        return redirect("patients:patients")
    lang = "zh" if request.LANGUAGE_CODE.startswith("zh") else "en"
    as_of = local_today()
    data = ledgers.ledger_export(kind, user=request.user, as_of=as_of, lang=lang, fmt="xlsx",
                                 purpose=why.cleaned_data["purpose"], reason=why.cleaned_data["reason"],
                                 request=request)
    response = HttpResponse(
        data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{kind}-{as_of.isoformat()}.xlsx"'
    return response
