"""Pages of the grid map. A view is a few lines around one selector or service."""

from csp.decorators import csp_exempt
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from gridmap import access, selectors, tiles
from gridmap.models import Level


@login_required
def map_page(request):
    points = access.patient_points_allowed(request.user)
    return render(request, "gridmap/map.html", {
        "levels": Level.choices,
        "map_config": {
            "basemap": settings.GRIDCARE_BASEMAP,
            "tiandituKey": settings.GRIDCARE_TIANDITU_KEY,
            "extent": selectors.grid_units_extent(),
            "tilesUrl": "/tiles/units/{z}/{x}/{y}.pbf",
            "tilesVersion": selectors.unit_tiles_version(),
            "levelFromZoom": {str(zoom): int(level) for zoom, level in tiles.LEVEL_FROM_ZOOM.items()},
            "levelNames": {int(value): str(label) for value, label in Level.choices},
            "maxZoom": tiles.MAX_ZOOM,
            "unitsUrl": "/api/units/",
            "transfersUrl": "/api/transfers/arrows/",
            # The patient layer only for a person whose roles show single patients (R35).
            "patientsUrl": "/tiles/patients/{z}/{x}/{y}.pbf" if points else None,
            "patientUrl": "/api/patients/",
            "patientPage": "/patients/",
            "text": {"noBase": _("No base layer"), "units": _("Grid units"), "zoom": _("zoom"),
                     "tiandituVector": _("Tianditu map"), "tiandituImagery": _("Tianditu imagery"),
                     "patients": _("Patients"),
                     # What a patient's summary on the map shows, where the role gives it (R35).
                     "patientFields": {"residence_address": _("Address"), "status": _("Status"),
                                       "risk_level": _("Risk level"), "key_groups": _("Key groups"),
                                       "diagnosis": _("Diagnosis"), "next_due": _("Next follow-up")}},
        },
        "patient_points": points,
    })


@csp_exempt()  # a vector tile is no document: no policy to build for it
@require_GET
def unit_tile(request, z: int, x: int, y: int):
    """A unit vector tile (gridmap.selectors.unit_tile), from the cache when it has it.

    The ETag is the tiles' version, replaced by every unit or household import: a browser
    revalidates and gets 304 until then. A URL that names the current version (`?v=`, as
    the map page builds them) may be kept for a day without asking.
    """
    if not access.unit_tiles_allowed(request.user):
        return HttpResponseForbidden()  # a tile is no page to sign in on
    if not tiles.valid_tile(z, x, y):
        raise Http404
    version, body = selectors.unit_tile_answer(zoom=z, x=x, y=y,
                                               if_none_match=request.headers.get("If-None-Match", ""))
    response = HttpResponse(status=304) if body is None else HttpResponse(body, content_type=tiles.MEDIA_TYPE)
    etag = f'"{version}"'
    response["ETag"] = etag
    response["Cache-Control"] = ("private, max-age=86400" if request.GET.get("v") == version
                                 else "private, no-cache")
    patch_vary_headers(response, ["Cookie"])
    response.holds_no_personal_data = True
    return response
