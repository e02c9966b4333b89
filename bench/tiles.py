"""The unit vector tiles at province scale (DESIGN "Performance"; the map issue's targets):
cold and cached tiles at z6, z9, z12 and z15 over distinct tiles, their sizes, the same
features as GeoJSON (the /api/units/ way), and 50 concurrent clients.

The data: in a database of its own (`<name>_tiles`), the demo county (real-shaped units:
a county boundary of ~1,900 vertices, micro-grids of ~40) laid out COPIES × COPIES times side
by side, a province of ~130k units; its tile shapes made by the importer's own statement
(gridmap.services.unit_tiles_refresh, timed). Tiles are asked of gunicorn
(config/gunicorn.py) on loopback by a signed-in person, as the map does; "cold" means the
tiles' version was just replaced (what an import does), so nothing is in the cache.

Run: python -m bench --only tiles (or python -m bench.tiles, which prints the section).
"""

import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.db import ensure_database
from bench.load import VENV, Server, prepare

ROOT = Path(__file__).resolve().parent.parent
COPIES = 10  # the county laid out 10 × 10: ~131k units over ~6° × 5°
ZOOMS = (6, 9, 12, 15)
SAMPLE = 200  # distinct tiles measured per zoom (all of them where there are fewer)
CACHED_ROUNDS = 3  # each measured tile asked again this many times from the cache
CLIENTS = 50
# A map user panning without pause asks a screen of tiles (~24 at 1440×900) every few seconds:
# 4 tiles a second each, 200/s for the 50 clients.
CLIENT_RATE = 4.0
TARGETS = {"cold_p95_ms": 50, "cached_p95_ms": 5, "max_bytes": 500_000, "median_bytes": 50_000,
           "clients_p95_ms": 150}
USERNAME = "township_office"  # a leader's role: unit tiles are the same for everyone


def tiles_url(source: str) -> str:
    name = urlsplit(source).path.lstrip("/").removesuffix("_bench")
    return urlunsplit(urlsplit(source)._replace(path=f"/{name}_tiles"))


# --- The province: the demo county, copied -------------------------------------------------

def replicate(copies: int) -> dict:
    """Lay the stored county out copies × copies times (the original at the south-west
    corner), once; make every unit's tile shapes (timed). Returns the unit count and that
    time."""
    from django.db import connection

    from gridmap import services
    from gridmap.models import GridUnit

    with connection.cursor() as cursor:
        # Why raw SQL: 130k units copied level by level in five statements.
        cursor.execute("SELECT ST_XMax(e) - ST_XMin(e), ST_YMax(e) - ST_YMin(e) FROM "
                       "(SELECT ST_Extent(geom) e FROM gridmap_gridunit WHERE level = 1) x")
        width, height = cursor.fetchone()
        copied = GridUnit.objects.filter(code__startswith="c").exists()
        if copied:  # the province is there: only its tile shapes are made again (and timed)
            cursor.execute("TRUNCATE gridmap_unittile")
        for level in range(1, 6 if not copied else 1):
            cursor.execute(
                """
                INSERT INTO gridmap_gridunit (code, name, level, parent_id, geom, households,
                                              population, extra, created_at, updated_at)
                SELECT 'c' || k.i || '-' || k.j || '-' || u.code, u.name, u.level, p.id,
                       ST_Translate(u.geom, k.i * %(w)s, k.j * %(h)s), u.households, u.population,
                       '{}', now(), now()
                FROM gridmap_gridunit u
                CROSS JOIN (SELECT i, j FROM generate_series(0, %(n)s - 1) i,
                            generate_series(0, %(n)s - 1) j WHERE (i, j) <> (0, 0)) k
                LEFT JOIN gridmap_gridunit pu ON pu.id = u.parent_id
                LEFT JOIN gridmap_gridunit p ON p.code = 'c' || k.i || '-' || k.j || '-' || pu.code
                WHERE u.level = %(level)s AND u.code NOT LIKE 'c%%'
                """,
                {"w": width * 1.001, "h": height * 1.001, "n": copies, "level": level},
            )
    services.grid_units_refresh_ancestry()
    started = time.perf_counter()
    services.unit_tiles_refresh()
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE gridmap_unittile")
        cursor.execute("VACUUM ANALYZE gridmap_gridunit")
    return {"units": GridUnit.objects.count(), "tile_seconds": seconds}


