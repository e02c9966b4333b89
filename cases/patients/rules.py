"""Pure patient rules (domain-rules R1..R19): identity, follow-up schedule, key groups.

No ORM, no database: plain values in, plain values out, so selectors, services
and importers share one encoding. The register's enumerations are defined here,
once, as Django choices (the models, the importers and the SQL take them from
here). Configurable numbers live in `Schedule`, whose defaults are the values of
the rules.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _

from gridmap.calendar import add_months, quarter_of


class Diagnosis(TextChoices):
    """R1: the six managed diagnoses, stored as the national system spells them."""

    SCHIZOPHRENIA = "精神分裂症", _("schizophrenia")
    SCHIZOAFFECTIVE = "分裂情感性障碍", _("schizoaffective disorder")
    PARANOID = "偏执性精神病", _("persistent delusional disorder")
    BIPOLAR = "双相（情感）障碍", _("bipolar disorder")
    EPILEPSY = "癫痫所致精神障碍", _("mental disorder due to epilepsy")
    RETARDATION = "精神发育迟滞伴发精神障碍", _("intellectual disability with mental disorder")


# R1: other spellings found in ledgers (formats.md §3).
DIAGNOSIS_ALIASES: dict[str, str] = {
    "持久的妄想性障碍": Diagnosis.PARANOID,
    "偏执性精神病（持久的妄想性障碍）": Diagnosis.PARANOID,
    "偏执性精神病(持久的妄想性障碍)": Diagnosis.PARANOID,
    "双相情感障碍": Diagnosis.BIPOLAR,
    "双相(情感)障碍": Diagnosis.BIPOLAR,
}


class Status(TextChoices):
    """R4: management status; 死亡 and 出库 are inactive."""

    MANAGED = "在管", _("managed")
    LOST = "失访", _("lost to follow-up")
    UNMANAGED = "非在管", _("not managed")
    IN_HOSPITAL = "住院", _("in hospital")
    DEAD = "死亡", _("deceased")
    REMOVED = "出库", _("removed from register")


# R4: the inactive statuses keep their history but count nowhere.
INACTIVE_STATUSES: frozenset[str] = frozenset({Status.DEAD, Status.REMOVED})


class DeathSource(TextChoices):
    """R4: how a death came to be known; a death is recorded with its date and source."""

    CERTIFICATE = "死亡医学证明", _("medical death certificate")
    POLICE = "公安户籍注销", _("household registration cancelled by the police")
    HOSPITAL = "医疗机构告知", _("told by a hospital")
    FAMILY = "家属告知", _("told by the family")
    OTHER = "其他", _("other")


class Condition(TextChoices):
    """R5: condition class after a reached follow-up."""

    STABLE = "稳定", _("stable")
    BASIC = "基本稳定", _("basically stable")
    UNSTABLE = "不稳定", _("unstable")


class Consent(TextChoices):
    """R12: signed consent to follow-up."""

    GIVEN = "同意", _("consented")
    REFUSED = "不同意", _("refused")


class KeyGroup(TextChoices):
    """R13–R19: the key groups (重点管理人群), in the canonical order of exports and the API."""

    LOST = "lost", _("lost to follow-up")  # 失访
    UNMANAGED = "unmanaged", _("not managed")  # 非在管
    WEAK_GUARDIAN = "weak_guardian", _("weak or no guardian")  # 弱/无监护
    FLOATING = "floating", _("floating")  # 流动暂住
    PRIOR_INCIDENT = "prior_incident", _("prior incident")  # 曾经肇事肇祸
    HIGH_RISK = "high_risk", _("risk level 3–5")  # 危险评估3-5级
    OTHER = "other", _("other")  # 其他


# R17: the ten acts that make a prior incident (肇事肇祸).
INCIDENT_KINDS: tuple[str, ...] = ("故意杀人", "故意伤害", "强奸", "抢劫", "爆炸", "放火", "决水",
                                   "投放危险物质", "以危险方法危害公共安全", "故意损坏财物")

# R3: ISO 7064 MOD 11-2 weights (2**(17-i) mod 11) and remainder -> check character.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
_SEXES = {"M": "M", "F": "F", "男": "M", "女": "F"}


@dataclass(frozen=True)
class Attempt:
    """One follow-up attempt (随访) on a day; `reached` is False when neither
    the patient nor the family was reached (R9). `condition` is the R5 class
    recorded with a reached attempt."""

    on: date
    reached: bool
    face_to_face: bool
    condition: Condition | None = None


@dataclass(frozen=True)
class Schedule:
    """The configurable numbers of R6, R7, R9, R10, R15 and R16 with their defaults."""

    stable_months: int = 3
    basic_days: int = 14
    unstable_days: int = 14
    retry_days: int = 14
    lost_after_months: int = 1
    yearly_minimum: int = 4
    floating_months: int = 6
    elderly_guardian_age: int = 65


@dataclass(frozen=True)
class PatientFacts:
    """Everything the key groups (R13..R19) need about one patient, as plain values.

    The two counts include this patient and only count active patients (R4).
    """

    status: str
    consent: str | None
    risk_level: int | None
    resident_since: date | None
    has_guardian: bool
    guardian_birth_date: date | None
    guardian_unable: bool
    active_patients_sharing_guardian: int
    active_patients_in_household: int
    prior_incidents: tuple[str, ...]
    psychotic_symptoms: bool
    violent_tendency: bool
    admissions_past_year: int
    attempts: tuple[Attempt, ...] = ()


def canonical_diagnosis(text: str) -> str | None:
    """R1: the canonical spelling of a managed diagnosis, or None when `text`
    (surrounding whitespace ignored) names none of the six."""
    text = (text or "").strip()
    if text in Diagnosis.values:
        return text
    return DIAGNOSIS_ALIASES.get(text)


def is_active(status: str) -> bool:
    """R4: False for 死亡 and 出库, True for the other statuses.

    Raises ValueError for a string that is not a status, so a typo never
    silently counts a patient as active.
    """
    if status not in Status.values:
        raise ValueError(f"unknown management status {status!r}; expected one of {', '.join(Status.values)}")
    return status not in INACTIVE_STATUSES


def id_check_digit(first17: str) -> str:
    """R3: the GB 11643 check character ('0'..'9' or 'X') for the first 17 digits."""
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        raise ValueError(f"expected 17 digits, got {first17!r}")
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def _clean_id(id_number: str) -> str | None:
    """The ID number stripped and upper-cased ('x' -> 'X'), or None unless it
    is 17 ASCII digits followed by a digit or X."""
    text = (id_number or "").strip().upper()
    if len(text) == 18 and text[:17].isascii() and text[:17].isdigit() and text[17] in "0123456789X":
        return text
    return None


def id_birth_date(id_number: str) -> date | None:
    """R3: the birth date in digits 7-14, or None when the number is malformed
    or those digits are not a real calendar date (e.g. 19990230)."""
    text = _clean_id(id_number)
    if text is None:
        return None
    try:
        return date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return None


def id_sex(id_number: str) -> str | None:
    """R3: "M" when digit 17 is odd (男), "F" when even (女); None when malformed."""
    text = _clean_id(id_number)
    if text is None:
        return None
    return "M" if int(text[16]) % 2 else "F"


def id_number_problems(id_number: str, *, birth_date: date | None = None,
                       sex: str | None = None) -> list[str]:
    """R3: what is wrong with an ID number, in English; [] when it is valid.

    Surrounding whitespace is ignored and a lowercase 'x' is read as 'X'.
    `birth_date` and `sex` ("M"/"F" or 男/女), when given, must agree with the
    number. A malformed number gets one message and no further checks.
    """
    text = _clean_id(id_number)
    if text is None:
        shown = (id_number or "").strip()
        if len(shown) != 18:
            return [f"ID number must have 18 characters, not {len(shown)}"]
        return [f"ID number {shown!r} must be 17 digits followed by a digit or X"]
    problems = []
    expected = id_check_digit(text[:17])
    if text[17] != expected:
        problems.append(f"bad check digit {text[17]!r} (digit 18): expected {expected!r}")
    born = id_birth_date(text)
    if born is None:
        problems.append(f"digits 7-14 ({text[6:14]}) are not a real birth date")
    elif birth_date is not None and birth_date != born:
        problems.append(f"birth date {birth_date} does not match the ID number ({born})")
    given = None if sex is None else _SEXES.get(sex.strip())
    if sex is not None and given is None:
        problems.append(f"sex {sex!r} is not one of M, F, 男, 女")
    elif given is not None and given != id_sex(text):
        problems.append(f"sex {given} does not match the ID number ({id_sex(text)})")
    return problems


def age_on(birth: date, on: date) -> int:
    """R15: completed years of age on `on`. Someone born on 29 Feb turns a year
    older on 1 March in a non-leap year (not on 28 Feb), as Chinese legal
    practice counts it."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _risk(risk_level: int | None) -> int:
    """R2: the risk level as 0..5 (unknown counts as 0); ValueError outside."""
    risk = 0 if risk_level is None else risk_level
    if not 0 <= risk <= 5:
        raise ValueError(f"risk level must be 0..5, got {risk_level!r}")
    return risk


