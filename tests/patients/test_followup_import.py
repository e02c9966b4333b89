"""import_followups (formats.md §4) and the classification it triggers (R5–R19 stored)."""

from datetime import date

import pytest

from cases.patients.models import FollowUp, Patient, RiskAssessment, Task
from tests.helpers import run_import
from tests.ledgers import followup, id_number, patient, write_table

pytestmark = pytest.mark.django_db
VIA = pytest.mark.parametrize("via", ["function", "command"])
AS_OF = date(2026, 6, 30)


@pytest.fixture
def ledger(small_grid, tmp_path):
    rows = [patient("P01"), patient("P02", risk_level="3", condition="不稳定"), patient("P03")]
    ok, text = run_import("function", "import_patients", write_table(tmp_path / "l.csv", rows), as_of=AS_OF)
    assert ok, text


def load(tmp_path, rows, *, via="function", as_of=AS_OF, name="f.csv"):
    return run_import(via, "import_followups", write_table(tmp_path / name, rows), as_of=as_of)


@VIA
def test_followups_are_stored_and_set_the_next_due_date_R6(via, ledger, tmp_path):
    ok, text = load(tmp_path, [
        followup("P01", "2026-06-01 09:30", condition="稳定"),
        followup("P03", "2026-06-01", condition="基本稳定", risk_level="1"),
    ], via=via)
    assert ok, text
    due = dict(Patient.objects.values_list("patient_no", "next_due"))
    assert due["P01"] == date(2026, 9, 1)  # 稳定: within 3 months
    assert due["P03"] == date(2026, 6, 15)  # 基本稳定: within 14 days
    p3 = Patient.objects.get(patient_no="P03")
    assert (p3.condition, p3.risk_level) == ("基本稳定", 1)
    assert RiskAssessment.objects.filter(patient=p3, source="follow_up").count() == 1


def test_a_failed_attempt_opens_a_retry_within_14_days_R9(ledger, tmp_path):
    load(tmp_path, [followup("P01", "2026-06-20", reached="否")])
    p1 = Patient.objects.get(patient_no="P01")
    assert p1.next_due == date(2026, 7, 4)
    assert Task.objects.get(patient=p1, kind="retry", closed_on=None).due_on == date(2026, 7, 4)
    # A reached follow-up afterwards closes the retry.
    load(tmp_path, [followup("P01", "2026-06-25")], name="g.csv")
    assert not Task.objects.filter(patient=p1, kind="retry", closed_on=None).exists()


def test_three_misses_over_more_than_a_month_make_a_patient_lost_R10_R13(ledger, tmp_path):
    load(tmp_path, [
        followup("P01", "2026-04-01", reached="否"), followup("P01", "2026-04-20", reached="否"),
        followup("P01", "2026-05-02", reached="否"),  # more than one month after the first
        followup("P03", "2026-04-01", reached="否"), followup("P03", "2026-04-15", reached="否"),
        followup("P03", "2026-05-01", reached="否"),  # exactly one month: not yet lost
    ])
    groups = dict(Patient.objects.values_list("patient_no", "key_groups"))
    assert "lost" in groups["P01"] and "lost" not in groups["P03"]
    load(tmp_path, [followup("P01", "2026-06-10")], name="g.csv")  # found: it ends (R10)
    assert "lost" not in Patient.objects.get(patient_no="P01").key_groups


def test_high_risk_opens_quarterly_face_to_face_and_mobilisation_tasks_R8(ledger, tmp_path):
    p2 = Patient.objects.get(patient_no="P02")
    kinds = set(Task.objects.filter(patient=p2, closed_on=None).values_list("kind", flat=True))
    assert kinds == {"face_to_face", "mobilise_admission"}
    assert Task.objects.get(patient=p2, kind="face_to_face").due_on == date(2026, 6, 30)
    load(tmp_path, [followup("P02", "2026-06-05", method="面访", condition="不稳定")])
    kinds = set(Task.objects.filter(patient=p2, closed_on=None).values_list("kind", flat=True))
    assert kinds == {"mobilise_admission"}


