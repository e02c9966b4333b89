"""Generated patients for the demo county (geodata/demo.py): a patient ledger
(formats.md §3) and follow-up records (§4), written as CSV with Chinese
headers like an export from the national system, for demo.county to import
through the real importers.

No real personal data: names come from syllable lists, ID numbers are made
up with correct GB 11643 check digits (R3), phones are 1380000xxxx.

About PATIENT_SHARE of the residents are patients. Most are drawn from
realistic mixes (diagnosis, risk skew, guardians, residence, status,
follow-up habits); a fixed cast on grids A and B of the demo staff, plus one
patient living outside the county and one in a neighbouring village, makes
sure every key group (R13–R19) and gap shows even in a small demo. Follow-up
histories cover the HISTORY_MONTHS before `today` and follow R6/R9/R10.

Deterministic: its own Generator seeded with (seed, 1), so the county's files
keep their bytes; the same seed and `today` give the same bytes.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from cases.patients import rules
from cases.patients.importers import PATIENT_COLUMNS
from cases.patients.importers.followups import FOLLOWUP_COLUMNS
from cases.patients.models import FollowUp, Guardian, LostSearch, Patient, RiskAssessment, TeamOverride
from geodata.readers import read_table
from gridmap.calendar import add_months, local_zone
from gridmap.models import StaffAssignment

PATIENT_PREFIX = "P610727"
PATIENT_SHARE = 0.0045  # patients per resident
HISTORY_MONTHS = 15
REGION = "610727"

_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯董程曹袁邓许沈曾彭吕苏蒋蔡贾魏薛叶余潘杜"
_GIVEN = {"M": "伟强磊军洋勇杰涛明超刚华建国志海飞鹏辉宇浩峰斌文林波成龙平德福贵",
          "F": "芳娜敏静丽艳娟霞红玉兰燕玲丹婷雪梅春秀英萍琴慧莉桂凤翠花"}
_DIAGNOSES = dict(zip(rules.Diagnosis.values, (0.68, 0.04, 0.04, 0.08, 0.06, 0.10), strict=True))
_RISK_P = (0.60, 0.25, 0.10, 0.03, 0.015, 0.005)  # R2 levels 0..5: ~5 % at 3+
_PSYCHOTIC_P = (0.03, 0.06, 0.15, 0.35, 0.40, 0.50)  # by risk level
_VIOLENT_P = (0.01, 0.12, 0.50, 0.80, 0.90, 1.00)
_INCIDENT_P = (0.005, 0.01, 0.03, 0.15, 0.25, 0.50)
_INCIDENTS = dict(zip(rules.INCIDENT_KINDS, (0.04, 0.30, 0.02, 0.03, 0.01, 0.08, 0.01, 0.02, 0.04, 0.45),
                      strict=True))
_ADMISSIONS = {0: 0.86, 1: 0.115, 2: 0.02, 3: 0.005}
_MEDICATION = ("规律", "间断", "不服药")
_MEDICATION_P = {"稳定": (0.82, 0.14, 0.04), "基本稳定": (0.65, 0.27, 0.08), "不稳定": (0.45, 0.35, 0.20)}
# (upper bound of a uniform draw, status, consent, story); the rest are 在管, regular.
_STORIES = ((0.010, "死亡", "同意", "stopped"), (0.020, "出库", "同意", "stopped"),
            (0.030, "住院", "同意", "stopped"), (0.040, "失访", "同意", "missing"),
            (0.052, "非在管", "不同意", "none"), (0.065, "在管", "不同意", "none"),
            (0.080, "在管", "同意", "lost"), (0.130, "在管", "同意", "overdue"))
_OTHER_COUNTIES = (("610702", "陕西省汉中市汉台区"), ("610725", "陕西省汉中市勉县"),
                   ("610726", "陕西省汉中市宁强县"), ("621227", "甘肃省陇南市徽县"),
                   ("510821", "四川省广元市旺苍县"), ("510822", "四川省广元市青川县"))
# Towns outside 略阳县 where people from it work (GCJ-02, checked outside the boundary).
_ELSEWHERE = ((107.030, 33.070, "陕西省汉中市汉台区天汉大道"), (106.670, 33.150, "陕西省汉中市勉县定军路"),
              (108.940, 34.340, "陕西省西安市雁塔区长安路"), (104.070, 30.570, "四川省成都市武侯区人民南路"))
_TOWNS = "石柳黄青白马龙金新高东南北安兴"
# The fixed cast: where each goes (grid A, grid B, outside, a neighbouring village) and what it shows.
_CAST = (("a", "lost"), ("a", "refused"), ("a", "elderly_guardian"), ("a", "newcomer"),
         ("a", "high_risk"), ("a", "psychotic_violent"), ("a", "siblings"), ("a", "prior_incident"),
         ("b", "missing"), ("b", "unmanaged"), ("b", "guardian_unable"), ("b", "no_guardian"),
         ("b", "six_months"), ("b", "six_months_less_a_day"), ("b", "readmitted"), ("b", "overdue"),
         ("b", "in_hospital"), ("b", "stable"), ("outside", "outside"), ("neighbour", "high_risk"))
_CAST_FIELDS = {
    "lost": {"story": "lost"},  # R10: three misses over more than a month
    "refused": {"consent": "不同意", "story": "none"},  # R12
    "unmanaged": {"consent": "不同意", "status": "非在管", "story": "none"},
    "missing": {"status": "失访", "story": "missing"},
    "high_risk": {"risk": 4, "violent": True},
    "psychotic_violent": {"risk": 2, "psychotic": True, "violent": True},  # R19
    "prior_incident": {"risk": 5, "violent": True, "incidents": ("故意伤害", "放火")},  # R17, R2 level 5
    "readmitted": {"admissions": 2},  # R19
    "overdue": {"story": "overdue", "risk": 0, "psychotic": False},
    "in_hospital": {"status": "住院", "story": "stopped", "admissions": 1, "risk": 3},
    "stable": {"risk": 0, "psychotic": False, "violent": False, "poor_function": False,
               "incidents": (), "admissions": 0},
}
_SEARCH_ACTIONS = ("电话联系监护人，未接通", "走访邻居，称其已外出务工，去向不明",
                   "请派出所协查户籍和出行信息", "在村微信群发布寻人信息", "联系其在外地的亲属，未提供线索")
LOST_FILES = 6  # lost patients given a search file (R11)


@dataclass(frozen=True)
class DemoHomes:
    """What the generator needs of the demo county: one array entry per household."""

    codes: np.ndarray
    addresses: np.ndarray
    residents: np.ndarray
    lonlat: np.ndarray  # (n, 2), GCJ-02
    grids: np.ndarray  # grid code of each household
    villages: np.ndarray  # village code of each household
    places: dict[str, str]  # village code -> 略阳县西淮坝镇某某村
    grid_a: str
    grid_b: str
    neighbour: str  # another village of the staff township (grid A's own if none)


def demo_homes(*, micro: list, households: pd.DataFrame, personas: dict) -> DemoHomes:
    """DemoHomes from demo.county's micro-grids (in household order), its household
    table (§2 columns) and the persona units (grid_a, grid_b, township, village)."""
    which = np.repeat(np.arange(len(micro)), [u.households for u in micro])
    villages = np.array([u.parent.parent.code for u in micro])[which]
    township, own = personas["township"].code, personas["village"].code
    nearby = sorted({v for v in villages if v.startswith(township) and v != own})
    return DemoHomes(
        codes=households["地址编码"].to_numpy(), addresses=households["地址"].to_numpy(),
        residents=households["人口数"].to_numpy(), lonlat=households[["经度", "纬度"]].to_numpy(),
        grids=np.array([u.parent.code for u in micro])[which], villages=villages,
        places={u.parent.parent.code: u.place for u in micro},
        grid_a=personas["grid_a"].code, grid_b=personas["grid_b"].code,
        neighbour=nearby[0] if nearby else own)


@dataclass
class _Guardian:
    name: str
    id_number: str
    phone: str
    born: date
    unable: bool = False


@dataclass
class _Patient:
    name: str
    sex: str
    born: date
    id_number: str
    diagnosis: str
    registered_on: date
    home: int  # household index: the residence, or next to it
    by_code: bool = True  # household_code given, else residence lon/lat
    lonlat: tuple[float, float] | None = None
    address: str = ""
    resident_since: date | None = None
    registration_code: str = ""
    registration_address: str = ""
    risk: int = 0
    psychotic: bool = False
    violent: bool = False
    poor_function: bool = False
    consent: str = "同意"
    status: str = "在管"
    guardian: _Guardian | None = None
    relation: str = ""
    incidents: tuple[str, ...] = ()
    admissions: int = 0
    story: str = "regular"  # regular, lost, missing, overdue, stopped, none
    until: date | None = None  # the history stops here
    phases: list = field(default_factory=list)  # (from, risk, psychotic), oldest first
    visits: list = field(default_factory=list)  # (datetime, method, reached, condition, risk, medication)
    no: str = ""

    def state(self, on: date) -> tuple[int, bool]:
        risk, psychotic = self.risk, self.psychotic
        for start, level, flag in self.phases:
            if start <= on:
                risk, psychotic = level, flag
        return risk, psychotic

    def condition(self, risk: int, psychotic: bool) -> str:
        return str(rules.condition_class(risk_level=risk, psychotic_symptoms=psychotic,
                                         poor_function=self.poor_function))  # R5


class _Cast:
    """Draws the patients of one demo; every random choice goes through self.rng."""

    def __init__(self, homes: DemoHomes, seed: int, today: date):
        self.homes, self.today = homes, today
        self.rng = np.random.default_rng([seed, 1])
        self.taken: set[str] = set()
        # Patients live where people live: a household is drawn by its residents.
        self.cdf = np.cumsum(homes.residents) / homes.residents.sum()

    # --- small draws ---

    def days(self, low: int, high: int) -> timedelta:
        return timedelta(days=int(self.rng.integers(low, high + 1)))

    def pick(self, weights: dict):
        keys = list(weights)
        p = np.array(list(weights.values()), dtype=float)
        return keys[self.rng.choice(len(keys), p=p / p.sum())]

    def name(self, sex: str, surname: str | None = None) -> str:
        given = _GIVEN[sex]
        chars = self.rng.integers(len(given), size=self.rng.integers(1, 3))
        return (surname or _SURNAMES[self.rng.integers(len(_SURNAMES))]) + "".join(given[i] for i in chars)

    def id_number(self, born: date, sex: str, region: str = REGION) -> str:
        """R3: a fresh 18-character number; digit 17 odd for 男."""
        while True:
            sex_digit = int(self.rng.choice([1, 3, 5, 7, 9] if sex == "M" else [0, 2, 4, 6, 8]))
            first17 = f"{region}{born:%Y%m%d}{int(self.rng.integers(100)):02d}{sex_digit}"
            number = first17 + rules.id_check_digit(first17)
            if number not in self.taken:
                self.taken.add(number)
                return number

    def born(self, age: int) -> date:
        return self.today - timedelta(days=int(age * 365.25) + int(self.rng.integers(1, 365)))

    # --- one patient ---

    def patient(self, home: int) -> _Patient:
        rng, today = self.rng, self.today
        sex = "M" if rng.random() < 0.55 else "F"
        age = int(np.clip(rng.normal(47, 14), 18, 86))
        born = self.born(age)
        if rng.random() < 0.08:  # registered within the history window
            registered = today - self.days(20, 440)
        else:
            first = max(date(2008, 1, 1), born + timedelta(days=16 * 365))
            registered = first + timedelta(days=int(rng.integers(0, max(1, (today - first).days - 450))))
        risk = int(rng.choice(6, p=_RISK_P))
        p = _Patient(self.name(sex), sex, born, self.id_number(born, sex), self.pick(_DIAGNOSES), registered,
                     home, risk=risk, psychotic=bool(rng.random() < _PSYCHOTIC_P[risk]),
                     violent=bool(rng.random() < _VIOLENT_P[risk]),
                     poor_function=bool(risk == 0 and rng.random() < 0.05),
                     admissions=int(self.pick(_ADMISSIONS)) + int(risk >= 3 and rng.random() < 0.3))
        if rng.random() < _INCIDENT_P[risk]:
            kinds = [self.pick(_INCIDENTS) for _ in range(1 + int(rng.random() < 0.2))]
            p.incidents = tuple(dict.fromkeys(kinds))
        p.guardian, p.relation = self.guardian(p)
        self.residence(p)
        self.story(p)
        return p

    def guardian(self, p: _Patient, relation: str | None = None) -> tuple[_Guardian | None, str]:
        """R15 mixes: mostly a parent, spouse or child; 4 % none, 3 % unable to act."""
        age = rules.age_on(p.born, self.today)
        if relation is None:
            if self.rng.random() < 0.04:
                return None, ""
            relation = self.pick({"parent": 0.7, "配偶": 0.2, "sibling": 0.1} if age < 40 else
                                 {"parent": 0.1, "配偶": 0.6, "sibling": 0.1, "child": 0.2} if age < 65
                                 else {"配偶": 0.4, "child": 0.55, "sibling": 0.05})
        sex = "M" if self.rng.random() < 0.5 else "F"
        if relation == "配偶":
            sex = "F" if p.sex == "M" else "M"
        offset = {"parent": (20, 32), "配偶": (-5, 6), "sibling": (-8, 8), "child": (-34, -22)}[relation]
        g_age = int(np.clip(age + self.rng.integers(offset[0], offset[1] + 1), 20, 95))
        label = {"parent": "父亲母亲", "sibling": "兄弟姐妹", "child": "儿子女儿"}.get(relation)
        relation = label[0:2] if label and sex == "M" else label[2:4] if label else relation
        surname = p.name[0] if relation in ("父亲", "兄弟", "姐妹") or (relation in ("儿子", "女儿")
                                                                     and p.sex == "M") else None
        born = self.born(g_age)
        phone = f"1380000{int(self.rng.integers(10_000)):04d}"
        return _Guardian(self.name(sex, surname), self.id_number(born, sex), phone, born,
                         unable=bool(self.rng.random() < 0.03)), relation

    def residence(self, p: _Patient) -> None:
        """Household code for most, lon/lat next to a household for some; R16 and R22 mixes."""
        rng, homes = self.rng, self.homes
        p.address = str(homes.addresses[p.home])
        p.by_code = bool(rng.random() < 0.85)
        if rng.random() < 0.03:  # R16: moved in within six months
            p.resident_since = self.today - self.days(5, 170)
        elif rng.random() < 0.7:
            start = max(date(1985, 1, 1), p.born)
            span = (add_months(self.today, -7) - start).days
            p.resident_since = start + timedelta(days=int(rng.integers(0, max(span, 1))))
        newcomer = p.resident_since is not None and p.resident_since > add_months(self.today, -6)
        u = rng.random()
        if newcomer and u < 0.5 or not newcomer and u < 0.03:
            self.registered_outside(p)
        elif newcomer or u < 0.08:
            self.registered_elsewhere(p)
        else:
            p.registration_code = str(homes.villages[p.home])
            p.registration_address = p.address
        if rng.random() < 0.005:
            self.lives_outside(p)

    def registered_elsewhere(self, p: _Patient) -> None:
        """户籍 in another village of the demo county (R27 notifies it)."""
        others = [code for code in self.homes.places if code != self.homes.villages[p.home]]
        p.registration_code = others[self.rng.integers(len(others))] if others else \
            str(self.homes.villages[p.home])
        p.registration_address = f"{self.homes.places[p.registration_code]}{self.rng.integers(1, 9)}组"

    def registered_outside(self, p: _Patient) -> None:
        division, place = _OTHER_COUNTIES[self.rng.integers(len(_OTHER_COUNTIES))]
        p.registration_code = f"{division}{self.rng.integers(100, 120):03d}{self.rng.integers(1, 20):03d}"
        town = _TOWNS[self.rng.integers(len(_TOWNS))]
        p.registration_address = f"{place}{town}家镇{self.name('M')[0]}家村{self.rng.integers(1, 9)}组"

    def lives_outside(self, p: _Patient) -> None:
        """R22: lives outside the county; the registration village (the household's) is responsible."""
        lon, lat, street = _ELSEWHERE[self.rng.integers(len(_ELSEWHERE))]
        p.lonlat = (lon + self.rng.uniform(-0.005, 0.005), lat + self.rng.uniform(-0.005, 0.005))
        p.by_code = False
        p.address = f"{street}{self.rng.integers(1, 400)}号"
        p.registration_code = str(self.homes.villages[p.home])
        p.registration_address = str(self.homes.addresses[p.home])
        p.resident_since = self.today - self.days(200, 2000)

    def story(self, p: _Patient) -> None:
        """R4/R10/R12 mixes: status, consent and the shape of the follow-up history."""
        u = self.rng.random()
        for bound, status, consent, story in _STORIES:
            if u < bound:
                p.status, p.consent, p.story = status, consent, story
                break
        if p.status == "住院":
            p.admissions = max(1, p.admissions)
        if p.story not in ("regular", "none"):  # a history long enough to show its shape
            p.registered_on = min(p.registered_on, self.today - self.days(450, 900))

    def sibling(self, p: _Patient, same_household: bool) -> _Patient:
        """A younger brother or sister with the same parent as guardian (R15: shared)."""
        homes = self.homes
        home = p.home
        if not same_household:
            village = np.flatnonzero(homes.villages == homes.villages[p.home])
            home = int(village[self.rng.integers(len(village))])
        s = self.patient(home)
        age = max(16, rules.age_on(p.born, self.today) - int(self.rng.integers(2, 9)))
        s.born = self.born(age)
        s.id_number = self.id_number(s.born, s.sex)
        s.name = self.name(s.sex, p.name[0])
        s.guardian, s.relation = p.guardian, p.relation
        self.at_home(s)
        return s

    def at_home(self, p: _Patient) -> None:
        """Living in its household (by code), registered in its village."""
        p.by_code, p.lonlat, p.address = True, None, str(self.homes.addresses[p.home])
        p.registration_code, p.registration_address = str(self.homes.villages[p.home]), p.address

    # --- histories ---

    def finish(self, p: _Patient, episodes: bool) -> None:
        """When the history stops, and for some regular patients an episode (R6: 14 days, then 3 months)."""
        today, rng = self.today, self.rng
        risk, psychotic = p.risk, p.psychotic
        stable = p.condition(risk, psychotic) == "稳定"
        p.until = {
            "lost": today - self.days(152, 200),
            "missing": today - self.days(120, 300),
            "overdue": today - (self.days(101, 190) if stable else self.days(21, 60)),
            "stopped": today - (self.days(5, 60) if p.status == "住院" else self.days(60, 300)),
        }.get(p.story)
        if not episodes or p.story != "regular":
            return
        if not stable and rng.random() < 0.5:  # became worse recently; stable before
            p.phases = [(date.min, 0 if risk <= 2 else int(rng.integers(1, 3)), False),
                        (today - self.days(30, 150), risk, psychotic)]
        elif stable and rng.random() < 0.15:  # a past 基本稳定 stretch
            onset = today - self.days(200, 320)
            p.phases = [(date.min, 0, False), (onset, 1, False), (onset + self.days(30, 80), risk, psychotic)]

    def history(self, p: _Patient) -> None:
        """R6 intervals, R9 retries, R10 tails; the ledger's risk and condition follow the last visit."""
        if p.story != "none":
            window = add_months(self.today, -HISTORY_MONTHS)
            start = (p.registered_on + self.days(3, 20) if p.registered_on > window
                     else window + self.days(0, 80))
            t = self.walk(p, start, p.until or self.today)
            tail = {"lost": (0, int(self.rng.integers(10, 17)), int(self.rng.integers(36, 51))),
                    "missing": (0, int(self.rng.integers(10, 21)))}.get(p.story, ())
            for offset in tail:
                if t + timedelta(days=offset) < self.today:
                    self.visit(p, t + timedelta(days=offset), reached=False)
        reached = [v for v in p.visits if v[2]]
        if reached:
            p.risk, p.psychotic = p.state(reached[-1][0].date())

    def walk(self, p: _Patient, t: date, end: date) -> date:
        misses = 0
        fail_p = 0.12 if p.lonlat else 0.06
        while t <= end:
            if misses < 2 and self.rng.random() < fail_p:
                self.visit(p, t, reached=False)
                misses += 1
                t += self.days(2, 10)  # R9: retried within 14 days
                continue
            misses = 0
            risk, psychotic = p.state(t)
            condition = p.condition(risk, psychotic)
            recorded = [v[4] for v in p.visits if v[4] is not None]
            assess = not recorded or recorded[-1] != risk or self.rng.random() < 0.15
            self.visit(p, t, reached=True, condition=condition, risk=risk if assess else None)
            t += self.days(75, 88) if condition == "稳定" else self.days(9, 14)  # R6
        return t

    def visit(self, p: _Patient, on: date, *, reached: bool, condition: str = "",
              risk: int | None = None) -> None:
        rng = self.rng
        at = datetime.combine(on, time(int(rng.integers(8, 18)), int(rng.integers(60))))
        face = 0.05 if p.lonlat else 0.3 if not reached else 0.75 if condition == "不稳定" else 0.55
        method = "面访" if rng.random() < face else "电话"
        medication = str(rng.choice(_MEDICATION, p=_MEDICATION_P[condition])) if reached else ""
        p.visits.append((at, method, reached, condition, risk, medication))


# --- the whole cast -----------------------------------------------------------------------


def _random_home(cast: _Cast, grid: str | None = None, village: str | None = None) -> int:
    homes = cast.homes
    if grid is None and village is None:
        return int(np.searchsorted(cast.cdf, cast.rng.random(), side="right"))
    pool = np.flatnonzero(homes.grids == grid if grid else homes.villages == village)
    return int(pool[cast.rng.integers(len(pool))])


def _cast_member(cast: _Cast, where: str, kind: str) -> list[_Patient]:
    """One patient of the fixed cast (two for `siblings`)."""
    homes, today = cast.homes, cast.today
    grid = {"a": homes.grid_a, "b": homes.grid_b, "outside": homes.grid_a}.get(where)
    p = cast.patient(_random_home(cast, grid=grid, village=None if grid else homes.neighbour))
    p.status, p.consent, p.story = "在管", "同意", "regular"
    p.resident_since = today - cast.days(800, 4000)
    cast.at_home(p)
    if kind in ("elderly_guardian", "siblings", "guardian_unable", "stable") or p.guardian is None:
        age = max(rules.age_on(p.born, today), 48 if kind == "elderly_guardian" else 20)
        p.born = cast.born(age if kind == "elderly_guardian" else min(age, 38))
        p.id_number = cast.id_number(p.born, p.sex)
        p.registered_on = max(p.registered_on, p.born + timedelta(days=16 * 365))
        p.guardian, p.relation = cast.guardian(p, relation="parent")
    for name, value in _CAST_FIELDS.get(kind, {}).items():
        setattr(p, name, value)
    if kind in ("lost", "missing", "overdue", "in_hospital"):
        p.registered_on = min(p.registered_on, today - cast.days(450, 900))
    if kind == "newcomer":
        p.resident_since = today - cast.days(20, 60)
        cast.registered_elsewhere(p)
    elif kind in ("six_months", "six_months_less_a_day"):  # R16: exactly six months is not floating
        p.resident_since = _six_months_before(today) + timedelta(days=kind != "six_months")
    elif kind == "guardian_unable":
        p.guardian.unable = True
    elif kind == "no_guardian":
        p.guardian, p.relation = None, ""
    elif kind == "outside":
        cast.lives_outside(p)
    elif kind == "siblings":
        s = cast.sibling(p, same_household=True)
        s.status, s.consent, s.story = "在管", "同意", "regular"
        return [p, s]
    return [p]


def _six_months_before(today: date) -> date:
    """The last day one could move in and have lived six calendar months by today (R16):
    31 Dec counts as six months before 30 Jun, since 31 Dec + 6 months is 30 Jun."""
    day = add_months(today, -6)
    while add_months(day + timedelta(days=1), 6) <= today:
        day += timedelta(days=1)
    return day


def _everyone(cast: _Cast, total: int) -> list[_Patient]:
    """The fixed cast, then random patients (1 in 25 with a parent as guardian has a sibling)."""
    patients = [p for where, kind in _CAST for p in _cast_member(cast, where, kind)]
    for p in patients:
        cast.finish(p, episodes=False)
    while len(patients) < total:
        p = cast.patient(_random_home(cast))
        cast.finish(p, episodes=True)
        patients.append(p)
        if p.relation in ("父亲", "母亲") and cast.rng.random() < 0.04 and len(patients) < total:
            s = cast.sibling(p, same_household=cast.rng.random() < 0.75)
            cast.finish(s, episodes=True)
            patients.append(s)
    for p in patients:
        cast.history(p)
    # 档案编号 grow with the registration date, as in the national system.
    order = sorted(range(len(patients)), key=lambda i: (patients[i].registered_on, i))
    for n, i in enumerate(order, start=1):
        patients[i].no = f"{PATIENT_PREFIX}{n:06d}"
    return [patients[i] for i in order]


def _yes(flag: bool) -> str:
    return "是" if flag else "否"


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def _ledger_row(p: _Patient, homes: DemoHomes, rng) -> dict:
    lon = lat = ""
    if p.lonlat or not p.by_code:  # next to the household: a few metres off, same micro-grid
        point = p.lonlat or homes.lonlat[p.home] + rng.uniform(-2.5e-5, 2.5e-5, 2)
        lon, lat = f"{point[0]:.7f}", f"{point[1]:.7f}"
    assessed = [v[0].date() for v in p.visits if v[4] is not None]
    reached = [v for v in p.visits if v[2]]
    g = p.guardian
    return {
        "patient_no": p.no, "name": p.name, "id_number": p.id_number, "sex": "男" if p.sex == "M" else "女",
        "birth_date": _iso(p.born), "diagnosis": p.diagnosis, "registered_on": _iso(p.registered_on),
        "residence_address": p.address,
        "household_code": str(homes.codes[p.home]) if p.by_code and not p.lonlat else "",
        "residence_lon": lon, "residence_lat": lat, "resident_since": _iso(p.resident_since),
        "registration_address": p.registration_address, "registration_code": p.registration_code,
        "risk_level": str(p.risk), "risk_assessed_on": _iso(assessed[-1] if assessed else p.registered_on),
        "condition": reached[-1][3] if reached else p.condition(p.risk, p.psychotic),
        "consent": p.consent, "management_status": p.status,
        "guardian_name": g.name if g else "", "guardian_id_number": g.id_number if g else "",
        "guardian_phone": g.phone if g else "", "guardian_relation": p.relation,
        "guardian_birth_date": _iso(g.born) if g else "", "guardian_unable": _yes(g.unable) if g else "",
        "prior_incidents": ";".join(p.incidents), "admissions_past_year": str(p.admissions),
        "psychotic_symptoms": _yes(p.psychotic), "violent_tendency": _yes(p.violent),
    }


def _followup_rows(p: _Patient) -> list[dict]:
    return [{"patient_no": p.no, "followed_at": f"{at:%Y-%m-%d %H:%M}", "method": method,
             "reached": _yes(reached), "condition": condition,
             "risk_level": "" if risk is None else str(risk), "medication": medication}
            for at, method, reached, condition, risk, medication in p.visits]


def _write(rows: list[dict], columns: dict[str, str], path: Path) -> None:
    frame = pd.DataFrame(rows, columns=list(columns)).rename(columns=columns)
    frame.to_csv(path, index=False, lineterminator="\n")


def demo_patients_write(*, micro: list, households: pd.DataFrame, personas: dict, ledger: Path,
                        followups: Path, seed: int, today: date) -> int:
    """Write the ledger (§3) and follow-up (§4) CSVs for PATIENT_SHARE of the residents
    (at least the fixed cast); returns the number of patients. The arguments are
    demo.county's micro-grids, household table and persona units (see demo_homes)."""
    homes = demo_homes(micro=micro, households=households, personas=personas)
    cast = _Cast(homes, seed, today)
    patients = _everyone(cast, round(PATIENT_SHARE * int(homes.residents.sum())))
    _write([_ledger_row(p, homes, cast.rng) for p in patients], PATIENT_COLUMNS, ledger)
    _write([row for p in patients for row in _followup_rows(p)], FOLLOWUP_COLUMNS, followups)
    return len(patients)


# --- after and around the imports ---------------------------------------------------------


def demo_patients_prune(*, ledger: Path, followups: Path) -> int:
    """Delete imported history of demo patients that the new files no longer hold.

    The histories are dated back from `today`: a load on a later day writes
    other dates, and the importers (which add by date) would keep both.
    Follow-ups recorded in the app (recorded_by set) and form assessments stay.
    Returns the number of rows deleted.
    """
    visits = read_table(followups)
    keep = set(zip(visits[FOLLOWUP_COLUMNS["patient_no"]], visits[FOLLOWUP_COLUMNS["followed_at"]],
                   visits[FOLLOWUP_COLUMNS["method"]], strict=True))
    stale = [pk for pk, no, at, method in FollowUp.objects.filter(
        patient__patient_no__startswith=PATIENT_PREFIX, recorded_by__isnull=True,
    ).values_list("id", "patient__patient_no", "followed_at", "method")
        if (no, f"{at.astimezone(local_zone()):%Y-%m-%d %H:%M}", method) not in keep]
    rows = read_table(ledger)
    assessed = set(zip(rows[PATIENT_COLUMNS["patient_no"]], rows[PATIENT_COLUMNS["risk_assessed_on"]],
                       ["ledger"] * len(rows), strict=True))
    assessed |= {(no, at[:10], "follow_up") for no, at, _, risk in zip(
        *(visits[FOLLOWUP_COLUMNS[c]] for c in ("patient_no", "followed_at", "method", "risk_level")),
        strict=True) if risk}
    old = [pk for pk, no, on, source in RiskAssessment.objects.filter(
        patient__patient_no__startswith=PATIENT_PREFIX, source__in=("ledger", "follow_up"),
    ).values_list("id", "patient__patient_no", "assessed_on", "source")
        if (no, on.isoformat(), source) not in assessed]
    return (FollowUp.objects.filter(id__in=stale).delete()[0]
            + RiskAssessment.objects.filter(id__in=old).delete()[0])


def demo_patients_extras(*, seed: int, today: date) -> None:
    """R11 search files for a few lost patients, R20 overrides for a few in a neighbouring village.

    Made with the ORM after the imports (no file format carries them); the
    demo's own search actions are replaced on every load.
    """
    rng = np.random.default_rng([seed, 2])
    units = {a.user.username: a for a in StaffAssignment.objects.select_related("user", "unit").filter(
        user__username__in=("township_office", "village_committee", "village_doctor", "liaison_leader"))}
    if len(units) < 4:
        return
    township, village = units["township_office"].unit, units["village_doctor"].unit
    demo = Patient.objects.filter(patient_no__startswith=PATIENT_PREFIX)
    LostSearch.objects.filter(patient__in=demo, action__in=_SEARCH_ACTIONS).delete()
    lost = sorted(demo.filter(key_groups__contains=["lost"]),
                  key=lambda p: (p.township_id != township.id, p.patient_no))[:LOST_FILES]
    searches = []
    for p in lost:
        count = int(rng.integers(1, 4))
        for k, action in enumerate(rng.choice(_SEARCH_ACTIONS, size=count, replace=False)):
            searches.append(LostSearch(patient=p, searched_on=today - timedelta(days=int(40 - 12 * k)),
                                       action=str(action), recorded_by=units["township_office"].user))
    LostSearch.objects.bulk_create(searches)
    # The staff village's team also serves a few patients of a neighbouring village.
    neighbours = demo.filter(township=township).exclude(village=village).exclude(
        status__in=("死亡", "出库")).order_by("patient_no")[:3]
    roles = (("village_doctor", "village_committee", "liaison_leader"), ("village_doctor",),
             ("village_committee",))
    for p, names in zip(neighbours, roles, strict=False):
        for name in names:
            TeamOverride.objects.update_or_create(patient=p, role=units[name].role,
                                                  defaults={"user": units[name].user})


def demo_patients_clear() -> None:
    """Delete the demo patients (their history goes with them) and their guardians."""
    demo = Patient.objects.filter(patient_no__startswith=PATIENT_PREFIX)
    guardians = list(demo.exclude(guardian=None).values_list("guardian_id", flat=True))
    demo.delete()
    Guardian.objects.filter(id__in=guardians, patients=None).delete()


def demo_patients_summary() -> dict:
    demo = Patient.objects.filter(patient_no__startswith=PATIENT_PREFIX)
    groups = Counter(g for row in demo.values_list("key_groups", flat=True) for g in row)
    return {
        "count": demo.count(),
        "key_groups": {g: groups[g] for g in rules.KeyGroup.values},
        "outside": demo.filter(outside=True).count(),
        "followups": FollowUp.objects.filter(patient__in=demo).count(),
        "team_overrides": TeamOverride.objects.filter(patient__in=demo).count(),
        "lost_searches": LostSearch.objects.filter(patient__in=demo).count(),
    }