def condition_class(*, risk_level: int | None, psychotic_symptoms: bool = False, no_insight: bool = False,
                    severe_adverse_reaction: bool = False, severe_physical_illness: bool = False,
                    poor_function: bool = False) -> Condition:
    """R5: 不稳定 is checked first, then 基本稳定, else 稳定. Unknown risk is 0."""
    risk = _risk(risk_level)
    if (risk >= 3 or psychotic_symptoms or no_insight or severe_adverse_reaction
            or severe_physical_illness):
        return Condition.UNSTABLE
    if risk >= 1 or poor_function:
        return Condition.BASIC
    return Condition.STABLE


def _by_date(attempts: Sequence[Attempt]) -> list[Attempt]:
    """Attempts oldest first; on one day a reached attempt sorts after a failed
    one, so reaching the patient that day is what counts as latest."""
    return sorted(attempts, key=lambda attempt: (attempt.on, attempt.reached))


def _due_after(start: date, condition: Condition | None, schedule: Schedule) -> date:
    """R6: the due date following an assessment on `start`. An unknown
    condition is treated as 不稳定, the most cautious interval."""
    if condition == Condition.STABLE:
        return add_months(start, schedule.stable_months)
    if condition == Condition.BASIC:
        return start + timedelta(days=schedule.basic_days)
    return start + timedelta(days=schedule.unstable_days)


