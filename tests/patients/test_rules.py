"""Tests for cases.patients.rules: the pure patient rules R1..R19 at their boundaries.

Plain pytest functions; no database or Django needed.
"""

import dataclasses
import inspect
import re
from datetime import date

import pytest

import cases.patients.rules as rules
from cases.patients.rules import (
    INACTIVE_STATUSES,
    INCIDENT_KINDS,
    Attempt,
    Condition,
    Diagnosis,
    KeyGroup,
    PatientFacts,
    Schedule,
    Status,
    age_on,
    canonical_diagnosis,
    condition_class,
    days_overdue,
    face_to_face_done_in_quarter,
    id_birth_date,
    id_check_digit,
    id_number_problems,
    id_sex,
    is_active,
    is_lost,
    is_unmanaged,
    key_groups,
    needs_admission_mobilisation,
    needs_quarterly_face_to_face,
    next_due,
    yearly_count,
    yearly_shortfall,
)
from gridmap.calendar import add_months, quarter_of

DIAGNOSES, STATUSES, KEY_GROUPS = Diagnosis.values, Status.values, KeyGroup.values

D = date
STABLE, BASIC, UNSTABLE = Condition.STABLE, Condition.BASIC, Condition.UNSTABLE

# GB 11643-1999's own examples (a woman born 1949-12-31, a man born 1880-01-01).
ID_WOMAN_1949 = "11010519491231002X"
ID_MAN_1880 = "440524188001010014"


def reached(on, condition=None, *, face_to_face=False):
    return Attempt(on=on, reached=True, face_to_face=face_to_face, condition=condition)


def failed(on, *, face_to_face=False):
    return Attempt(on=on, reached=False, face_to_face=face_to_face)


def with_check_digit(first17):
    return first17 + id_check_digit(first17)


def facts(**changes):
    """A patient in no key group on 2024-06-01; tests change one thing."""
    base = PatientFacts(
        status="在管", consent="同意", risk_level=0, resident_since=D(2015, 1, 1),
        has_guardian=True, guardian_birth_date=D(1970, 5, 5), guardian_unable=False,
        active_patients_sharing_guardian=1, active_patients_in_household=1,
        prior_incidents=(), psychotic_symptoms=False, violent_tendency=False, admissions_past_year=0,
    )
    return dataclasses.replace(base, **changes)


AS_OF = D(2024, 6, 1)


def test_every_public_function_cites_its_rule():
    public = [f for name, f in inspect.getmembers(rules, inspect.isfunction)
              if not name.startswith("_") and f.__module__ == rules.__name__]
    assert len(public) >= 15
    for function in public:
        assert re.search(r"\bR\d+", function.__doc__ or ""), function.__name__


# R1 -------------------------------------------------------------------------------------------------


def test_R1_the_six_diagnoses_are_their_own_canonical_form():
    assert len(DIAGNOSES) == 6
    for diagnosis in DIAGNOSES:
        assert canonical_diagnosis(diagnosis) == diagnosis
        assert canonical_diagnosis(f"  {diagnosis}\t") == diagnosis


@pytest.mark.parametrize("text, canonical", [
    ("持久的妄想性障碍", "偏执性精神病"),
    ("偏执性精神病（持久的妄想性障碍）", "偏执性精神病"),
    ("双相情感障碍", "双相（情感）障碍"),
    ("双相(情感)障碍", "双相（情感）障碍"),
    (" 双相(情感)障碍 ", "双相（情感）障碍"),
])
def test_R1_accepted_spellings_map_to_the_canonical_diagnosis(text, canonical):
    assert canonical_diagnosis(text) == canonical


@pytest.mark.parametrize("text", ["抑郁症", "精神分裂", "焦虑障碍", "", "   "])
def test_R1_other_diagnoses_are_not_managed(text):
    assert canonical_diagnosis(text) is None


# R3 -------------------------------------------------------------------------------------------------


def test_R3_check_digit_of_the_standard_examples():
    assert id_check_digit(ID_WOMAN_1949[:17]) == "X"
    assert id_check_digit(ID_MAN_1880[:17]) == "4"
    assert id_number_problems(ID_WOMAN_1949) == []
    assert id_number_problems(ID_MAN_1880) == []


