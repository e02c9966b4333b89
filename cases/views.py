"""Patient pages. Each view is a few lines around one selector or service; every
patient comes through cases.selectors and every read is logged (R35)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from cases import ledgers, rules, selectors, services
from cases.forms import EventReportForm, FollowUpForm, PatientFilterForm, ResidenceForm
from cases.models import KeyGroup


@login_required
def patient_list(request):
    groups = selectors.field_groups_for(request.user)
    form = PatientFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    filters = {k: v for k, v in filters.items()
               if v not in (None, "") and selectors.FILTER_NEEDS.get(k, selectors.IDENTITY) in groups}
    as_of = services.today()
    patients = selectors.patients_filtered(request.user, filters, as_of=as_of)
    page = Paginator(patients.select_related("micro_grid", "village"), 50).get_page(request.GET.get("page"))
    services.access_log_record(user=request.user, action="list", patient_ids=[p.pk for p in page],
                               query={k: str(v) for k, v in filters.items()})
    counts = None
    if selectors.RISK in groups:
        totals = selectors.key_group_counts(selectors.patients_visible_to(request.user))
        counts = [(key, label, totals[key]) for key, label in KeyGroup.choices]
    rows = [(p, rules.days_overdue(p.next_due, as_of)) for p in page]
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "cases/patient_list.html", {
        "form": form, "page": page, "rows": rows, "counts": counts, "groups": groups,
        "query": query.urlencode(), "key_group_labels": dict(KeyGroup.choices),
        "ledger_kinds": _ledger_kinds(groups),
    })


def _ledger_kinds(groups) -> list[tuple[str, str]]:
    kinds = [("key-groups", _("Key-group ledger"))]
    if selectors.MEDICAL in groups:
        kinds += [("lost", _("Lost-patient files")), ("followups-due", _("Follow-ups due"))]
    return kinds


@login_required
def patient_detail(request, pk: int):
    patient = selectors.patient_get_for_user(user=request.user, pk=pk, reason=request.GET.get("reason", ""))
    groups = selectors.field_groups_for(request.user)
    form = FollowUpForm(request.POST or None) if selectors.MEDICAL in groups else None
    if request.method == "POST":
        if form is None:
            raise Http404
        if form.is_valid():
            services.followup_record(user=request.user, patient=patient, **form.cleaned_data)
            patient.refresh_from_db()
            messages.success(request, _("Follow-up recorded. Next follow-up due: %(due)s") % {
                "due": patient.next_due or "—"})
            return redirect("cases:patient", pk=patient.pk)
    team = selectors.teams_for([patient])[patient.pk]
    return render(request, "cases/patient_detail.html", {
        "patient": patient, "groups": groups, "team": team, "form": form,
        "days_overdue": rules.days_overdue(patient.next_due, services.today()),
        "followups": patient.followups.all()[:50] if selectors.MEDICAL in groups else None,
        "assessments": patient.risk_assessments.all()[:20] if selectors.RISK in groups else None,
        "tasks": patient.tasks.filter(closed_on__isnull=True) if selectors.MEDICAL in groups else None,
        "key_group_labels": dict(KeyGroup.choices),
        "map_data": selectors.patient_map_data(patient),
        "care_group": _care_group(patient),
        "transfers": patient.transfers.select_related("from_unit", "to_unit"),
        "events": patient.event_reports.all()[:20],
        "event_form": EventReportForm(),
        "residence_form": ResidenceForm(),
    })


@login_required
def residence_change(request, pk: int):
    """R23: a new residence entered on the patient page; a move opens what its kind needs."""
    from django.contrib.gis.geos import Point

    if request.method != "POST":
        raise Http404
    patient = selectors.patient_get_for_user(user=request.user, pk=pk, action="update")
    form = ResidenceForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(e for errors in form.errors.values() for e in errors))
        return redirect("cases:patient", pk=patient.pk)
    data = form.cleaned_data
    before = set(patient.transfers.values_list("pk", flat=True))
    services.patient_update(user=request.user, patient=patient, source="form", data={
        "residence_address": data["residence_address"],
        "point": Point(data["lon"], data["lat"], srid=4326)})
    opened = patient.transfers.exclude(pk__in=before).first()
    messages.success(request, _("Residence recorded: %(what)s.") % {
        "what": opened.get_kind_display() + " · " + opened.get_state_display() if opened
        else _("same micro-grid, no move")})
    return redirect("cases:patient", pk=patient.pk)


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
                "due": timezone_local(event.due_by)})
        else:
            messages.success(request, _("Event reported."))
    else:
        messages.error(request, "; ".join(f"{k}: {', '.join(v)}" for k, v in form.errors.items()))
    return redirect("cases:patient", pk=patient.pk)


def timezone_local(moment) -> str:
    from django.utils import timezone

    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _care_group(patient) -> list[tuple[str, list]] | None:
    """R21: the care group of the village responsible for the patient (R22 when outside)."""
    from gridmap.models import Role

    village = patient.village or (patient.registration_unit.village
                                  if patient.registration_unit_id and patient.registration_unit.village_id
                                  else None)
    if village is None:
        return None
    group = selectors.care_group(village)
    return [(Role(role).label, people) for role, people in group.items()]


@login_required
def ledger_download(request, kind: str):
    if kind not in dict(_ledger_kinds(selectors.field_groups_for(request.user))):
        raise Http404
    lang = "zh" if request.LANGUAGE_CODE.startswith("zh") else "en"
    as_of = services.today()
    data = ledgers.ledger_export(kind, user=request.user, as_of=as_of, lang=lang, fmt="xlsx")
    response = HttpResponse(
        data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{kind}-{as_of.isoformat()}.xlsx"'
    return response


@login_required
def transfer_list(request):
    """R24: the unit's inbox and outbox of moves, deadlines counting down, alerts on top."""
    from django.utils import timezone

    from cases import letters, transfers

    box = "outbox" if request.GET.get("box") == "outbox" else "inbox"
    show = request.GET.get("show", "open")
    items = selectors.transfers_for(request.user, box=box)
    if show == "open":
        items = items.filter(state__in=transfers.Transfer.OPEN_STATES)
    page = Paginator(items.order_by("-detected_at"), 50).get_page(request.GET.get("page"))
    services.access_log_record(user=request.user, action="list",
                               patient_ids=sorted({t.patient_id for t in page}),
                               query={"transfers": box, "show": show})
    now = timezone.now()
    held = transfers.held_roles(request.user)
    rows = []
    for t in page:
        due = transfers.next_deadline(t)
        rows.append({"t": t, "due": due, "late": due is not None and due < now,
                     "actions": transfers.allowed_actions(request.user, t, held=held),
                     "letter": box == "outbox" and t.kind == "outside" and letters.needs_letter(t)})
    return render(request, "cases/transfer_list.html", {
        "box": box, "show": show, "page": page, "rows": rows,
        "alerts": selectors.open_alerts_for(request.user)[:50],
        "notifications": request.user.notifications.filter(read_at__isnull=True)[:20],
    })