def next_due(*, attempts: Sequence[Attempt], condition: Condition | None, status: str,
             registered_on: date | None, schedule: Schedule = Schedule(),
             consent: str | None = None) -> date | None:
    """R6 + R9: when the next follow-up is due.

    None for inactive statuses (R4), for 住院 (follow-up resumes after
    discharge) and for unmanaged patients (R12: follow-up needs signed consent;
    a village cadre helps the family instead). A failed latest attempt is retried within `retry_days` (R9).
    Otherwise the interval runs from the latest reached attempt, by its own
    condition falling back to `condition`; with no attempts at all it runs from
    `registered_on` by `condition` (None when that date is unknown too).
    """
    if not is_active(status) or status == Status.IN_HOSPITAL or is_unmanaged(consent=consent, status=status):
        return None
    ordered = _by_date(attempts)
    if ordered and not ordered[-1].reached:
        return ordered[-1].on + timedelta(days=schedule.retry_days)
    if ordered:
        latest = ordered[-1]
        return _due_after(latest.on, latest.condition or condition, schedule)
    if registered_on is None:
        return None
    return _due_after(registered_on, condition, schedule)


def days_overdue(due: date | None, as_of: date) -> int:
    """R6: whole days past `due` on `as_of`; 0 when not yet due or no due date."""
    return 0 if due is None else max(0, (as_of - due).days)


def yearly_count(attempts: Sequence[Attempt], year: int) -> int:
    """R7: reached follow-ups in calendar `year`. Several reached attempts on
    one day count once (a phone call and a visit that day are one follow-up)."""
    return len({attempt.on for attempt in attempts if attempt.reached and attempt.on.year == year})


def yearly_shortfall(attempts: Sequence[Attempt], year: int, schedule: Schedule = Schedule()) -> int:
    """R7: how many reached follow-ups `year` lacks to reach the yearly minimum."""
    return max(0, schedule.yearly_minimum - yearly_count(attempts, year))


