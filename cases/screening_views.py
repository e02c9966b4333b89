"""The screening pages: the leaders' coverage heat map (aggregates only) and the
mop-up list download for the field."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render

from cases import coverage, selectors, services
from cases.screening_api import campaigns_visible_to
from gridmap.models import LEVEL_FIELDS, GridUnit, Level


@login_required
def coverage_map(request):
    """R30/R31: coverage by unit with the R31 colours, drill-down, hexagons, cadence gaps."""
    campaigns = list(campaigns_visible_to(request.user).select_related("scope"))
    units = selectors.scope_units(request.user)
    top = min(units, key=lambda u: u.level) if units else None
    gaps = (coverage.cadence_gaps(as_of=services.today(), under=top)
            if (top or request.user.is_superuser) else [])
    return render(request, "cases/coverage_map.html", {
        "campaigns": campaigns, "levels": Level.choices, "gaps": gaps[:100], "gap_count": len(gaps),
        "mop_up_units": [u for u in units if u.level >= 3],
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
    from cases.screening_exports import mop_up_export

    campaign = get_object_or_404(campaigns_visible_to(request.user), code=code)
    unit = GridUnit.objects.filter(code=request.GET.get("unit", "")).first()
    if unit is None:
        raise Http404
    if not request.user.is_superuser and not any(
            unit.ancestor_id(u.level) == u.pk for u in selectors.scope_units(request.user)):
        raise Http404
    lang = "zh" if request.LANGUAGE_CODE.startswith("zh") else "en"
    data = mop_up_export(campaign, unit, fmt="csv", lang=lang)
    services.access_log_record(user=request.user, action="export",
                               query={"mop_up": campaign.code, "unit": unit.code})
    response = HttpResponse(data, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="mop-up-{campaign.code}-{unit.code}.csv"'
    return response



@login_required
def visit_form(request):
    """A field worker records one visit with the phone's GPS fix (R31–R33)."""
    from django.contrib import messages
    from django.shortcuts import redirect
    from django.utils.translation import gettext as _

    from cases.screening_api import VisitSerializer, household_in_scope

    campaigns = campaigns_visible_to(request.user).order_by("-starts_on")
    if request.method == "POST":
        campaign = get_object_or_404(campaigns, code=request.POST.get("campaign", ""))
        entry = VisitSerializer(data={k: v for k, v in request.POST.items() if v != "" and k != "campaign"})
        if entry.is_valid():
            data = entry.validated_data
            household = data["household"]
            if household_in_scope(request.user, household):
                visit = coverage.visit_record(user=request.user, campaign=campaign, household=household,
                                              visited_at=data["visited_at"], result=data["result"],
                                              point=data["point"])
                services.access_log_record(user=request.user, action="update", query={"visit": visit.pk})
                note = _("not on site") if visit.on_site is False else ""
                messages.success(request, _("Visit recorded.") + (f" ({note})" if note else ""))
                return redirect("screening:visit")
            messages.error(request, _("This household is not in your units."))
        else:
            messages.error(request, "; ".join(f"{field}: {', '.join(map(str, errors))}"
                                              for field, errors in entry.errors.items()))
    return render(request, "cases/visit_form.html", {"campaigns": campaigns})


@login_required
def suspected_cases(request):
    """R33: open suspected cases in the user's units, with the diagnosis deadline;
    confirm one (link the patient registered for it) or exclude it."""
    from django.contrib import messages
    from django.shortcuts import redirect
    from django.utils import timezone
    from django.utils.translation import gettext as _

    from cases.models import SuspectedCase

    cases = SuspectedCase.objects.select_related("household", "visit__campaign").order_by("diagnose_by")
    if not request.user.is_superuser:
        from django.db.models import Q

        condition = Q(pk__in=[])
        for unit in selectors.scope_units(request.user):
            condition |= Q(**{f"household__{LEVEL_FIELDS[unit.level]}_id": unit.pk})
        cases = cases.filter(condition)
    if request.method == "POST":
        case = get_object_or_404(cases, pk=request.POST.get("case"))
        if request.POST.get("action") == "exclude":
            coverage.suspected_case_close(case=case, excluded=True)
        else:
            patient = selectors.patients_visible_to(request.user).filter(
                patient_no=request.POST.get("patient_no", "").strip()).first()
            if patient is None:
                messages.error(request, _("No such patient in your units: register the patient first."))
                return redirect("screening:suspected")
            coverage.suspected_case_close(case=case, patient=patient)
        messages.success(request, _("Suspected case closed."))
        return redirect("screening:suspected")
    open_cases = cases.filter(status="referred")
    services.access_log_record(user=request.user, action="list", query={"suspected_cases": True})
    return render(request, "cases/suspected_cases.html", {"cases": open_cases[:200], "now": timezone.now()})