@login_required
def transfer_action(request, pk: int, action: str):
    """One step of a transfer (POST); the service decides whether this user may take it."""
    from cases import transfers
    from cases.models import Transfer

    if request.method != "POST":
        raise Http404
    transfer = selectors.transfers_for(request.user, box="inbox").filter(pk=pk).first() or \
        selectors.transfers_for(request.user, box="outbox").filter(pk=pk).first()
    if transfer is None:
        raise Http404
    steps = {
        "report": lambda: transfers.transfer_report(user=request.user, transfer=transfer),
        "exchange": lambda: transfers.transfer_exchange(user=request.user, transfer=transfer),
        "accept": lambda: transfers.transfer_accept(user=request.user, transfer=transfer),
        "dispute": lambda: transfers.transfer_dispute(
            user=request.user, transfer=transfer, explanation=request.POST.get("explanation", ""),
            files=request.FILES.getlist("evidence")),
        "escalate": lambda: transfers.transfer_escalate(user=request.user, transfer=transfer),
        "cancel": lambda: transfers.transfer_cancel(user=request.user, transfer=transfer,
                                                    reason=request.POST.get("reason", "")),
    }
    if action not in steps:
        raise Http404
    try:
        steps[action]()
        services.access_log_record(user=request.user, action="update", patient_ids=[transfer.patient_id],
                                   query={"transfer": transfer.pk, "step": action})
        messages.success(request, _("%(patient)s: %(state)s") % {
            "patient": transfer.patient.patient_no,
            "state": Transfer.State(Transfer.objects.get(pk=pk).state).label})
    except transfers.TransitionError as exc:
        messages.error(request, str(exc))
    return redirect(request.POST.get("next") or "cases:transfers")


@login_required
def transfer_letter(request, pk: int):
    """R26: the drafted letter for an outflow to another province (county office only); logged."""
    from cases import letters, transfers
    from gridmap.models import Role

    transfer = selectors.transfers_for(request.user, box="outbox").filter(pk=pk).first()
    if transfer is None or letters.needs_letter(transfer) is None:
        raise Http404
    if not transfers.acts_for(request.user, transfer.from_unit_id, (Role.COUNTY_OFFICE,)):
        raise Http404
    data = letters.outflow_letter(transfer)
    services.access_log_record(user=request.user, action="export", patient_ids=[transfer.patient_id],
                               query={"letter": transfer.pk})
    response = HttpResponse(
        data, content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    name = f"outflow-letter-{transfer.patient.patient_no}.docx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