def province_tiles(zoom: int) -> list[tuple[int, int, int]]:
    """Every tile of this zoom over the province's units, from the label points."""
    from django.db import connection

    with connection.cursor() as cursor:
        # Why raw SQL: the tiles holding a label point, computed for 130k points at once.
        cursor.execute(
            """
            SELECT DISTINCT floor((ST_X(label) + 20037508.342789244) / (40075016.68557849 / 2 ^ %(z)s))::int,
                            floor((20037508.342789244 - ST_Y(label)) / (40075016.68557849 / 2 ^ %(z)s))::int
            FROM gridmap_unittile ORDER BY 1, 2
            """,
            {"z": zoom},
        )
        return [(zoom, x, y) for x, y in cursor.fetchall()]


# --- Measuring -----------------------------------------------------------------------------

class Browser:
    """A signed-in person's HTTP client: one kept-alive connection and its cookies, as a
    browser keeps them."""

    def __init__(self, host: str, username: str, password: str):
        self.connection = http.client.HTTPConnection(urlsplit(host).netloc, timeout=30)
        self.cookies: dict[str, str] = {}
        self.request("GET", "/login/")
        body = urllib.parse.urlencode({"username": username, "password": password,
                                       "csrfmiddlewaretoken": self.cookies["csrftoken"]})
        status, _ = self.request("POST", "/login/", body, {
            "Content-Type": "application/x-www-form-urlencoded", "Referer": f"{host}/login/"})
        if status != 302:
            raise SystemExit(f"sign-in answered {status}")

    def request(self, method: str, path: str, body: str | None = None,
                headers: dict | None = None) -> tuple[int, bytes]:
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.connection.request(method, path, body, {**(headers or {}), "Cookie": cookie})
        answer = self.connection.getresponse()
        content = answer.read()
        for header in answer.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return answer.status, content

    def get(self, path: str) -> tuple[float, bytes]:
        started = time.perf_counter()
        status, body = self.request("GET", path)
        if status != 200:
            raise SystemExit(f"{path}: {status}")
        return (time.perf_counter() - started) * 1000, body


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def new_version() -> None:
    """What an import does on commit: a new version, so no tile is cached (outside a
    transaction, unit_tiles_changed replaces it at once)."""
    from gridmap.services import unit_tiles_changed

    unit_tiles_changed()


def geojson_of(zoom: int, x: int, y: int) -> tuple[float, int]:
    """The same features the tile holds (its level and those above, over its box) the
    GeoJSON way of /api/units/: ms and bytes."""
    from gridmap import selectors, tiles

    started = time.perf_counter()
    size = sum(len(selectors.grid_units_geojson(
        level=level, bbox=tiles.tile_bounds(zoom, x, y), tolerance=360 / (256 * 2 ** zoom) / 3).encode())
        for level in range(1, tiles.level_for_zoom(zoom) + 1))
    return (time.perf_counter() - started) * 1000, size


def warm_up(browser: Browser, rng: random.Random) -> None:
    """Tiles of zooms not measured, until every gunicorn thread has its connection and its
    prepared statements (a first request on a new connection plans for ~0.4 s)."""
    for zoom in (7, 8, 10, 11, 13):
        every = province_tiles(zoom)
        for z, x, y in rng.sample(every, min(60, len(every))):
            browser.get(f"/tiles/units/{z}/{x}/{y}.pbf")


def measure_zooms(browser: Browser, rng: random.Random) -> dict:
    results = {}
    warm_up(browser, rng)
    for zoom in ZOOMS:
        every = province_tiles(zoom)
        chosen = rng.sample(every, min(SAMPLE, len(every)))
        new_version()
        cold = [browser.get(f"/tiles/units/{z}/{x}/{y}.pbf") for z, x, y in chosen]
        cached = [browser.get(f"/tiles/units/{z}/{x}/{y}.pbf")[0]
                  for _ in range(CACHED_ROUNDS) for z, x, y in chosen]
        geojson = [geojson_of(*tile) for tile in chosen[:50]]
        sizes = [len(body) for _, body in cold]
        results[zoom] = {
            "tiles": len(chosen), "of": len(every),
            "cold_median_ms": statistics.median(ms for ms, _ in cold),
            "cold_p95_ms": p95([ms for ms, _ in cold]),
            "cached_median_ms": statistics.median(cached), "cached_p95_ms": p95(cached),
            "median_bytes": statistics.median(sizes), "max_bytes": max(sizes),
            "geojson_median_ms": statistics.median(ms for ms, _ in geojson),
            "geojson_median_bytes": statistics.median(b for _, b in geojson),
            "mvt_median_bytes_same": statistics.median(sizes[:50]),
        }
    return results


