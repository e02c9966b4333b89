"""The key-group counts of a list (R13–R19) are kept in the cache under the version of the
register of the reader's counties (cases.patients.selectors.key_group_counts): the
database's triggers record every statement changing patients, transfers or units
(RegisterChange), whoever writes it, so a kept count is read until the register changes
and never after; with the cache down the counts are counted."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from cases.patients import selectors, services
from cases.patients.models import Patient, RegisterChange
from cases.transfers.models import Transfer
from gridmap import access
from gridmap.models import GridUnit
from tests.conftest import COUNTY, TOWNSHIP_1
from tests.security.test_sessions import UNREACHABLE

pytestmark = pytest.mark.django_db


@pytest.fixture
def health(register) -> APIClient:
    """The township's 精防人员: P01, P02, P04 and P05 are theirs, P03 (the other township) not."""
    client = APIClient()
    client.force_authenticate(register["health"])
    return client


def counts(client) -> dict[str, int]:
    body = client.get("/api/patients/").json()
    return {**body["key_group_counts"], "total": body["count"]}


def count_queries(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"]]


def test_a_kept_count_is_read_without_counting_again(health):
    first = counts(health)
    with CaptureQueriesContext(connection) as queries:
        assert counts(health) == first
    assert count_queries(queries) == []


def test_a_change_written_through_the_orm_or_by_hand_gives_the_new_counts(health):
    before = counts(health)
    Patient.objects.filter(patient_no="P02").update(key_groups=["high_risk"])
    assert counts(health)["high_risk"] == before["high_risk"] + 1
    with connection.cursor() as cursor:  # as the importers write: one statement of their own
        cursor.execute("UPDATE cases_patient SET key_groups = '{}' WHERE patient_no IN ('P01', 'P02')")
    assert counts(health)["high_risk"] == before["high_risk"] - 1


def test_an_open_transfer_to_the_township_counts_the_patient_there_until_it_closes_R24(health):
    Patient.objects.filter(patient_no="P03").update(key_groups=["high_risk"])
    before = counts(health)
    transfer = Transfer.objects.create(
        patient=Patient.objects.get(patient_no="P03"), kind="township", state="detected", source="api",
        detected_at=timezone.now(), to_unit=GridUnit.objects.get(code=TOWNSHIP_1[0]))
    opened = counts(health)
    assert opened["total"] == before["total"] + 1 and opened["high_risk"] == before["high_risk"] + 1
    Transfer.objects.filter(pk=transfer.pk).update(closed_at=timezone.now(), state="cancelled")
    assert counts(health) == before


def test_a_deleted_patient_leaves_the_counts(health):
    before = counts(health)
    Patient.objects.filter(patient_no="P01").delete()
    assert counts(health)["total"] == before["total"] - 1


def test_a_change_to_a_unit_changes_its_countys_version_R22(register):
    scope = access.scope_of(register["health"])
    before = selectors.register_version(scope)
    GridUnit.objects.filter(code=TOWNSHIP_1[0]).update(name="改名镇")
    assert selectors.register_version(scope) != before


def test_a_change_in_another_county_leaves_this_countys_version_alone(register):
    county = GridUnit.objects.get(code=COUNTY[0])
    other = GridUnit.objects.create(code="610728", name="另一县", level=1, geom=county.geom)
    GridUnit.objects.filter(pk=other.pk).update(county_id=other.pk)
    mine = access.scope_of(register["health"])
    everything = access.Scope(everything=True)
    before, before_all = selectors.register_version(mine), selectors.register_version(everything)
    GridUnit.objects.filter(pk=other.pk).update(name="另一个县")
    assert selectors.register_version(mine) == before
    assert selectors.register_version(everything) != before_all


def test_what_a_rolled_back_writer_read_is_never_taken_for_a_later_state(register):
    scope = access.scope_of(register["health"])
    with pytest.raises(RuntimeError), transaction.atomic():
        Patient.objects.filter(patient_no="P01").update(key_groups=[])
        inside = selectors.register_version(scope)  # what this writer's own reads were kept under
        raise RuntimeError
    Patient.objects.filter(patient_no="P02").update(key_groups=[])  # a change of the same weight
    after = selectors.register_version(scope)
    assert after[0] == inside[0] and after != inside


def test_the_nightly_compaction_keeps_every_countys_sum_and_gives_new_versions(register):
    for _ in range(3):
        Patient.objects.filter(patient_no="P01").update(key_groups=[])
    scope = access.scope_of(register["health"])
    before = selectors.register_version(scope)
    county = GridUnit.objects.get(code=COUNTY[0]).pk
    assert RegisterChange.objects.filter(county_id=county).count() > 1
    services.register_changes_compact()
    assert RegisterChange.objects.filter(county_id=county).count() == 1
    after = selectors.register_version(scope)
    assert after[0] == before[0] and after != before


def test_with_the_cache_down_the_counts_are_counted(health, settings):
    expected = counts(health)
    settings.CACHES = UNREACHABLE
    with CaptureQueriesContext(connection) as queries:
        assert counts(health) == expected
    assert count_queries(queries)
