"""Pages of moves and transfers: a new residence from the patient page (R23), the inbox and
outbox with their deadlines (R24), the steps of a transfer and the outflow letter (R26).
Each view is a few lines around one selector or service; gridmap.access decides and logs."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.gis.geos import Point
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from cases.patients import selectors as patient_selectors
from cases.patients.forms import ResidenceForm
from cases.patients.services import patient_update
from cases.transfers import letters, selectors, services
from cases.transfers.models import Transfer
from gridmap import access
from gridmap.models import Purpose, Role


@login_required
def residence_change(request, pk: int):
    """R23: a new residence entered on the patient page; a move opens what its kind needs."""
    if request.method != "POST":
        raise Http404
    patient = patient_selectors.patient_get_for_user(user=request.user, pk=pk, action="update")
    form = ResidenceForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(e for errors in form.errors.values() for e in errors))
        return redirect("patients:patient", pk=patient.pk)
    data = form.cleaned_data
    before = set(patient.transfers.values_list("pk", flat=True))
    patient_update(user=request.user, patient=patient, source="form", move=services.patient_move, data={
        "residence_address": data["residence_address"],
        "point": Point(data["lon"], data["lat"], srid=settings.GRIDCARE_SRID)})
    opened = patient.transfers.exclude(pk__in=before).first()
    messages.success(request, _("Residence recorded: %(what)s.") % {
        "what": opened.get_kind_display() + " · " + opened.get_state_display() if opened
        else _("same micro-grid, no move")})
    return redirect("patients:patient", pk=patient.pk)


@login_required
def transfer_list(request):
    """R24: the unit's inbox and outbox of moves, deadlines counting down, alerts on top."""
    box = "outbox" if request.GET.get("box") == "outbox" else "inbox"
    show = request.GET.get("show", "open")
    items = selectors.transfers_for(request.user, box=box)
    if show == "open":
        items = items.filter(state__in=Transfer.OPEN_STATES)
    page = Paginator(items.order_by("-detected_at"), 50).get_page(request.GET.get("page"))
    # A move out of the user's units stays in their outbox, but a patient who has left their
    # scope is no longer shown by name or number there (R35; the API answers 404 for them).
    in_scope = set(patient_selectors.patients_visible_to(request.user).filter(
        pk__in=[t.patient_id for t in page]).values_list("pk", flat=True))
    alerts = list(selectors.open_alerts_for(request.user)[:50])
    notifications = list(request.user.notifications.filter(read_at__isnull=True)[:20])
    shown = in_scope | {a.transfer.patient_id if a.transfer_id else a.event_report.patient_id for a in alerts}
    access.log(user=request.user, action="list", purpose=Purpose.TRANSFER,
               patient_ids=sorted(shown | {n.patient_id for n in notifications}),
               query={"transfers": box, "show": show}, request=request)
    now = timezone.now()
    scope = access.scope_of(request.user)
    rows = []
    for t in page:
        due = selectors.next_deadline(t)
        rows.append({"t": t, "due": due, "late": due is not None and due < now,
                     "in_scope": t.patient_id in in_scope,
                     "actions": selectors.allowed_actions(scope, t),
                     "letter": box == "outbox" and t.kind == "outside" and letters.needs_letter(t)})
    return render(request, "transfers/transfer_list.html", {
        "box": box, "show": show, "page": page, "rows": rows, "alerts": alerts,
        "notifications": notifications,
    })


@login_required
def transfer_action(request, pk: int, action: str):
    """One step of a transfer (POST); the service decides whether this user may take it."""
    if request.method != "POST":
        raise Http404
    transfer = selectors.transfers_for(request.user).filter(pk=pk).first()
    if transfer is None:
        raise Http404
    steps = {
        "report": lambda: services.transfer_report(user=request.user, transfer=transfer),
        "exchange": lambda: services.transfer_exchange(user=request.user, transfer=transfer),
        "accept": lambda: services.transfer_accept(user=request.user, transfer=transfer),
        "dispute": lambda: services.transfer_dispute(
            user=request.user, transfer=transfer, explanation=request.POST.get("explanation", ""),
            files=request.FILES.getlist("evidence")),
        "escalate": lambda: services.transfer_escalate(user=request.user, transfer=transfer),
        "cancel": lambda: services.transfer_cancel(user=request.user, transfer=transfer,
                                                   reason=request.POST.get("reason", "")),
    }
    if action not in steps:
        raise Http404
    try:
        steps[action]()
        access.log(user=request.user, action="update", purpose=Purpose.TRANSFER,
                   patient_ids=[transfer.patient_id], query={"transfer": transfer.pk, "step": action},
                   request=request)
        messages.success(request, _("%(patient)s: %(state)s") % {
            "patient": transfer.patient.patient_no,
            "state": Transfer.State(Transfer.objects.get(pk=pk).state).label})
    except services.TransitionError as exc:
        messages.error(request, str(exc))
    return redirect(_next_page(request, default="transfers:transfers"))


def _next_page(request, *, default: str) -> str:
    """Where to go after a step: the page that asked (`next`), if it is one of ours."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


@login_required
def transfer_letter(request, pk: int):
    """R26: the drafted letter for an outflow to another province (county office only); logged."""
    transfer = selectors.transfers_for(request.user, box="outbox").filter(pk=pk).first()
    if transfer is None or letters.needs_letter(transfer) is None:
        raise Http404
    if not access.acts_for(request.user, transfer.from_unit_id, (Role.COUNTY_OFFICE,)):
        raise Http404
    data = letters.outflow_letter(transfer)
    access.log(user=request.user, action="export", purpose=Purpose.TRANSFER,
               patient_ids=[transfer.patient_id], query={"letter": transfer.pk}, request=request)
    response = HttpResponse(
        data, content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    name = f"outflow-letter-{transfer.patient.patient_no}.docx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