def run_clients(host: str, password: str, seconds: int, rng: random.Random, rate: float = 0) -> dict:
    """CLIENTS signed-in clients, each tile asked once (all cold): as fast as answered, or
    `rate` tiles a second each."""
    pool = [tile for zoom in (9, 10, 11, 12, 13, 14, 15) for tile in province_tiles(zoom)]
    rng.shuffle(pool)
    new_version()
    with tempfile.TemporaryDirectory() as folder:
        listing = Path(folder) / "tiles.txt"
        listing.write_text("\n".join(f"/tiles/units/{z}/{x}/{y}.pbf" for z, x, y in pool))
        prefix = Path(folder) / "run"
        env = {**os.environ, "GRIDCARE_LOAD_USER": USERNAME, "GRIDCARE_LOAD_PASSWORD": password,
               "GRIDCARE_LOAD_SECONDS": str(seconds), "GRIDCARE_TILE_LIST": str(listing),
               "GRIDCARE_LOAD_RATE": str(rate)}
        subprocess.run(
            [str(VENV / "locust"), "-f", str(ROOT / "bench" / "locustfile_tiles.py"), "--headless",
             "--host", host, "-u", str(CLIENTS), "-r", str(CLIENTS), "-t", f"{seconds + 120}s",
             "--only-summary", "--csv", str(prefix), "--loglevel", "WARNING", "--stop-timeout", "10"],
            cwd=ROOT, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        import csv

        with open(f"{prefix}_stats.csv", newline="") as f:
            row = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
    return {"requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
            "rps": float(row["Requests/s"]), "median_ms": float(row["50%"]), "p95_ms": float(row["95%"]),
            "pool": len(pool)}


def measure_renderers(host: str, browser: Browser) -> dict:
    """The two candidate renderers in headless Chromium (bench.map_client), signed in as the
    Browser is, over the middle of the province at a county, a township and a micro-grid zoom."""
    from django.db import connection

    from bench import map_client

    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_Y(c), ST_X(c) FROM (SELECT ST_Centroid(ST_Extent(geom)) c "
                       "FROM gridmap_gridunit WHERE level = 1) x")
        lat, lon = cursor.fetchone()
    cookies = [{"name": name, "value": value, "url": host} for name, value in browser.cookies.items()]
    return map_client.measure(host, cookies, {f"z{z}": (lat, lon, z) for z in (7, 9, 12)})


def bench(seconds: int) -> dict:
    """In the tiles database (Django set up on it): everything, as one dict."""
    from bench.results import code_version, machine

    province = replicate(COPIES)
    server = Server(os.environ["DATABASE_URL"])
    rng = random.Random(20261201)
    try:
        browser = Browser(server.host, USERNAME, os.environ["GRIDCARE_LOAD_PASSWORD"])
        zooms = measure_zooms(browser, rng)
        renderers = measure_renderers(server.host, browser)
        password = os.environ["GRIDCARE_LOAD_PASSWORD"]
        clients = {"capacity": run_clients(server.host, password, seconds, rng),
                   "paced": run_clients(server.host, password, seconds, rng, rate=CLIENT_RATE)}
    finally:
        server.stop()
    return {"province": province, "zooms": zooms, "clients": clients, "renderers": renderers,
            "sizing": server.sizing,
            "machine": machine(), "code": code_version(), "seconds": seconds}


def clients_ok(run: dict) -> bool:
    return run["p95_ms"] <= TARGETS["clients_p95_ms"] and not run["failures"] and run["requests"] > 0


def summary(result: dict) -> list[str]:
    from datetime import datetime

    from bench.results import table

    t = TARGETS
    zooms, clients = result["zooms"], result["clients"]
    cold = max(z["cold_p95_ms"] for z in zooms.values())
    cached = max(z["cached_p95_ms"] for z in zooms.values())
    biggest = max(z["max_bytes"] for z in zooms.values())
    median = max(z["median_bytes"] for z in zooms.values())

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    tile_seconds = result["province"]["tile_seconds"]
    rows = [
        ("date", datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")),
        ("machine", result["machine"]), ("code", result["code"]),
        ("data", f"the demo county copied {COPIES} × {COPIES}: {result['province']['units']:,} units "
                 "with real-shaped boundaries"),
        ("tile shapes made (unit_tiles_refresh, every unit)",
         f"{tile_seconds:.1f} s"),
        ("server", f"gunicorn {result['sizing'][0]} workers × {result['sizing'][1]} threads, keep-alive "
                   f"{str(result['sizing'][3]) + ' s' if result['sizing'][3] else 'off'}, loopback, "
                   "signed in; the cache is Redis"),
        ("cold tile p95, worst zoom", f"**{cold:.1f} ms** (target ≤ {t['cold_p95_ms']}: "
                                      f"{verdict(cold <= t['cold_p95_ms'])})"),
        ("cached tile p95, worst zoom", f"**{cached:.1f} ms** (target ≤ {t['cached_p95_ms']}: "
                                        f"{verdict(cached <= t['cached_p95_ms'])})"),
        ("largest tile / largest median",
         f"{biggest / 1000:.1f} KB / {median / 1000:.1f} KB (targets ≤ 500 / < 50: "
         f"{verdict(biggest <= t['max_bytes'] and median < t['median_bytes'])})"),
        (f"{CLIENTS} clients, as fast as answered, {result['seconds']} s, every tile asked once (cold)",
         f"{clients['capacity']['rps']:.0f} tiles/s at most, p95 {clients['capacity']['p95_ms']:.0f} ms, "
         f"{clients['capacity']['failures']} failed of {clients['capacity']['requests']:,}"),
        (f"{CLIENTS} clients at {CLIENT_RATE:g} tiles/s each ({CLIENTS * CLIENT_RATE:g}/s offered), "
         f"{result['seconds']} s, every tile asked once (cold)",
         f"**{clients['paced']['rps']:.0f} tiles/s, p95 {clients['paced']['p95_ms']:.0f} ms**, "
         f"{clients['paced']['failures']} failed of {clients['paced']['requests']:,} (target p95 ≤ "
         f"{t['clients_p95_ms']}, no error: {verdict(clients_ok(clients['paced']))})"),
    ]
    detail = [(z, f"{m['tiles']} of {m['of']:,}", f"{m['cold_median_ms']:.1f}", f"{m['cold_p95_ms']:.1f}",
               f"{m['cached_median_ms']:.1f}", f"{m['cached_p95_ms']:.1f}", f"{m['median_bytes'] / 1000:.1f}",
               f"{m['max_bytes'] / 1000:.1f}",
               f"{m['geojson_median_ms']:.1f} ms, {m['geojson_median_bytes'] / 1000:.1f} KB "
               f"({m['geojson_median_bytes'] / max(m['mvt_median_bytes_same'], 1):.1f}× the tile's bytes)")
              for z, m in zooms.items()]
    from bench.map_client import ROUNDS, client_rows

    renderers = ["", "The two renderers in headless Chromium, 1440×900, the middle of the province "
                 f"(median of {ROUNDS} fresh pages; WebGL is SwiftShader there; docs/map.md says which "
                 "was chosen):", "",
                 *table(("renderer", "view", "first draw ms", "pan 1,000 px ms", "JS heap MB", "error"),
                        client_rows(result["renderers"]))]
    return [*table(("measure", "value"), rows), "", *renderers[1:], "",
            *table(("zoom", "tiles measured", "cold median ms", "cold p95 ms", "cached median ms",
                    "cached p95 ms", "median KB", "max KB", "same features as GeoJSON (median)"), detail)]


def bench_tiles(source_url: str, seconds: int = 60) -> dict:
    """Prepare the tiles database, then measure in a process of its own set up on it."""
    from bench.results import write_section

    url = tiles_url(source_url)
    ensure_database(url)
    password = prepare(url, USERNAME)
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([str(VENV / "python"), "-m", "bench.tiles", out.name, str(seconds)],
                       cwd=ROOT, check=True,
                       env={**os.environ, "DATABASE_URL": url, "GRIDCARE_LOAD_PASSWORD": password,
                            "DJANGO_SETTINGS_MODULE": "config.settings"})
        result = json.loads(Path(out.name).read_text())
    result["zooms"] = {int(z): m for z, m in result["zooms"].items()}
    print(write_section("province", summary(result), "unit tiles"))
    zooms, clients = result["zooms"].values(), result["clients"]
    ok = (max(z["cold_p95_ms"] for z in zooms) <= TARGETS["cold_p95_ms"]
          and max(z["cached_p95_ms"] for z in zooms) <= TARGETS["cached_p95_ms"]
          and max(z["max_bytes"] for z in zooms) <= TARGETS["max_bytes"]
          and clients_ok(clients["paced"]) and not clients["capacity"]["failures"])
    result["checks"] = {"unit tiles: cold p95 ≤ 50 ms, cached ≤ 5 ms, ≤ 500 KB, 50 clients p95 ≤ 150 ms":
                        (ok, "see bench/results.md")}
    return result


if __name__ == "__main__":
    import django

    django.setup()
    Path(sys.argv[1]).write_text(json.dumps(bench(int(sys.argv[2]))))
