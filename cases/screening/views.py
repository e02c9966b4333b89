"""The screening pages: the leaders' coverage heat map (aggregates only), the mop-up list
download, the field visit form and the suspected cases (R30–R33). Each view is a few lines
around one selector or service; gridmap.access decides what is in a person's scope."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.screening import selectors, services
from cases.screening.api import VisitSerializer
from cases.screening.exports import mop_up_export
from cases.screening.models import SuspectedCase
from gridmap import access
from gridmap.calendar import local_today
from gridmap.models import GridUnit, Level, Purpose

GAPS_LISTED = 100


@login_required
def coverage_map(request):
    """R30/R31: coverage by unit with the R31 colours, drill-down, hexagons, cadence gaps."""
    campaigns = list(selectors.campaigns_visible_to(request.user).select_related("scope"))
    scope = access.scope_of(request.user)
    gaps = selectors.cadence_gaps_for(request.user, as_of=local_today())
    return render(request, "screening/coverage_map.html", {
        "campaigns": campaigns, "levels": Level.choices, "gaps": gaps[:GAPS_LISTED], "gap_count": len(gaps),
        "mop_up_units": [u for u in scope.units if u.level >= 3],
        "map_config": {
            "campaigns": [{"code": c.code, "name": c.name, "scopeLevel": c.scope.level,
                           "target": float(c.target)} for c in campaigns],
            "coverageUrl": "/api/campaigns/{code}/coverage/",
            "hexagonsUrl": "/api/campaigns/{code}/hexagons/",
            "gapsUrl": "/api/campaigns/gaps/",
        },
    })


@login_required
def mop_up_download(request, code: str):
    """The households of one of the user's units not yet screened in a campaign (CSV); logged."""
    campaign = get_object_or_404(selectors.campaigns_visible_to(request.user), code=code)
    unit = GridUnit.objects.defer("geom").filter(code=request.GET.get("unit", "")).first()
    if unit is None or not access.scope_of(request.user).holds(unit):
        raise Http404
    lang = "zh" if request.LANGUAGE_CODE.startswith("zh") else "en"
    data = mop_up_export(campaign, unit, fmt="csv", lang=lang)
    access.log(user=request.user, action="export", purpose=Purpose.SCREENING,
               query={"mop_up": campaign.code, "unit": unit.code}, request=request)
    response = HttpResponse(data, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="mop-up-{campaign.code}-{unit.code}.csv"'
    return response


@login_required
def visit_form(request):
    """A field worker records one visit with the phone's GPS fix (R31–R33)."""
    campaigns = selectors.campaigns_visible_to(request.user).order_by("-starts_on")
    if request.method == "POST":
        campaign = get_object_or_404(campaigns, code=request.POST.get("campaign", ""))
        entry = VisitSerializer(data={k: v for k, v in request.POST.items() if v != "" and k != "campaign"})
        if entry.is_valid():
            data = entry.validated_data
            if access.scope_of(request.user).holds(data["household"]):
                visit = services.visit_record(user=request.user, campaign=campaign,
                                              household=data["household"], visited_at=data["visited_at"],
                                              result=data["result"], point=data["point"])
                access.log(user=request.user, action="update", purpose=Purpose.SCREENING,
                           query={"visit": visit.pk}, request=request)
                note = _("not on site") if visit.on_site is False else ""
                messages.success(request, _("Visit recorded.") + (f" ({note})" if note else ""))
                return redirect("screening:visit")
            messages.error(request, _("This household is not in your units."))
        else:
            messages.error(request, "; ".join(f"{field}: {', '.join(map(str, errors))}"
                                              for field, errors in entry.errors.items()))
    return render(request, "screening/visit_form.html", {"campaigns": campaigns})


@login_required
def suspected_cases(request):
    """R33: open suspected cases in the user's units, with the diagnosis deadline;
    confirm one (link the patient registered for it) or exclude it."""
    cases = selectors.suspected_cases_for(request.user)
    if request.method == "POST":
        if not request.POST.get("case", "").isdigit():
            return HttpResponseBadRequest(_("Which suspected case? (a case number)"))
        case = get_object_or_404(cases, pk=request.POST["case"])
        if request.POST.get("action") == "exclude":
            services.suspected_case_close(case=case, excluded=True)
        else:
            patient = selectors.registered_patient(request.user, request.POST.get("patient_no", ""))
            if patient is None:
                messages.error(request, _("No such patient in your units: register the patient first."))
                return redirect("screening:suspected")
            services.suspected_case_close(case=case, patient=patient)
        messages.success(request, _("Suspected case closed."))
        return redirect("screening:suspected")
    open_cases = cases.filter(status=SuspectedCase.Status.REFERRED)
    access.log(user=request.user, action="list", purpose=Purpose.SCREENING, query={"suspected_cases": True},
               request=request)
    return render(request, "screening/suspected_cases.html",
                  {"cases": open_cases[:200], "now": timezone.now()})