def test_yearly_follow_ups_are_counted_R7(ledger, tmp_path):
    load(tmp_path, [followup("P01", f"2026-0{m}-10") for m in (1, 2, 3, 4)]
         + [followup("P01", "2025-12-31"), followup("P01", "2026-05-01", reached="否")])
    assert Patient.objects.get(patient_no="P01").followups_this_year == 4


def test_key_groups_are_stored_as_of_the_import_date_R15_R16_R18_R19(small_grid, tmp_path):
    shared = id_number(date(1961, 6, 30), "F", seq=9)  # 65 on 2026-06-30
    rows = [
        patient("P01", guardian_id_number=shared),
        patient("P02", guardian_id_number=id_number(date(1970, 1, 1), seq=11), resident_since="2026-01-01"),
        patient("P03", risk_level="4", psychotic_symptoms="是", violent_tendency="是"),
        patient("P04", management_status="死亡", risk_level="5"),
    ]
    ok, text = run_import("function", "import_patients", write_table(tmp_path / "l.csv", rows), as_of=AS_OF)
    assert ok, text
    groups = dict(Patient.objects.values_list("patient_no", "key_groups"))
    assert groups["P01"] == ["weak_guardian"]  # guardian 65 on the evaluation date
    assert groups["P02"] == ["floating"]  # under six months at the residence
    assert groups["P03"] == ["high_risk", "other"]
    assert groups["P04"] == []  # R4: inactive


def test_bad_follow_up_rows_are_all_reported_and_nothing_changes(ledger, tmp_path):
    ok, text = load(tmp_path, [
        followup("P01", "2026-06-01"),
        followup("P99", "2026-06-01"),
        followup("P01", "2026-13-01"),
        followup("P01", "2026-06-02", method="上门"),
        followup("P01", "2026-06-03", reached="否", condition="稳定") | {"condition": "稳定"},
        followup("P01", "2026-06-04", risk_level="7"),
    ])
    assert not ok
    for line in ["row 3, column followed_at: '2026-13-01' is not a real date or time",
                 "row 4, column method: unknown method '上门'",
                 "row 5, column condition: condition must be blank when the patient was not reached",
                 "row 6, column risk_level: 7 is outside 0..5"]:
        assert line in text, line
    assert not FollowUp.objects.exists()
    ok, text = load(tmp_path, [followup("P01", "2026-06-01"), followup("P99", "2026-06-01")], name="g.csv")
    assert not ok and "row 2, column patient_no: unknown patient_no 'P99'" in text
    assert not FollowUp.objects.exists()


def test_reimporting_follow_ups_does_not_duplicate_them(ledger, tmp_path):
    rows = [followup("P01", "2026-06-01"), followup("P01", "2026-06-01", method="面访")]
    load(tmp_path, rows)
    load(tmp_path, rows, name="again.csv")
    assert FollowUp.objects.count() == 2


def test_risk_reassessments_are_dated_by_the_local_day(ledger, tmp_path):
    # 07:30 and 09:00 Beijing time are the same local day but different UTC days.
    ok, text = load(tmp_path, [followup("P01", "2026-06-10 07:30", risk_level="2", condition="基本稳定"),
                               followup("P01", "2026-06-10 09:00", risk_level="1", condition="基本稳定"),
                               followup("P01", "2026-06-11 07:00", risk_level="0")])
    assert ok, text
    history = dict(RiskAssessment.objects.filter(source="follow_up").values_list("assessed_on", "level"))
    assert history == {date(2026, 6, 10): 1, date(2026, 6, 11): 0}


def test_unknown_columns_are_kept_in_extra(ledger, tmp_path):
    ok, text = load(tmp_path, [followup("P01", "2026-06-01") | {"随访医生": "张医生"}])
    assert ok, text
    assert FollowUp.objects.get().extra == {"随访医生": "张医生"}
