"""import_patients (formats.md §3): checked rows, placement at five levels, atomicity."""

from datetime import date

import pytest
from django.db import connection

from cases.patients.models import Guardian, Patient, RiskAssessment
from gridmap import crypto
from gridmap.models import Household
from tests.conftest import GRID_1, MICRO_1, MICRO_4, TOWNSHIP_1, VILLAGE_1
from tests.helpers import run_import
from tests.ledgers import id_number, patient, write_table

pytestmark = pytest.mark.django_db
VIA = pytest.mark.parametrize("via", ["function", "command"])
AS_OF = date(2026, 6, 30)


def snapshot():
    with connection.cursor() as cursor:
        cursor.execute("SELECT patient_no, name, risk_level, micro_grid_id, guardian_id, key_groups "
                       "FROM cases_patient ORDER BY patient_no")
        patients = cursor.fetchall()
        cursor.execute("SELECT key, name FROM cases_guardian ORDER BY key")
        return patients, cursor.fetchall()


@VIA
def test_patients_are_stored_and_placed_at_every_level(via, small_grid, tmp_path):
    path = write_table(tmp_path / "ledger.csv", [
        patient("P01"),
        patient("P02", residence_lon="106.1", residence_lat="33.05"),  # edge of micro-grids 1 and 3
        patient("P03", residence_lon="106.3", residence_lat="33.1", registration_code=VILLAGE_1[0]),
    ])
    ok, text = run_import(via, "import_patients", path, as_of=AS_OF)
    assert ok, text
    placed = dict(Patient.objects.values_list("patient_no", "micro_grid__code"))
    assert placed == {"P01": MICRO_1[0], "P02": MICRO_1[0], "P03": MICRO_4[0]}  # R0: lowest code
    p1 = Patient.objects.get(patient_no="P01")
    assert (p1.grid.code, p1.village.code, p1.township.code, p1.county.code) == (
        GRID_1[0], VILLAGE_1[0], TOWNSHIP_1[0], "610727")
    assert p1.birth_date == date(1980, 5, 17) and p1.sex == "M"  # derived from the ID number (R3)
    assert Patient.objects.get(patient_no="P03").registration_unit.code == VILLAGE_1[0]
    assert p1.classified_on == AS_OF


def test_a_residence_outside_every_unit_is_kept_and_flagged_R22(small_grid, tmp_path):
    path = write_table(tmp_path / "ledger.csv", [
        patient("P01", residence_lon="108.5", residence_lat="34.2", registration_code=VILLAGE_1[0]),
    ])
    ok, text = run_import("function", "import_patients", path, as_of=AS_OF)
    assert ok, text
    p = Patient.objects.get(patient_no="P01")
    assert p.outside and p.micro_grid_id is None and p.county_id is None
    assert "row 1: the residence of P01 lies in no stored unit" in text


def test_a_household_code_gives_the_residence_point(small_grid, tmp_path):
    from tests.gridmap.test_households_import import households_csv

    run_import("function", "import_households", households_csv(tmp_path))
    path = write_table(tmp_path / "ledger.csv", [
        patient("P01", residence_lon="", residence_lat="", household_code="H6"),
    ])
    ok, text = run_import("function", "import_patients", path, as_of=AS_OF)
    assert ok, text
    p = Patient.objects.get(patient_no="P01")
    assert p.household == Household.objects.get(code="H6")
    assert p.micro_grid.code == MICRO_4[0] and p.geom.equals(p.household.geom)


@pytest.mark.parametrize("suffix,chinese,encoding", [
    (".csv", True, "gb18030"), (".csv", False, "utf-8-sig"), (".xlsx", True, None),
])
def test_chinese_or_english_headers_in_csv_gb18030_or_xlsx(small_grid, tmp_path, suffix, chinese, encoding):
    rows = [patient("P01"), patient("P02", prior_incidents="故意伤害；放火")]
    path = write_table(tmp_path / f"ledger{suffix}", rows, chinese=chinese, encoding=encoding or "utf-8")
    ok, text = run_import("function", "import_patients", path, as_of=AS_OF)
    assert ok, text
    assert Patient.objects.get(patient_no="P02").prior_incidents == ["故意伤害", "放火"]
    assert Patient.objects.get(patient_no="P01").name == "患者P01"


def test_one_guardian_guards_several_patients_by_id_number(small_grid, tmp_path):
    shared = id_number(date(1950, 1, 1), "F", seq=7)
    path = write_table(tmp_path / "ledger.csv", [
        patient("P01", guardian_id_number=shared, guardian_name="王母"),
        patient("P02", guardian_id_number=shared, guardian_name="王母"),
        patient("P03", guardian_id_number="", guardian_name="李父"),
    ])
    ok, text = run_import("function", "import_patients", path, as_of=AS_OF)
    assert ok, text
    assert Guardian.objects.count() == 2
    mother = Guardian.objects.get(id_number_index=crypto.index(shared))  # encrypted at rest
    assert mother.id_number == shared and mother.key == mother.id_number_index
    assert mother.birth_date == date(1950, 1, 1)  # from the guardian's ID number
    assert sorted(mother.patients.values_list("patient_no", flat=True)) == ["P01", "P02"]


