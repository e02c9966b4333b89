"""Checks of a file's geometries before PostGIS repairs them (ST_MakeValid).

Why in Python, first: ST_MakeValid's time grows with the square of the crossings of an
invalid ring, and it does not heed a statement timeout while it works. The fuzz tests
(tests/security/test_importer_fuzz.py) measured a random 500-vertex ring at 130 s, and one
of 5000 vertices took the database server down. Real boundaries that need repairing cross
themselves a few times (a spike, a bow-tie at a corner), so counting crossings, which
stops as soon as there are too many, tells the two apart in milliseconds.
"""

import numpy as np
import shapely

REPAIR_CROSSINGS_MAX = 1000  # crossing edges ST_MakeValid is asked to untangle in one geometry


def shape_problem(geom) -> tuple[str, str] | None:
    """(key, message) when a geometry cannot be given to PostGIS to repair, else None:
    a coordinate that is not a finite number, or an invalid geometry too tangled to repair."""
    if not np.isfinite(shapely.get_coordinates(geom)).all():
        return "bad_coordinates", "a coordinate is not a finite number (NaN or infinity)"
    if shapely.is_valid(geom):
        return None
    if crossings(geom, REPAIR_CROSSINGS_MAX) > REPAIR_CROSSINGS_MAX:
        return "too_complex", (
            f"invalid geometry whose edges cross more than {REPAIR_CROSSINGS_MAX} times: too "
            "tangled to repair automatically; fix it in the GIS")
    return None


def _edges(geom) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The edges of every polygon ring in geom: (start, end) coordinates and ring number."""
    parts = shapely.get_parts(geom)
    while (collections := shapely.get_type_id(parts) == 7).any():  # nested GeometryCollections
        parts = np.concatenate([parts[~collections], shapely.get_parts(parts[collections])])
    polygons = shapely.get_parts(parts[np.isin(shapely.get_type_id(parts), (3, 6))])
    coords, ring = shapely.get_coordinates(shapely.get_rings(polygons), return_index=True)
    same = ring[:-1] == ring[1:]
    return coords[:-1][same], coords[1:][same], ring[:-1][same]


def crossings(geom, limit: int) -> int:
    """How many pairs of non-neighbouring polygon edges meet, counted until past `limit`."""
    start, end, ring = _edges(geom)
    if len(start) < 4:
        return 0
    edges = shapely.linestrings(np.stack([start, end], axis=1))
    tree = shapely.STRtree(edges)
    changes = ring[1:] != ring[:-1]
    first_of, last_of = np.zeros(ring.max() + 1, dtype=int), np.zeros(ring.max() + 1, dtype=int)
    first_of[ring[np.r_[True, changes]]] = np.flatnonzero(np.r_[True, changes])
    last_of[ring[np.r_[changes, True]]] = np.flatnonzero(np.r_[changes, True])
    found, at, chunk = 0, 0, 8
    while at < len(edges) and found <= limit:
        # Edges compared a few at a time, then more: a tangle passes the limit at once.
        a, b = tree.query(edges[at:at + chunk], predicate="intersects")
        a = a + at
        at, chunk = at + chunk, min(chunk * 2, 4096)
        pairs = a < b
        a, b = a[pairs], b[pairs]
        # An edge meets the next one, and a ring's first edge its last.
        neighbours = (ring[a] == ring[b]) & (
            (b - a == 1) | ((a == first_of[ring[a]]) & (b == last_of[ring[a]])))
        found += int((~neighbours).sum())
    return found