def test_R3_check_digit_satisfies_the_iso_7064_mod_11_2_equation_for_every_remainder():
    # ISO 7064 MOD 11-2: sum of a_i * 2**(18-i) over all 18 characters (X = 10) is 1 mod 11.
    seen = set()
    for serial in range(100, 160):
        first17 = f"11010519800101{serial:03d}"
        check = id_check_digit(first17)
        values = [int(c) for c in first17] + [10 if check == "X" else int(check)]
        assert sum(v * 2 ** (17 - i) for i, v in enumerate(values)) % 11 == 1, first17
        seen.add(check)
    assert seen == set("0123456789X")


def test_R3_lowercase_x_check_digit_is_accepted_as_X():
    lowercase = ID_WOMAN_1949.lower()
    assert lowercase.endswith("x")
    assert id_number_problems(lowercase) == []
    assert id_birth_date(lowercase) == D(1949, 12, 31)
    assert id_sex(lowercase) == "F"


def test_R3_surrounding_whitespace_is_ignored():
    assert id_number_problems(f" {ID_MAN_1880}\n") == []


@pytest.mark.parametrize("wrong, expected", [
    ("110105194912310021", "X"),  # a digit where X belongs
    ("440524188001010015", "4"),
    ("44052418800101001X", "4"),  # X where a digit belongs
])
def test_R3_wrong_check_digit_names_the_expected_one(wrong, expected):
    problems = id_number_problems(wrong)
    assert len(problems) == 1
    assert "check digit" in problems[0]
    assert f"expected '{expected}'" in problems[0]


@pytest.mark.parametrize("bad", [
    "",
    "11010519491231002",      # 17 characters
    "11010519491231002X1",    # 19 characters
    "1101051949123100XX",     # X before position 18
    "11010519491231002Y",
    "11010519491231 02X",
    "１１０１０５１９４９１２３１００２Ｘ",  # full-width characters
])
def test_R3_malformed_numbers_get_one_problem_and_no_derived_values(bad):
    assert len(id_number_problems(bad)) == 1
    assert id_birth_date(bad) is None
    assert id_sex(bad) is None


def test_R3_check_digit_needs_exactly_17_digits():
    for bad in ("1101051949123100", "11010519491231002X", "1101051949123100a"):
        with pytest.raises(ValueError):
            id_check_digit(bad)


def test_R3_impossible_birth_date_is_reported():
    number = with_check_digit("11010519990230001")  # 30 Feb 1999
    assert id_birth_date(number) is None
    problems = id_number_problems(number)
    assert problems == ["digits 7-14 (19990230) are not a real birth date"]


@pytest.mark.parametrize("first17, born", [
    ("11010520000229001", D(2000, 2, 29)),  # 2000 is a leap year
    ("11010519961231001", D(1996, 12, 31)),
])
def test_R3_birth_date_is_read_from_digits_7_to_14(first17, born):
    number = with_check_digit(first17)
    assert id_birth_date(number) == born
    assert id_number_problems(number, birth_date=born) == []


def test_R3_29_february_of_a_non_leap_century_is_impossible():
    number = with_check_digit("11010519000229001")  # 1900 was not a leap year
    assert id_birth_date(number) is None
    assert len(id_number_problems(number)) == 1


def test_R3_birth_date_not_matching_the_number_is_reported():
    problems = id_number_problems(ID_WOMAN_1949, birth_date=D(1949, 12, 30))
    assert problems == ["birth date 1949-12-30 does not match the ID number (1949-12-31)"]


def test_R3_sex_comes_from_digit_17_odd_is_male():
    assert id_sex(with_check_digit("11010519800101001")) == "M"
    assert id_sex(with_check_digit("11010519800101002")) == "F"
    assert id_sex(ID_MAN_1880) == "M"
    assert id_sex(ID_WOMAN_1949) == "F"


@pytest.mark.parametrize("sex", ["F", "女", " F "])
def test_R3_matching_sex_in_either_spelling_is_fine(sex):
    assert id_number_problems(ID_WOMAN_1949, sex=sex) == []


@pytest.mark.parametrize("sex", ["M", "男"])
def test_R3_sex_not_matching_the_number_is_reported(sex):
    assert id_number_problems(ID_WOMAN_1949, sex=sex) == ["sex M does not match the ID number (F)"]