def _at_home(status: str) -> bool:
    """Active (R4) and not in hospital: the village care group can visit."""
    return is_active(status) and status != Status.IN_HOSPITAL


def needs_quarterly_face_to_face(*, status: str, risk_level: int | None, condition: Condition | None) -> bool:
    """R8: a patient at home with risk >= 3 or 不稳定 needs a 面访 every quarter."""
    return _at_home(status) and (_risk(risk_level) >= 3 or condition == Condition.UNSTABLE)


def face_to_face_done_in_quarter(attempts: Sequence[Attempt], as_of: date) -> bool:
    """R8: whether a reached face-to-face attempt falls in the quarter of
    `as_of`, on or before `as_of`."""
    first, _ = quarter_of(as_of)
    return any(a.reached and a.face_to_face and first <= a.on <= as_of for a in attempts)


def needs_admission_mobilisation(*, status: str, risk_level: int | None) -> bool:
    """R8: risk >= 3 at home opens a "mobilise admission" task for the guardian."""
    return _at_home(status) and _risk(risk_level) >= 3


def is_lost(*, attempts: Sequence[Attempt], status: str, schedule: Schedule = Schedule()) -> bool:
    """R10: lost (失访) when the status says so, or when the latest three
    attempts all failed and the third came more than `lost_after_months`
    calendar months after the first (exactly one month is not enough). A
    reached attempt after them ends it. Never lost when inactive (R4)."""
    if status == Status.LOST:
        return True
    if not is_active(status):
        return False
    latest = _by_date(attempts)[-3:]
    if len(latest) < 3 or any(attempt.reached for attempt in latest):
        return False
    return latest[-1].on > add_months(latest[0].on, schedule.lost_after_months)


def is_unmanaged(*, consent: str | None, status: str) -> bool:
    """R12: unmanaged (非在管) when consent was refused (不同意) or the status is
    非在管; never when inactive (R4)."""
    if not is_active(status):
        return False
    return status == Status.UNMANAGED or (consent or "").strip() == Consent.REFUSED


def _weak_guardian(facts: PatientFacts, as_of: date, schedule: Schedule) -> bool:
    """R15: no guardian, guardian 65+ on `as_of`, unable to act, or looking after
    two or more active patients (same guardian ID or same household)."""
    if not facts.has_guardian or facts.guardian_unable:
        return True
    if (facts.guardian_birth_date is not None
            and age_on(facts.guardian_birth_date, as_of) >= schedule.elderly_guardian_age):
        return True
    return facts.active_patients_sharing_guardian >= 2 or facts.active_patients_in_household >= 2


def _floating(resident_since: date | None, as_of: date, schedule: Schedule) -> bool:
    """R16: less than six calendar months at the current residence on `as_of`;
    an unknown start date is not floating."""
    return resident_since is not None and as_of < add_months(resident_since, schedule.floating_months)


def key_groups(facts: PatientFacts, as_of: date, schedule: Schedule = Schedule()) -> list[str]:
    """R13..R19: the key groups of a patient on `as_of`, in `KeyGroup` order;
    [] for an inactive patient (R4)."""
    if not is_active(facts.status):
        return []
    risk = _risk(facts.risk_level)
    member = {  # rule numbers as in domain-rules.md
        KeyGroup.LOST: is_lost(attempts=facts.attempts, status=facts.status, schedule=schedule),  # R13
        KeyGroup.UNMANAGED: is_unmanaged(consent=facts.consent, status=facts.status),  # R14
        KeyGroup.WEAK_GUARDIAN: _weak_guardian(facts, as_of, schedule),  # R15
        KeyGroup.FLOATING: _floating(facts.resident_since, as_of, schedule),  # R16
        KeyGroup.PRIOR_INCIDENT: any(act.strip() in INCIDENT_KINDS for act in facts.prior_incidents),  # R17
        KeyGroup.HIGH_RISK: risk >= 3,  # R18
        KeyGroup.OTHER: ((facts.psychotic_symptoms and facts.violent_tendency)  # R19
                         or facts.admissions_past_year >= 2),
    }
    return [group.value for group in KeyGroup if member[group]]
