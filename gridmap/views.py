"""Pages of the grid map. A view is a few lines around one selector or service."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from gridmap import selectors
from gridmap.models import Level


@login_required
def map_page(request):
    return render(request, "gridmap/map.html", {
        "levels": Level.choices,
        "map_config": {
            "basemap": settings.GRIDCARE_BASEMAP,
            "tiandituKey": settings.GRIDCARE_TIANDITU_KEY,
            "extent": selectors.grid_units_extent(),
            "unitsUrl": "/api/units/",
            "transfersUrl": "/api/transfers/arrows/",
            "defaultLevel": 3,
        },
    })