def test_R3_unknown_sex_value_is_reported():
    assert id_number_problems(ID_WOMAN_1949, sex="unknown") == ["sex 'unknown' is not one of M, F, 男, 女"]


def test_R3_all_problems_are_reported_together():
    number = "11010519990230001" + "0"  # wrong check digit and impossible date
    problems = id_number_problems(number, sex="F")
    assert len(problems) == 3
    assert any("check digit" in p for p in problems)
    assert any("not a real birth date" in p for p in problems)
    assert any("sex F does not match" in p for p in problems)


# R4 -------------------------------------------------------------------------------------------------


def test_R4_only_death_and_removal_are_inactive():
    assert INACTIVE_STATUSES == {"死亡", "出库"}
    assert [status for status in STATUSES if is_active(status)] == ["在管", "失访", "非在管", "住院"]


@pytest.mark.parametrize("status", ["", "在管 ", "active", "死"])
def test_R4_unknown_status_raises_rather_than_counting_as_active(status):
    with pytest.raises(ValueError):
        is_active(status)


@pytest.mark.parametrize("status", ["死亡", "出库"])
def test_R4_inactive_patients_have_no_key_groups_are_not_lost_and_have_no_due_date(status):
    everything = facts(status=status, consent="不同意", risk_level=5, resident_since=AS_OF,
                       has_guardian=False, prior_incidents=("放火",), psychotic_symptoms=True,
                       violent_tendency=True, admissions_past_year=3,
                       attempts=(failed(D(2024, 1, 1)), failed(D(2024, 3, 1)), failed(D(2024, 5, 1))))
    assert key_groups(everything, AS_OF) == []
    assert not is_lost(attempts=everything.attempts, status=status)
    assert not is_unmanaged(consent="不同意", status=status)
    assert next_due(attempts=everything.attempts, condition=UNSTABLE, status=status,
                    registered_on=D(2020, 1, 1)) is None
    assert next_due(attempts=(), condition=STABLE, status=status, registered_on=D(2020, 1, 1)) is None
    assert not needs_quarterly_face_to_face(status=status, risk_level=5, condition=UNSTABLE)
    assert not needs_admission_mobilisation(status=status, risk_level=5)


# Calendar helpers (R6, R10, R15, R16) --------------------------------------------------------------


@pytest.mark.parametrize("day, months, expected", [
    (D(2023, 1, 31), 1, D(2023, 2, 28)),
    (D(2024, 1, 31), 1, D(2024, 2, 29)),
    (D(2023, 1, 31), 3, D(2023, 4, 30)),
    (D(2023, 8, 31), 6, D(2024, 2, 29)),
    (D(2022, 8, 31), 6, D(2023, 2, 28)),
    (D(2023, 11, 15), 3, D(2024, 2, 15)),
    (D(2023, 12, 31), 1, D(2024, 1, 31)),
    (D(2024, 3, 31), -1, D(2024, 2, 29)),
    (D(2024, 1, 15), -1, D(2023, 12, 15)),
    (D(2024, 5, 17), 0, D(2024, 5, 17)),
    (D(2024, 2, 29), 12, D(2025, 2, 28)),
])
def test_R6_R16_add_months_clips_to_the_month_end(day, months, expected):
    assert add_months(day, months) == expected


@pytest.mark.parametrize("on, age", [
    (D(2025, 2, 27), 64),
    (D(2025, 2, 28), 64),  # non-leap year: 28 Feb is not yet the birthday
    (D(2025, 3, 1), 65),   # ... 1 March is
    (D(2024, 2, 28), 63),
    (D(2024, 2, 29), 64),  # leap year: the birthday itself
])
def test_R15_age_of_someone_born_on_29_february(on, age):
    assert age_on(D(1960, 2, 29), on) == age


def test_R15_age_turns_on_the_birthday_not_the_day_before():
    assert age_on(D(1959, 6, 1), D(2024, 5, 31)) == 64
    assert age_on(D(1959, 6, 1), D(2024, 6, 1)) == 65


# R5 -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("risk, expected", [
    (None, STABLE), (0, STABLE), (1, BASIC), (2, BASIC), (3, UNSTABLE), (4, UNSTABLE), (5, UNSTABLE),
])
def test_R5_condition_follows_the_risk_level(risk, expected):
    assert condition_class(risk_level=risk) is expected


