"""The GeoDjango admin for units, with the Leaflet widget."""

import pytest
from django.urls import reverse

from gridmap.models import GridUnit
from tests.conftest import MICRO_1

pytestmark = pytest.mark.django_db


def test_unit_change_page_shows_the_boundary_on_a_leaflet_widget(admin_client, small_grid):
    unit = GridUnit.objects.get(code=MICRO_1[0])
    response = admin_client.get(reverse("admin:gridmap_gridunit_change", args=[unit.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "leaflet" in html.lower() and 'name="geom"' in html
    assert MICRO_1[0] in html


def test_unit_list_filters_by_level(admin_client, small_grid):
    response = admin_client.get(reverse("admin:gridmap_gridunit_changelist"), {"level": 5})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 4


def test_saving_a_unit_in_the_admin_keeps_its_ancestry(admin_client, small_grid):
    unit = GridUnit.objects.get(code=MICRO_1[0])
    url = reverse("admin:gridmap_gridunit_change", args=[unit.pk])
    data = {"code": "6107270010010109", "name": "改名", "level": 5, "parent": unit.parent_id,
            "geom": unit.geom.geojson, "extra": "{}",
            "shapes-TOTAL_FORMS": 0, "shapes-INITIAL_FORMS": 0}
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    unit.refresh_from_db()
    assert unit.code == "6107270010010109" and unit.micro_grid_id == unit.pk
    assert unit.grid_id == unit.parent_id


def test_the_access_log_is_readable_but_not_editable_in_the_admin(admin_client, admin_user):
    from gridmap.models import AccessLog

    entry = AccessLog.objects.create(user=admin_user, username="admin", action="view", purpose="care",
                                     patient_ids=[1, 2])
    listing = admin_client.get("/admin/gridmap/accesslog/")
    assert listing.status_code == 200 and "admin" in listing.content.decode()
    assert admin_client.get("/admin/gridmap/accesslog/add/").status_code == 403
    assert admin_client.post(f"/admin/gridmap/accesslog/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AccessLog.objects.filter(pk=entry.pk).exists()


def test_a_campaign_entered_in_the_admin_gets_its_coverage(admin_client, small_grid, tmp_path):
    from cases.screening.models import Campaign, CoverageCount
    from gridmap.models import GridUnit
    from tests.gridmap.test_households_import import households_csv
    from tests.helpers import run_import

    run_import("function", "import_households", households_csv(tmp_path))
    township = GridUnit.objects.get(code="610727001")
    response = admin_client.post("/admin/screening/campaign/add/", {
        "code": "C9", "name": "专项排查", "kind": "special", "scope": township.pk,
        "starts_on": "2026-06-01", "ends_on": "2026-06-30", "target": "0.9"})
    assert response.status_code == 302, response.content[:500]
    campaign = Campaign.objects.get(code="C9")
    assert CoverageCount.objects.get(campaign=campaign, unit=township).households == 5