@VIA
def test_every_bad_row_is_reported_with_row_and_column_and_nothing_changes(via, small_grid, tmp_path):
    good = write_table(tmp_path / "good.csv", [patient("P01"), patient("P02")])
    assert run_import("function", "import_patients", good, as_of=AS_OF)[0]
    before = snapshot()
    valid = id_number(date(1980, 5, 17), seq=3)
    wrong_check = valid[:17] + ("0" if valid[17] != "0" else "1")
    rows = [
        patient("P01", name="改名"),  # a good row: must not be written either
        patient("P03", id_number=wrong_check),
        patient("P04", id_number=valid, birth_date="1981-05-17"),
        patient("P05", id_number=valid, sex="女"),
        patient("P06", diagnosis="抑郁症"),
        patient("P07", risk_level="6"),
        patient("P08", residence_lon="33.05", residence_lat="106.05"),
        patient("P09", residence_lon="", residence_lat="", household_code="NOPE"),
        patient("P10"),
        patient("P10"),
        patient("P11", name=""),
        patient("P12", prior_incidents="打架"),
    ]
    ok, text = run_import(via, "import_patients", write_table(tmp_path / "bad.csv", rows), as_of=AS_OF)
    assert not ok
    expected = [
        "row 2, column id_number: ",
        "row 3, column birth_date: 1981-05-17 does not match the ID number's 1980-05-17 (R3)",
        "row 4, column sex: 女 does not match the ID number's 男 (R3)",
        "row 5, column diagnosis: '抑郁症' is not one of the six managed diagnoses (R1)",
        "row 6, column risk_level: 6 is outside 0..5",
        "row 7, column residence_lon: (33.05, 106.05) lies outside China's extent",
        "row 10, column patient_no: duplicate patient_no P10 (first in row 9)",
        "row 11, column name: name is required",
        "row 12, column prior_incidents: unknown incident kind '打架' (R17)",
    ]
    for line in expected:
        assert line in text, line
    assert "check digit" in text
    assert snapshot() == before
    # The unknown household is found in the database pass, once the rows are clean.
    rows = [patient("P09", residence_lon="", residence_lat="", household_code="NOPE")]
    ok, text = run_import(via, "import_patients", write_table(tmp_path / "hh.csv", rows), as_of=AS_OF)
    assert not ok and "row 1, column household_code: unknown household code 'NOPE'" in text
    assert snapshot() == before


def test_a_missing_point_without_household_is_an_error(small_grid, tmp_path):
    rows = [patient("P01", residence_lon="", residence_lat="")]
    ok, text = run_import("function", "import_patients", write_table(tmp_path / "l.csv", rows), as_of=AS_OF)
    assert not ok and "row 1, column residence_lon: residence_lon and residence_lat are required" in text


def test_a_file_without_required_columns_is_refused(small_grid, tmp_path):
    path = tmp_path / "l.csv"
    path.write_text("patient_no,name\nP01,某\n", encoding="utf-8")
    ok, text = run_import("function", "import_patients", path)
    assert not ok and "missing column(s): diagnosis (诊断), residence_address (现住址)" in text


def test_reimporting_the_same_ledger_changes_nothing(small_grid, tmp_path):
    from config.importers import patients_import

    path = write_table(tmp_path / "ledger.csv", [patient("P01"), patient("P02", risk_level="3")])
    first = patients_import(path=path, as_of=AS_OF)
    again = patients_import(path=path, as_of=AS_OF)
    assert (first.created, first.updated) == (2, 0)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert RiskAssessment.objects.count() == 2


def test_a_dry_run_writes_nothing(small_grid, tmp_path):
    path = write_table(tmp_path / "ledger.csv", [patient("P01")])
    ok, text = run_import("command", "import_patients", path, dry_run=True)
    assert ok and "dry run" in text
    assert not Patient.objects.exists()


@pytest.mark.parametrize("risk,accepted", [("0", True), ("5", True), ("-1", False), ("6", False),
                                           ("2.5", False), ("高", False)])
def test_R2_risk_level_is_an_integer_0_to_5(small_grid, tmp_path, risk, accepted):
    ok, text = run_import("function", "import_patients",
                          write_table(tmp_path / "l.csv", [patient("P01", risk_level=risk)]), as_of=AS_OF)
    assert ok == accepted, text
    if not accepted:
        assert "row 1, column risk_level:" in text
        assert not Patient.objects.exists()