@pytest.mark.parametrize("flag", ["psychotic_symptoms", "no_insight", "severe_adverse_reaction",
                                  "severe_physical_illness"])
def test_R5_unstable_signs_make_even_a_risk_0_patient_unstable(flag):
    assert condition_class(risk_level=0, **{flag: True}) is UNSTABLE
    assert condition_class(risk_level=1, poor_function=True, **{flag: True}) is UNSTABLE


def test_R5_poor_function_makes_a_risk_0_patient_basically_stable():
    assert condition_class(risk_level=0, poor_function=True) is BASIC
    assert condition_class(risk_level=3, poor_function=True) is UNSTABLE


@pytest.mark.parametrize("risk", [-1, 6])
def test_R5_risk_level_outside_0_to_5_is_an_error(risk):
    with pytest.raises(ValueError):
        condition_class(risk_level=risk)


def test_R5_condition_values_are_the_chinese_labels():
    assert [c.value for c in Condition] == ["稳定", "基本稳定", "不稳定"]
    assert Condition("基本稳定") is BASIC


# R6 -------------------------------------------------------------------------------------------------


def due(attempts=(), condition=None, status="在管", registered_on=None, **schedule):
    return next_due(attempts=attempts, condition=condition, status=status, registered_on=registered_on,
                    schedule=Schedule(**schedule))


def test_R6_stable_is_due_three_calendar_months_later_clipped_at_month_end():
    assert due([reached(D(2023, 1, 31), STABLE)]) == D(2023, 4, 30)
    assert due([reached(D(2023, 11, 30), STABLE)]) == D(2024, 2, 29)
    assert due([reached(D(2022, 11, 30), STABLE)]) == D(2023, 2, 28)
    assert due([reached(D(2023, 3, 15), STABLE)]) == D(2023, 6, 15)


def test_R6_basically_stable_is_due_in_14_days():
    assert due([reached(D(2023, 1, 31), BASIC)]) == D(2023, 2, 14)


def test_R6_unstable_if_not_admitted_is_due_in_14_days():
    assert due([reached(D(2023, 12, 25), UNSTABLE)]) == D(2024, 1, 8)


def test_R6_basically_stable_then_stable_goes_back_to_three_months():
    attempts = [reached(D(2023, 1, 1), BASIC), reached(D(2023, 1, 14), STABLE)]
    assert due(attempts) == D(2023, 4, 14)


def test_R6_condition_of_the_latest_attempt_wins_over_the_patient_condition():
    assert due([reached(D(2023, 1, 31), STABLE)], condition=UNSTABLE) == D(2023, 4, 30)
    assert due([reached(D(2023, 1, 31))], condition=STABLE) == D(2023, 4, 30)  # falls back
    assert due([reached(D(2023, 1, 31))], condition=BASIC) == D(2023, 2, 14)


def test_R6_plain_strings_work_as_conditions():
    assert due([reached(D(2023, 1, 31), "稳定")]) == D(2023, 4, 30)
    assert due(registered_on=D(2023, 1, 31), condition="基本稳定") == D(2023, 2, 14)


def test_R6_unknown_condition_gets_the_cautious_interval():
    assert due([reached(D(2023, 1, 31))]) == D(2023, 2, 14)
    assert due([reached(D(2023, 1, 31))], unstable_days=7) == D(2023, 2, 7)


def test_R6_latest_attempt_is_by_date_not_by_list_order():
    attempts = [reached(D(2023, 5, 1), BASIC), reached(D(2023, 1, 31), STABLE)]
    assert due(attempts) == D(2023, 5, 15)


def test_R6_a_new_patient_is_due_from_registration():
    assert due(condition=STABLE, registered_on=D(2024, 8, 31)) == D(2024, 11, 30)
    assert due(condition=UNSTABLE, registered_on=D(2024, 8, 31)) == D(2024, 9, 14)
    assert due(condition=STABLE, registered_on=None) is None


def test_R6_in_hospital_has_no_due_date():
    assert due([reached(D(2023, 1, 31), UNSTABLE)], status="住院") is None
    assert due([failed(D(2023, 1, 31))], status="住院") is None


@pytest.mark.parametrize("status", ["失访"])  # 非在管 has none: R12
def test_R6_other_active_statuses_stay_due(status):
    assert due([reached(D(2023, 1, 31), STABLE)], status=status) == D(2023, 4, 30)


