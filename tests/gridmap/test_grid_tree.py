"""The five-level tree: ancestry queries, the level invariant, R0 tie-breaking."""

import pytest
from django.contrib.gis.geos import Point
from django.db import IntegrityError, transaction

from gridmap.models import GridUnit
from tests.conftest import COUNTY, GRID_1, MICRO_1, MICRO_2, MICRO_3, TOWNSHIP_1, VILLAGE_1

pytestmark = pytest.mark.django_db


def test_every_unit_knows_its_ancestor_at_each_level(small_grid):
    micro = GridUnit.objects.get(code=MICRO_2[0])
    expected = {1: COUNTY[0], 2: TOWNSHIP_1[0], 3: VILLAGE_1[0], 4: GRID_1[0], 5: MICRO_2[0]}
    codes = dict(GridUnit.objects.filter(id__in=[micro.ancestor_id(k) for k in range(1, 6)])
                 .values_list("level", "code"))
    assert codes == expected


def test_level_k_ancestor_is_read_without_a_query(small_grid, django_assert_num_queries):
    micro = GridUnit.objects.get(code=MICRO_1[0])
    township = GridUnit.objects.get(code=TOWNSHIP_1[0])
    with django_assert_num_queries(0):
        assert micro.ancestor_id(2) == township.pk


def test_everything_under_a_unit_is_one_indexed_query(small_grid, django_assert_num_queries):
    township = GridUnit.objects.get(code=TOWNSHIP_1[0])
    with django_assert_num_queries(1):
        codes = sorted(GridUnit.objects.under(township).values_list("code", flat=True))
    assert codes == sorted([TOWNSHIP_1[0], VILLAGE_1[0], GRID_1[0], "61072700100102",
                            MICRO_1[0], MICRO_2[0], MICRO_3[0]])
    excluded = GridUnit.objects.under(township, include_self=False)
    assert TOWNSHIP_1[0] not in excluded.values_list("code", flat=True)


def test_ancestry_query_uses_an_index(small_grid):
    from django.db import connection

    township = GridUnit.objects.get(code=TOWNSHIP_1[0])
    sql, params = GridUnit.objects.under(township).values("id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index" in plan and "township_id" in plan


def test_point_on_a_shared_edge_goes_to_the_lowest_code_R0(small_grid):
    # (106.1, 33.05) lies on the edge between micro-grids 1 and 3.
    on_edge = Point(106.1, 33.05, srid=4326)
    covering = list(GridUnit.objects.at_level(5).covering(on_edge).values_list("code", flat=True))
    assert covering == [MICRO_1[0], MICRO_3[0]]  # both cover it; the first is the owner


def test_corner_shared_by_three_units_goes_to_the_lowest_code_R0(small_grid):
    corner = Point(106.1, 33.1, srid=4326)
    first = GridUnit.objects.at_level(5).covering(corner).first()
    assert first.code == MICRO_1[0]


def test_database_rejects_a_level_that_is_not_parent_level_plus_one(small_grid):
    township = GridUnit.objects.get(code=TOWNSHIP_1[0])
    unit = GridUnit(code="bad", name="bad", level=4, parent=township,
                    geom=township.geom)
    with pytest.raises(IntegrityError, match="level 4 but its parent has level 2"):
        with transaction.atomic():
            unit.save()


def test_database_rejects_a_parentless_unit_below_the_county(small_grid):
    township = GridUnit.objects.get(code=TOWNSHIP_1[0])
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            GridUnit.objects.create(code="orphan", name="orphan", level=2, geom=township.geom)


def test_database_rejects_a_level_change_that_breaks_the_children(small_grid):
    with pytest.raises(IntegrityError, match="but its parent has level"):
        with transaction.atomic():
            GridUnit.objects.filter(code=GRID_1[0]).update(level=3)
