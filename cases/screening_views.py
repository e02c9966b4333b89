"""The screening pages: the leaders' coverage heat map (aggregates only) and the
mop-up list download for the field."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render

from cases import coverage, selectors, services
from cases.screening_api import campaigns_visible_to
from gridmap.models import GridUnit, Level


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