def test_R6_intervals_are_configurable():
    assert due([reached(D(2023, 1, 31), STABLE)], stable_months=1) == D(2023, 2, 28)
    assert due([reached(D(2023, 1, 31), BASIC)], basic_days=7) == D(2023, 2, 7)


def test_R6_days_overdue_counts_whole_days_after_the_due_date():
    assert days_overdue(None, D(2024, 1, 1)) == 0
    assert days_overdue(D(2024, 4, 30), D(2024, 4, 29)) == 0
    assert days_overdue(D(2024, 4, 30), D(2024, 4, 30)) == 0
    assert days_overdue(D(2024, 4, 30), D(2024, 5, 1)) == 1
    assert days_overdue(D(2024, 2, 28), D(2024, 3, 1)) == 2


# R7 -------------------------------------------------------------------------------------------------


def test_R7_the_fourth_follow_up_in_a_year_meets_the_minimum():
    three = [reached(D(2023, 1, 1)), reached(D(2023, 4, 1)), reached(D(2023, 7, 1))]
    assert yearly_count(three, 2023) == 3
    assert yearly_shortfall(three, 2023) == 1
    four = [*three, reached(D(2023, 12, 31))]
    assert yearly_count(four, 2023) == 4
    assert yearly_shortfall(four, 2023) == 0
    assert yearly_shortfall([*four, reached(D(2023, 12, 30))], 2023) == 0


def test_R7_failed_attempts_and_other_years_do_not_count():
    attempts = [reached(D(2022, 12, 31)), failed(D(2023, 3, 1)), failed(D(2023, 6, 1)),
                reached(D(2023, 9, 1)), reached(D(2024, 1, 1))]
    assert yearly_count(attempts, 2023) == 1
    assert yearly_shortfall(attempts, 2023) == 3
    assert yearly_shortfall([], 2023) == 4


def test_R7_two_reached_attempts_on_one_day_count_once():
    attempts = [reached(D(2023, 3, 1)), reached(D(2023, 3, 1), face_to_face=True)]
    assert yearly_count(attempts, 2023) == 1


def test_R7_yearly_minimum_is_configurable():
    assert yearly_shortfall([reached(D(2023, 3, 1))], 2023, Schedule(yearly_minimum=6)) == 5


# R8 -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("day, first, last", [
    (D(2024, 1, 1), D(2024, 1, 1), D(2024, 3, 31)),
    (D(2024, 3, 31), D(2024, 1, 1), D(2024, 3, 31)),
    (D(2024, 4, 1), D(2024, 4, 1), D(2024, 6, 30)),
    (D(2024, 9, 30), D(2024, 7, 1), D(2024, 9, 30)),
    (D(2024, 12, 31), D(2024, 10, 1), D(2024, 12, 31)),
])
def test_R8_quarter_boundaries(day, first, last):
    assert quarter_of(day) == (first, last)


def test_R8_a_visit_on_31_march_does_not_count_for_the_quarter_starting_1_april():
    visit = [reached(D(2024, 3, 31), face_to_face=True)]
    assert face_to_face_done_in_quarter(visit, D(2024, 3, 31))
    assert not face_to_face_done_in_quarter(visit, D(2024, 4, 1))


def test_R8_a_visit_on_1_april_counts_from_that_day():
    visit = [reached(D(2024, 4, 1), face_to_face=True)]
    assert face_to_face_done_in_quarter(visit, D(2024, 4, 1))
    assert face_to_face_done_in_quarter(visit, D(2024, 6, 30))
    assert not face_to_face_done_in_quarter(visit, D(2024, 3, 31))  # not yet happened


def test_R8_phone_calls_and_failed_visits_are_not_face_to_face_visits():
    attempts = [reached(D(2024, 5, 1)), failed(D(2024, 5, 2), face_to_face=True)]
    assert not face_to_face_done_in_quarter(attempts, D(2024, 6, 30))
    assert not face_to_face_done_in_quarter([], D(2024, 6, 30))


