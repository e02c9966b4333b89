"""The unit vector tiles' rules: which level a zoom shows, and which precomputed shape
(band) a zoom draws from. Pure functions, no database; the tile statement
(gridmap.selectors.unit_tile) and the shapes' refresh (gridmap.services.unit_tiles_refresh)
both read them, and the map page hands them to the browser.

Why bands: simplifying a province's 100k+ polygons on every request is most of a cold
tile's time, so each unit is stored in web Mercator (EPSG:3857) once per band, simplified to
half a screen pixel at the band's deepest zoom (invisible, and far fewer vertices).
"""

import math

from gridmap.models import Level

#: The media type of a vector tile (Mapbox Vector Tile), the unit and the patient tiles'.
MEDIA_TYPE = "application/vnd.mapbox-vector-tile"

#: Web Mercator metres per pixel of a 256-pixel tile at zoom 0 (the equator's 40,075,016.686 m / 256).
METRES_PER_PIXEL_Z0 = 156543.03392804097

#: The deepest level drawn at each zoom and above (the map shows that level and, as
#: outlines, every level above it). Micro-grids from z12: in the demo county a micro-grid is
#: about 1.6 km across, 50 pixels at z12; a village is 3.9 km, 60 pixels at z11.
LEVEL_FROM_ZOOM = {0: Level.COUNTY, 9: Level.TOWNSHIP, 10: Level.VILLAGE, 11: Level.GRID,
                   12: Level.MICRO_GRID}

#: Each band serves the zooms from its own to the next band's (the last one every deeper
#: zoom). Its column in gridmap_unittile is geom_<band>.
BANDS = (5, 8, 11, 14)

#: Tiles are served for these zooms; deeper ones would only magnify band 14.
MAX_ZOOM = 20

#: MVT tile extent and the buffer drawn beyond a tile's edge (in tile units), so that
#: outlines are not cut at the seams.
EXTENT = 4096
BUFFER = 64


def level_for_zoom(zoom: int) -> int:
    """The deepest level a tile at this zoom draws."""
    return max(level for start, level in LEVEL_FROM_ZOOM.items() if start <= zoom)


def first_zoom(level: int) -> int:
    """The zoom from which a level is drawn (as itself, then as outline)."""
    return min(start for start, shown in LEVEL_FROM_ZOOM.items() if shown >= level)


def band_for_zoom(zoom: int) -> int:
    """The band whose shapes a tile at this zoom draws."""
    return max([band for band in BANDS if band <= zoom], default=BANDS[0])


def band_last_zoom(band: int) -> int:
    """The deepest zoom a band serves (the last band: MAX_ZOOM)."""
    later = [b for b in BANDS if b > band]
    return later[0] - 1 if later else MAX_ZOOM


def band_tolerance(band: int) -> float:
    """The simplification tolerance of a band's shapes, in web Mercator metres: half a pixel
    at the band's deepest zoom; the last band keeps every vertex (0)."""
    if band == BANDS[-1]:
        return 0.0
    return METRES_PER_PIXEL_Z0 / 2 ** band_last_zoom(band) / 2


def band_needed(band: int, level: int) -> bool:
    """Whether a level's units are ever drawn from a band (a micro-grid never at z5)."""
    return band_last_zoom(band) >= first_zoom(level)


def tile_bounds(zoom: int, x: int, y: int) -> tuple[float, float, float, float]:
    """The tile's box in longitude and latitude (west, south, east, north)."""
    n = 2 ** zoom

    def latitude(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360 - 180, latitude(y + 1), (x + 1) / n * 360 - 180, latitude(y)


def valid_tile(zoom: int, x: int, y: int) -> bool:
    return 0 <= zoom <= MAX_ZOOM and 0 <= x < 2 ** zoom and 0 <= y < 2 ** zoom


#: The cache key of the unit tiles' version: every cached tile and every ETag carries it,
#: and a unit or household import replaces it (gridmap.services.unit_tiles_changed).
VERSION_KEY = "tiles:units:version"


def tile_cache_key(zoom: int, x: int, y: int) -> str:
    """Where a tile is kept, with the version it was built for (one entry per tile: a
    tile of an older version is replaced when next asked for)."""
    return f"tiles:units:{zoom}/{x}/{y}"
