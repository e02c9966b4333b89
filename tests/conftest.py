"""Shared fixtures: a small literal-WKT grid, file writers, Redis and an RQ worker.

Tests run on the real PostGIS and Redis named by DATABASE_URL / REDIS_URL
(`make test` starts private ones); nothing is mocked.
"""

import json
from datetime import date
from pathlib import Path

import django_rq
import pytest
from rq import SimpleWorker

from tests.ledgers import patient, write_table

# A county split into two townships; township 1 has one village with two
# grids; grid 1 has two micro-grids. Codes extend their parent's code, so the
# lowest code on a shared edge is also the lowest at every level above (R0).
COUNTY = ("610727", "略阳县", 1, "",
          "POLYGON((106 33, 106.4 33, 106.4 33.2, 106 33.2, 106 33))")
TOWNSHIP_1 = ("610727001", "西淮坝镇", 2, "610727",
              "POLYGON((106 33, 106.2 33, 106.2 33.2, 106 33.2, 106 33))")
TOWNSHIP_2 = ("610727002", "接官亭镇", 2, "610727",
              "POLYGON((106.2 33, 106.4 33, 106.4 33.2, 106.2 33.2, 106.2 33))")
VILLAGE_1 = ("610727001001", "西淮坝村", 3, "610727001", TOWNSHIP_1[4])
VILLAGE_2 = ("610727002001", "接官亭村", 3, "610727002", TOWNSHIP_2[4])
GRID_1 = ("61072700100101", "第1网格", 4, "610727001001",
          "POLYGON((106 33, 106.1 33, 106.1 33.2, 106 33.2, 106 33))")
GRID_2 = ("61072700100102", "第2网格", 4, "610727001001",
          "POLYGON((106.1 33, 106.2 33, 106.2 33.2, 106.1 33.2, 106.1 33))")
GRID_3 = ("61072700200101", "第1网格", 4, "610727002001", TOWNSHIP_2[4])
MICRO_1 = ("6107270010010101", "第1微网格", 5, "61072700100101",
           "POLYGON((106 33, 106.1 33, 106.1 33.1, 106 33.1, 106 33))")
MICRO_2 = ("6107270010010102", "第2微网格", 5, "61072700100101",
           "POLYGON((106 33.1, 106.1 33.1, 106.1 33.2, 106 33.2, 106 33.1))")
MICRO_3 = ("6107270010010201", "第1微网格", 5, "61072700100102", GRID_2[4])
MICRO_4 = ("6107270020010101", "第1微网格", 5, "61072700200101", TOWNSHIP_2[4])
SMALL_GRID = [COUNTY, TOWNSHIP_1, TOWNSHIP_2, VILLAGE_1, VILLAGE_2, GRID_1, GRID_2, GRID_3,
              MICRO_1, MICRO_2, MICRO_3, MICRO_4]


def pytest_configure(config):
    """Jobs enqueued by tests go to their own Redis database, so a demo worker
    running beside the tests (same Redis) never takes them."""
    from urllib.parse import urlsplit, urlunsplit

    from django.conf import settings

    parts = urlsplit(settings.RQ_QUEUES["default"]["URL"])
    settings.RQ_QUEUES["default"]["URL"] = urlunsplit(parts._replace(path="/15"))
    # The cache too (Redis database 14), its keys named after the test database so that two
    # runs side by side keep apart.
    settings.CACHES["default"]["LOCATION"] = urlunsplit(parts._replace(path="/14"))
    database = settings.DATABASES["default"]
    settings.CACHES["default"]["KEY_PREFIX"] = f"test-{database['TEST']['NAME'] or database['NAME']}"


@pytest.fixture(autouse=True)
def fresh_tile_version():
    """Each test starts with unit tiles of a version of its own: its database is rolled
    back after it without the import that would replace the version, so a tile cached by
    an earlier test must not be read as this one's."""
    import secrets

    from django.core.cache import cache

    from gridmap import tiles

    cache.set(tiles.VERSION_KEY, secrets.token_hex(8), timeout=None)


def units_geojson(units, *, crs: str | None = "EPSG:4326", headers=None) -> dict:
    """A GeoJSON FeatureCollection of (code, name, level, parent_code, wkt) rows."""
    from shapely import from_wkt
    from shapely.geometry import mapping

    names = headers or ("code", "name", "level", "parent_code")
    features = []
    for code, name, level, parent, wkt in units:
        geometry = mapping(from_wkt(wkt)) if wkt else None
        features.append({"type": "Feature", "geometry": geometry,
                         "properties": dict(zip(names, (code, name, level, parent or None),
                                                strict=True))})
    collection = {"type": "FeatureCollection", "features": features}
    if crs:
        collection["crs"] = {"type": "name", "properties": {"name": crs}}
    return collection