@pytest.mark.parametrize("status, risk, condition, needed", [
    ("在管", 3, STABLE, True),
    ("在管", 5, None, True),
    ("在管", 0, UNSTABLE, True),
    ("在管", 2, BASIC, False),
    ("在管", None, None, False),
    ("失访", 3, None, True),
    ("非在管", 0, UNSTABLE, True),
    ("住院", 5, UNSTABLE, False),  # not at home
    ("死亡", 5, UNSTABLE, False),
])
def test_R8_patients_at_home_with_risk_3_or_unstable_need_a_quarterly_visit(status, risk, condition, needed):
    assert needs_quarterly_face_to_face(status=status, risk_level=risk, condition=condition) is needed


@pytest.mark.parametrize("status, risk, needed", [
    ("在管", 3, True), ("在管", 5, True), ("在管", 2, False), ("在管", None, False),
    ("失访", 4, True), ("住院", 5, False), ("出库", 5, False),
])
def test_R8_risk_3_at_home_opens_admission_mobilisation(status, risk, needed):
    assert needs_admission_mobilisation(status=status, risk_level=risk) is needed


# R9 -------------------------------------------------------------------------------------------------


def test_R9_a_failed_attempt_opens_a_retry_within_14_days():
    attempts = [reached(D(2024, 1, 20), STABLE), failed(D(2024, 2, 20))]
    assert due(attempts) == D(2024, 3, 5)  # 2024 is a leap year


def test_R9_retry_does_not_wait_for_the_stable_interval():
    assert due([failed(D(2023, 12, 25))], condition=STABLE, registered_on=D(2023, 1, 1)) == D(2024, 1, 8)


def test_R9_reaching_the_patient_after_a_failure_restores_the_interval():
    attempts = [failed(D(2024, 1, 10)), reached(D(2024, 1, 20), STABLE)]
    assert due(attempts) == D(2024, 4, 20)


def test_R9_reached_and_failed_on_the_same_day_counts_as_reached():
    assert due([reached(D(2024, 1, 20), STABLE), failed(D(2024, 1, 20))]) == D(2024, 4, 20)
    assert due([failed(D(2024, 1, 20)), reached(D(2024, 1, 20), STABLE)]) == D(2024, 4, 20)


def test_R9_retry_days_are_configurable():
    assert due([failed(D(2024, 1, 20))], retry_days=7) == D(2024, 1, 27)


# R10 ------------------------------------------------------------------------------------------------


def lost(attempts, status="在管", **schedule):
    return is_lost(attempts=attempts, status=status, schedule=Schedule(**schedule))


def test_R10_third_failure_exactly_one_month_after_the_first_is_not_lost():
    assert not lost([failed(D(2024, 1, 15)), failed(D(2024, 2, 1)), failed(D(2024, 2, 15))])


def test_R10_third_failure_one_day_more_than_a_month_after_the_first_is_lost():
    assert lost([failed(D(2024, 1, 15)), failed(D(2024, 2, 1)), failed(D(2024, 2, 16))])


def test_R10_one_month_after_31_january_is_the_end_of_february():
    assert not lost([failed(D(2023, 1, 31)), failed(D(2023, 2, 14)), failed(D(2023, 2, 28))])
    assert lost([failed(D(2023, 1, 31)), failed(D(2023, 2, 14)), failed(D(2023, 3, 1))])
    assert not lost([failed(D(2024, 1, 31)), failed(D(2024, 2, 14)), failed(D(2024, 2, 29))])
    assert lost([failed(D(2024, 1, 31)), failed(D(2024, 2, 14)), failed(D(2024, 3, 1))])


def test_R10_two_failures_are_never_enough():
    assert not lost([failed(D(2024, 1, 1)), failed(D(2024, 6, 1))])
    assert not lost([])


def test_R10_only_the_latest_three_attempts_count_in_date_order():
    assert lost([failed(D(2024, 3, 1)), failed(D(2024, 1, 1)), failed(D(2024, 2, 1))])
    # four failures over more than two months, but the latest three span less than one
    assert not lost([failed(D(2024, 1, 1)), failed(D(2024, 3, 10)), failed(D(2024, 2, 20)),
                     failed(D(2024, 3, 1))])


def test_R10_a_reached_attempt_among_the_latest_three_is_not_lost():
    assert not lost([failed(D(2024, 1, 1)), reached(D(2024, 2, 1)), failed(D(2024, 3, 1))])


