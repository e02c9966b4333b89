"""export_ledger: the three ledgers, scoped to a user, in CSV or XLSX, each export logged (R35)."""

import csv
import io
from datetime import date

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from cases.patients.models import LostSearch, Patient
from gridmap.models import AccessLog
from tests.conftest import AS_OF, TOWNSHIP_1
from tests.helpers import run_import
from tests.ledgers import followup, write_table

pytestmark = pytest.mark.django_db


def export(tmp_path, kind, *args, fmt="csv"):
    out = tmp_path / f"ledger.{fmt}"
    call_command("export_ledger", kind, "--purpose=report", f"--format={fmt}", f"--as-of={AS_OF.isoformat()}",
                 "-o", str(out), *args)
    if fmt == "xlsx":
        return load_workbook(out)
    return list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))


def test_key_groups_ledger_has_the_canonical_columns_and_the_team(register, tmp_path):
    rows = export(tmp_path, "key-groups", "--lang=en")
    header, body = rows[0], {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert header[:8] == ["patient_no", "name", "county_code", "township_code", "village_code",
                          "grid_code", "micro_grid_code", "key_groups"]
    assert set(body) == {"P01", "P02", "P03", "P04", "P05"}
    p1 = body["P01"]
    assert p1["micro_grid_code"] == "6107270010010101" and p1["key_groups"] == "high_risk"
    assert (p1["police"], p1["village_doctor"], p1["liaison_leader"]) == ("police姓名", "micro_doc姓名",
                                                                           "(gap)")
    assert body["P04"]["micro_grid_code"] == "" and body["P04"]["county_code"] == ""


def test_a_grid_worker_exports_only_their_patients_without_medical_or_risk_columns(register, tmp_path):
    rows = export(tmp_path, "key-groups", "--user=grid_a")
    assert [r[0] for r in rows[1:]] == ["P01", "P05"]
    assert "重点管理人群" not in rows[0] and "病情" not in rows[0] and "危险性评估等级" not in rows[0]
    log = AccessLog.objects.get()
    assert log.action == "export" and log.user.username == "grid_a"
    assert sorted(log.patient_ids) == sorted(
        Patient.objects.filter(patient_no__in=["P01", "P05"]).values_list("pk", flat=True))
    assert log.query["ledger"] == "key-groups"


def test_grid_b_exports_nothing_of_grid_a(register, tmp_path):
    assert [r[0] for r in export(tmp_path, "key-groups", "--user=grid_b")[1:]] == ["P02"]


def test_a_unit_limits_the_ledger(register, tmp_path):
    rows = export(tmp_path, "key-groups", f"--unit={TOWNSHIP_1[0]}")
    assert [r[0] for r in rows[1:]] == ["P01", "P02", "P04", "P05"]  # P04, P05 registered there


def test_lost_ledger_has_one_sheet_per_lost_patient_with_attempts_and_searches_R11(register, tmp_path):
    run_import("function", "import_followups", write_table(tmp_path / "f.csv", [
        followup("P02", "2026-04-01", reached="否"), followup("P02", "2026-04-20", reached="否"),
        followup("P02", "2026-05-10", reached="否"),
    ]), as_of=AS_OF)
    LostSearch.objects.create(patient=Patient.objects.get(patient_no="P02"), searched_on=date(2026, 5, 20),
                              action="走访亲属")
    book = export(tmp_path, "lost", fmt="xlsx")
    assert book.sheetnames == ["失访患者", "P02"]
    entries = [row[4] for row in book["P02"].iter_rows(min_row=2, values_only=True)]
    assert entries == ["随访", "随访", "随访", "查找"]


def test_followups_due_lists_overdue_patients_per_responsible_person(register, tmp_path):
    run_import("function", "import_followups", write_table(tmp_path / "f.csv", [
        followup("P01", "2026-06-01", condition="不稳定", method="面访"),  # due 06-15: 15 days overdue
        followup("P02", "2026-06-20"),  # due 09-20: not listed
    ]), as_of=AS_OF)
    rows = export(tmp_path, "followups-due", "--lang=en")
    listed = {r[2]: r for r in rows[1:]}
    assert "P02" not in listed
    assert listed["P01"][0] == "micro_doc姓名" and listed["P01"][6:8] == ["2026-06-15", "15"]


def test_a_grid_worker_gets_no_due_dates(register, tmp_path):
    assert export(tmp_path, "followups-due", "--user=grid_a")[1:] == []


def test_an_unknown_user_or_unit_is_an_error(register, tmp_path):
    with pytest.raises(CommandError, match="no active user"):
        export(tmp_path, "key-groups", "--user=ghost")
    with pytest.raises(CommandError, match="no unit"):
        export(tmp_path, "key-groups", "--unit=0000")


def test_a_ledger_as_of_another_date_is_evaluated_on_that_date_without_writing_R16(register, tmp_path):
    from cases.patients.services import patients_classify

    Patient.objects.filter(patient_no="P05").update(resident_since=date(2026, 3, 1))
    patients_classify(as_of=AS_OF)
    out = tmp_path / "later.csv"
    call_command("export_ledger", "key-groups", "--purpose=report", "--format=csv", "--as-of=2026-09-01", "-o", str(out))
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert {r[0]: r[7] for r in rows[1:]}["P05"] == ""  # six months passed by then
    stored = Patient.objects.get(patient_no="P05")
    assert stored.key_groups == ["floating"] and stored.classified_on == AS_OF