@pytest.fixture
def write_units(tmp_path):
    """Write units to a file in any OGR format; returns its path."""

    def write(units, *, name="units.geojson", crs="EPSG:4326", headers=None, **options) -> Path:
        path = tmp_path / name
        collection = units_geojson(units, crs=crs, headers=headers)
        if path.suffix == ".geojson":
            path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
            return path
        import geopandas as gpd

        frame = gpd.GeoDataFrame.from_features(collection["features"], crs=crs)
        driver = {".gpkg": "GPKG", ".fgb": "FlatGeobuf", ".kml": "KML", ".shp": "ESRI Shapefile"}
        frame.to_file(path, driver=driver[path.suffix], engine="pyogrio", **options)
        return path

    return write


@pytest.fixture
def small_grid(db, write_units):
    """The literal-WKT grid above, imported through the real importer."""
    from config.importers import grid_units_import

    report = grid_units_import(path=write_units(SMALL_GRID))
    assert report.ok, report.errors
    return report


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database may be emptied between tests: its access log refuses TRUNCATE
    like any other (gridmap migration 0008) unless this setting is on, which only test
    databases have."""
    from django.db import connection

    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{connection.settings_dict["NAME"]}" '
                           "SET gridcare.audit_truncate = 'on'")
            cursor.execute("SET gridcare.audit_truncate = 'on'")


def sign_in(client, user, *, second_factor: bool = True):
    """Sign a person in on a test client (force_login: no password round trip), having
    given their second factor with a confirmed authenticator (a real TOTP device) when
    they need one. tests/security/test_accounts.py goes through the real pages."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(user)
    if second_factor:
        device, _ = TOTPDevice.objects.get_or_create(user=user, confirmed=True,
                                                     defaults={"name": "authenticator"})
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def admin_client(db, admin_user):
    """pytest-django's admin client (a client of its own), signed in with its second factor."""
    from django.test import Client

    return sign_in(Client(), admin_user)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path_factory):
    """Uploaded files of a test go to a folder of its own, never to var/media."""
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")
    return settings.MEDIA_ROOT


@pytest.fixture
def redis_queue():
    """The real default queue on the real Redis, emptied before and after: the tests' own
    Redis database (15, above) is flushed, so no job, registry or worker of one test is
    seen by the next."""
    queue = django_rq.get_queue("default")
    queue.connection.flushdb()
    yield queue
    queue.connection.flushdb()


@pytest.fixture
def run_worker(redis_queue):
    """Run a real RQ worker in burst mode until the queue is empty.

    SimpleWorker runs jobs in this process (no fork), so jobs share the test's
    database connection and see its data.
    """

    def run() -> None:
        SimpleWorker([redis_queue], connection=redis_queue.connection).work(burst=True)

    return run

# --- Fixed personas on the small grid (STYLE §8) ------------------------------------------------
# A grid worker in grid A, one in grid B who must see nothing of A's, their village's staff,
# the township's police and health staff, and an outsider in the other township. Patients are
# imported through the real importers.

AS_OF = date(2026, 6, 30)
STAFF = [
    ("grid_a", "网格员", GRID_1[0]), ("grid_b", "网格员", GRID_2[0]),
    ("village_doc", "村医", VILLAGE_1[0]), ("committee", "村两委", VILLAGE_1[0]),
    ("police", "民警", TOWNSHIP_1[0]), ("health", "卫生院精防人员", TOWNSHIP_1[0]),
    ("micro_doc", "村医", MICRO_1[0]), ("outsider", "网格员", TOWNSHIP_2[0]),
    ("office", "乡镇综治办", TOWNSHIP_1[0]),
]
# P01 in grid A; P02 in grid B; P03 in the other township; P04 outside every unit,
# registered in the village (R22); P05 lives in the other township, registered in grid A.
PATIENTS = [
    patient("P01", risk_level="3", condition="不稳定"),
    patient("P02", residence_lon="106.15", residence_lat="33.1"),
    patient("P03", residence_lon="106.3", residence_lat="33.1"),
    patient("P04", residence_lon="108.5", residence_lat="34.2", registration_code=VILLAGE_1[0]),
    patient("P05", residence_lon="106.3", residence_lat="33.15", registration_code=GRID_1[0]),
]


@pytest.fixture
def register(small_grid, tmp_path):
    from gridmap.models import User
    from tests.helpers import run_import

    staff = write_table(tmp_path / "staff.csv", [
        {"username": u, "name": f"{u}姓名", "role": role, "unit_code": code} for u, role, code in STAFF
    ])
    ok, text = run_import("function", "import_staff", staff)
    assert ok, text
    ok, text = run_import("function", "import_patients", write_table(tmp_path / "ledger.csv", PATIENTS),
                          as_of=AS_OF)
    assert ok, text
    return {u.username: u for u in User.objects.all()}