def test_R10_a_successful_follow_up_ends_it():
    three = [failed(D(2024, 1, 1)), failed(D(2024, 1, 20)), failed(D(2024, 2, 10))]
    assert lost(three)
    assert not lost([*three, reached(D(2024, 2, 20))])
    assert not lost([*three, reached(D(2024, 2, 10))])  # reached the same day as the last failure


def test_R10_status_lost_is_lost_whatever_the_attempts():
    assert lost([], status="失访")
    assert lost([reached(D(2024, 1, 1))], status="失访")


def test_R10_failures_make_any_active_patient_lost_but_never_an_inactive_one():
    three = [failed(D(2024, 1, 1)), failed(D(2024, 1, 20)), failed(D(2024, 3, 10))]
    assert lost(three, status="住院")
    assert lost(three, status="非在管")
    assert not lost(three, status="死亡")
    assert not lost(three, status="出库")


def test_R10_lost_after_months_is_configurable():
    three = [failed(D(2024, 1, 15)), failed(D(2024, 2, 1)), failed(D(2024, 2, 16))]
    assert not lost(three, lost_after_months=2)
    assert lost([*three[:2], failed(D(2024, 3, 16))], lost_after_months=2)


# R12 ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("consent, status, unmanaged", [
    ("不同意", "在管", True),
    (" 不同意 ", "在管", True),
    ("同意", "在管", False),
    (None, "在管", False),
    ("同意", "非在管", True),
    (None, "非在管", True),
    ("不同意", "住院", True),
    ("不同意", "死亡", False),
    ("不同意", "出库", False),
])
def test_R12_unmanaged_when_consent_refused_or_status_says_so(consent, status, unmanaged):
    assert is_unmanaged(consent=consent, status=status) is unmanaged


# R13..R19: key groups ---------------------------------------------------------------------------------


def test_R13_R19_baseline_patient_is_in_no_key_group():
    assert key_groups(facts(), AS_OF) == []


def test_R13_lost_patients_are_in_the_lost_group():
    attempts = (failed(D(2024, 3, 1)), failed(D(2024, 3, 20)), failed(D(2024, 4, 2)))
    assert key_groups(facts(attempts=attempts), AS_OF) == ["lost"]
    assert key_groups(facts(status="失访"), AS_OF) == ["lost"]
    exactly_a_month = (failed(D(2024, 3, 1)), failed(D(2024, 3, 20)), failed(D(2024, 4, 1)))
    assert key_groups(facts(attempts=exactly_a_month), AS_OF) == []


def test_R14_unmanaged_patients_are_in_the_unmanaged_group():
    assert key_groups(facts(consent="不同意"), AS_OF) == ["unmanaged"]
    assert key_groups(facts(status="非在管"), AS_OF) == ["unmanaged"]
    assert key_groups(facts(consent=None), AS_OF) == []


def test_R15_no_guardian_is_weak_guardianship():
    assert key_groups(facts(has_guardian=False, guardian_birth_date=None), AS_OF) == ["weak_guardian"]


def test_R15_guardian_aged_65_on_the_evaluation_date_is_weak():
    guardian = facts(guardian_birth_date=D(1959, 6, 1))
    assert key_groups(guardian, D(2024, 6, 1)) == ["weak_guardian"]
    assert key_groups(guardian, D(2024, 5, 31)) == []  # still 64


def test_R15_guardian_born_29_february_turns_65_on_1_march():
    guardian = facts(guardian_birth_date=D(1960, 2, 29))
    assert key_groups(guardian, D(2025, 2, 28)) == []
    assert key_groups(guardian, D(2025, 3, 1)) == ["weak_guardian"]


def test_R15_unknown_guardian_birth_date_is_not_weak_by_age():
    assert key_groups(facts(guardian_birth_date=None), AS_OF) == []


def test_R15_guardian_unable_through_illness_is_weak():
    assert key_groups(facts(guardian_unable=True), AS_OF) == ["weak_guardian"]


def test_R15_guardian_with_two_active_patients_is_weak():
    assert key_groups(facts(active_patients_sharing_guardian=2), AS_OF) == ["weak_guardian"]
    assert key_groups(facts(active_patients_in_household=2), AS_OF) == ["weak_guardian"]
    assert key_groups(facts(active_patients_sharing_guardian=1, active_patients_in_household=1), AS_OF) == []


def test_R15_elderly_guardian_age_is_configurable():
    guardian = facts(guardian_birth_date=D(1964, 6, 1))
    assert key_groups(guardian, D(2024, 6, 1), Schedule(elderly_guardian_age=60)) == ["weak_guardian"]
    assert key_groups(guardian, D(2024, 6, 1)) == []


def test_R16_less_than_six_months_at_the_residence_is_floating():
    patient = facts(resident_since=D(2024, 3, 15))
    assert key_groups(patient, D(2024, 3, 15)) == ["floating"]
    assert key_groups(patient, D(2024, 9, 14)) == ["floating"]


def test_R16_exactly_six_months_is_no_longer_floating():
    assert key_groups(facts(resident_since=D(2024, 3, 15)), D(2024, 9, 15)) == []


def test_R16_six_months_from_31_august_ends_on_the_last_day_of_february():
    leap = facts(resident_since=D(2023, 8, 31))
    assert key_groups(leap, D(2024, 2, 28)) == ["floating"]
    assert key_groups(leap, D(2024, 2, 29)) == []
    common = facts(resident_since=D(2022, 8, 31))
    assert key_groups(common, D(2023, 2, 27)) == ["floating"]
    assert key_groups(common, D(2023, 2, 28)) == []


def test_R16_unknown_residence_start_is_not_floating():
    assert key_groups(facts(resident_since=None), AS_OF) == []


def test_R16_floating_months_are_configurable():
    patient = facts(resident_since=D(2024, 3, 15))
    assert key_groups(patient, D(2024, 9, 15), Schedule(floating_months=12)) == ["floating"]


@pytest.mark.parametrize("act", INCIDENT_KINDS)
def test_R17_each_of_the_ten_acts_is_a_prior_incident(act):
    assert key_groups(facts(prior_incidents=(act,)), AS_OF) == ["prior_incident"]


def test_R17_other_acts_are_not_prior_incidents():
    assert len(INCIDENT_KINDS) == 10
    assert key_groups(facts(prior_incidents=("盗窃", "")), AS_OF) == []
    assert key_groups(facts(prior_incidents=("盗窃", " 放火 ")), AS_OF) == ["prior_incident"]


@pytest.mark.parametrize("risk, groups", [
    (None, []), (0, []), (2, []), (3, ["high_risk"]), (4, ["high_risk"]), (5, ["high_risk"]),
])
def test_R18_risk_3_to_5_is_high_risk(risk, groups):
    assert key_groups(facts(risk_level=risk), AS_OF) == groups


def test_R18_risk_outside_0_to_5_is_an_error():
    with pytest.raises(ValueError):
        key_groups(facts(risk_level=6), AS_OF)


@pytest.mark.parametrize("psychotic, violent, admissions, groups", [
    (True, True, 0, ["other"]),
    (True, False, 0, []),
    (False, True, 0, []),
    (False, False, 1, []),
    (False, False, 2, ["other"]),
])
def test_R19_psychotic_and_violent_or_two_admissions_is_other(psychotic, violent, admissions, groups):
    patient = facts(psychotic_symptoms=psychotic, violent_tendency=violent, admissions_past_year=admissions)
    assert key_groups(patient, AS_OF) == groups


def test_R13_R19_groups_come_in_canonical_order():
    everything = facts(status="非在管", risk_level=4, resident_since=D(2024, 5, 1), has_guardian=False,
                       prior_incidents=("故意伤害",), psychotic_symptoms=True, violent_tendency=True,
                       attempts=(failed(D(2024, 1, 1)), failed(D(2024, 2, 1)), failed(D(2024, 3, 1))))
    assert key_groups(everything, AS_OF) == list(KEY_GROUPS)


def test_R13_R19_in_hospital_patients_keep_their_key_groups():
    assert key_groups(facts(status="住院", risk_level=5), AS_OF) == ["high_risk"]


def test_R12_R6_an_unmanaged_patient_has_no_follow_up_due():
    history = [reached(D(2023, 1, 31), STABLE)]
    assert next_due(attempts=history, condition=None, status="在管", registered_on=None,
                    consent="不同意") is None
    assert next_due(attempts=history, condition=None, status="非在管", registered_on=None) is None
    assert next_due(attempts=history, condition=None, status="在管", registered_on=None,
                    consent="同意") == D(2023, 4, 30)
