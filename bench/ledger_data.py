"""Deterministic patient ledgers and follow-up files for the generated grid (formats.md §3, §4).

    python -m bench.ledger_data [--scale county|province] [--followups N]

Needs the scale's households (bench.generate writes them). Patients live
mostly at a generated household (标准地址编码 only; a few also give the
household's coordinates), the rest at a point given by longitude/latitude;
a few lie outside every unit, half by coordinates, half at one of the
generated outside households. Values follow the rules: ID numbers are valid
(GB 11643 check digit, birth date and sex agree), guardians are sometimes
shared, some households have two patients, statuses, risk levels, incidents
and follow-up histories are mixed so that every key group occurs.

Dates are chosen so that no two risk assessments of one patient fall on the
same day: follow-ups are on odd days before AS_OF, ledger assessments on even
days. The checks can then say which assessment is the latest without a tie rule.
"""

import argparse
import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from bench.generate import DATA_DIR, all_levels, paths

AS_OF = date(2026, 11, 20)  # the import date passed to the importers
LEDGERS = {
    "county": {"counties": 1, "patients": 3_500, "followups": 40_000, "outside": 10},
    "province": {"counties": 12, "patients": 200_000, "followups": 2_000_000, "outside": 40},
}
# formats.md §3 and §4 headers.
PATIENT_HEADERS = {
    "patient_no": "档案编号", "name": "姓名", "id_number": "身份证号", "sex": "性别",
    "birth_date": "出生日期", "diagnosis": "诊断", "registered_on": "建档日期",
    "residence_address": "现住址", "household_code": "标准地址编码",
    "residence_lon": "现住址经度", "residence_lat": "现住址纬度",
    "resident_since": "现住址居住起始日期", "registration_address": "户籍地址",
    "registration_code": "户籍地编码", "risk_level": "危险性评估等级",
    "risk_assessed_on": "危险性评估日期", "condition": "病情", "consent": "知情同意",
    "management_status": "管理状态", "guardian_name": "监护人姓名",
    "guardian_id_number": "监护人身份证号", "guardian_phone": "监护人电话",
    "guardian_relation": "与患者关系", "guardian_birth_date": "监护人出生日期",
    "guardian_unable": "监护人因躯体疾病无法履职", "prior_incidents": "既往肇事肇祸",
    "admissions_past_year": "近一年住院次数", "psychotic_symptoms": "幻觉妄想",
    "violent_tendency": "伤人毁物行为或倾向",
}
FOLLOWUP_HEADERS = {
    "patient_no": "档案编号", "followed_at": "随访时间", "method": "随访方式", "reached": "是否随访到",
    "condition": "病情", "risk_level": "危险性评估等级", "medication": "服药情况",
}
DIAGNOSES = ["精神分裂症", "分裂情感性障碍", "偏执性精神病", "双相（情感）障碍", "双相情感障碍",
             "癫痫所致精神障碍", "精神发育迟滞伴发精神障碍"]  # one alias (R1)
DIAGNOSIS_P = [0.62, 0.05, 0.05, 0.08, 0.04, 0.06, 0.10]
STATUSES = ["在管", "失访", "非在管", "住院", "死亡", "出库"]
STATUS_P = [0.86, 0.03, 0.03, 0.03, 0.03, 0.02]
FOLLOWUP_WEIGHT = {"在管": 1.0, "失访": 0.5, "非在管": 0.3, "住院": 0.6, "死亡": 0.2, "出库": 0.2}
CONDITIONS = np.array(["稳定", "基本稳定", "不稳定"])
INCIDENTS = ["故意杀人", "故意伤害", "强奸", "抢劫", "爆炸", "放火", "决水", "投放危险物质",
             "以危险方法危害公共安全", "故意损坏财物"]
RELATIONS = ["父亲", "母亲", "配偶", "子女", "兄弟姐妹", "其他亲属"]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国志红梅文斌")
OTHER_REGIONS = ["610102", "610402", "510104", "410105", "420106", "500103"]
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = np.array(list("10X98765432"))


def ledger_paths(scale: str) -> dict[str, Path]:
    return {
        "patients": DATA_DIR / f"{scale}_patients.csv",
        "moved": DATA_DIR / f"{scale}_patients_moved.csv",
        "followups": DATA_DIR / f"{scale}_followups.csv",
        "manifest": DATA_DIR / f"{scale}_ledger.json",
    }


def _days(start: date, offsets: np.ndarray) -> np.ndarray:
    """'YYYY-MM-DD' strings of start + offsets (days)."""
    return np.datetime_as_string(np.datetime64(start, "D") + offsets.astype("timedelta64[D]"))


def _names(rng: np.random.Generator, n: int) -> np.ndarray:
    surname = np.array(SURNAMES)[rng.integers(0, len(SURNAMES), n)]
    first = np.array(GIVEN)[rng.integers(0, len(GIVEN), n)]
    second = np.where(rng.random(n) < 0.6, np.array(GIVEN)[rng.integers(0, len(GIVEN), n)], "")
    return np.char.add(np.char.add(surname, first), second)


def id_numbers(rng: np.random.Generator, regions: np.ndarray, born: np.ndarray,
               male: np.ndarray) -> np.ndarray:
    """Distinct GB 11643 numbers: region (6 digits), birth date, sequence, sex digit, check."""
    n = len(regions)
    birth = np.char.replace(born.astype(str), "-", "")
    seq = rng.integers(0, 100, n)
    while True:
        sex_digit = rng.integers(0, 5, n) * 2 + male.astype(int)
        first17 = np.array([f"{r}{b}{s:02d}{d}"
                            for r, b, s, d in zip(regions, birth, seq, sex_digit, strict=True)])
        _, first = np.unique(first17, return_index=True)
        repeated = np.ones(n, bool)
        repeated[first] = False  # every later copy of a number is drawn again
        if not repeated.any():
            break
        seq = np.where(repeated, rng.integers(0, 100, n), seq)
    digits = np.frombuffer("".join(first17).encode(), dtype=np.uint8).reshape(n, 17) - ord("0")
    return np.char.add(first17, ID_CHECK[(digits @ ID_WEIGHTS) % 11])


def _pick(rng, values, p, n):
    return np.array(values, dtype=object)[rng.choice(len(values), n, p=p)]


def _residences(rng, n: int, spec: dict, households: pd.DataFrame, outside_codes: list[str],
                bounds: tuple[float, float, float, float]) -> pd.DataFrame:
    """household_code / lon / lat / address of each patient, and its kind."""
    kinds = _pick(rng, ["household", "household+coords", "coords"], [0.75, 0.05, 0.20], n)
    n_out = spec["outside"]
    out_rows = rng.choice(n, n_out, replace=False)
    kinds[out_rows[: n_out // 2]] = "outside coords"
    kinds[out_rows[n_out // 2:]] = "outside household"
    regular = households[~households["code"].isin(outside_codes)].reset_index(drop=True)
    home = rng.integers(0, len(regular), n)
    # About 3 % of the patients at a household live with another patient (R15).
    with_home = np.flatnonzero(np.isin(kinds, ["household", "household+coords"]))
    sharing = rng.choice(with_home, int(len(with_home) * 0.03), replace=False)
    home[sharing] = home[rng.choice(with_home, len(sharing))]
    frame = pd.DataFrame({
        "household_code": regular["code"].to_numpy()[home],
        "residence_address": regular["address"].to_numpy()[home],
        "residence_lon": regular["lon"].to_numpy()[home],
        "residence_lat": regular["lat"].to_numpy()[home],
        "kind": kinds,
    })
    lon0, lat0, lon1, lat1 = bounds
    coords = kinds == "coords"
    frame.loc[coords, "residence_lon"] = rng.uniform(lon0, lon1, coords.sum())
    frame.loc[coords, "residence_lat"] = rng.uniform(lat0, lat1, coords.sum())
    out = kinds == "outside coords"
    frame.loc[out, "residence_lon"] = rng.uniform(100, 101, out.sum())  # inside China, outside the area
    frame.loc[out, "residence_lat"] = rng.uniform(30, 31, out.sum())
    out_home = np.flatnonzero(kinds == "outside household")
    frame.loc[out_home, "household_code"] = [outside_codes[i % len(outside_codes)]
                                            for i in range(len(out_home))]
    no_home = np.isin(kinds, ["coords", "outside coords"])
    frame.loc[no_home, "household_code"] = ""
    frame.loc[no_home, "residence_address"] = [f"{i % 40 + 1}组{i % 97 + 1}号"
                                               for i in range(no_home.sum())]
    no_coords = np.isin(kinds, ["household", "outside household"])
    frame["residence_lon"] = frame["residence_lon"].astype(object)
    frame["residence_lat"] = frame["residence_lat"].astype(object)
    frame.loc[no_coords, ["residence_lon", "residence_lat"]] = ""
    return frame


def _guardians(rng, n: int, patient_no: np.ndarray, ids: np.ndarray, born: np.ndarray) -> pd.DataFrame:
    """Guardian columns: 4 % none, 3 % without ID number, 4 % shared with another patient."""
    frame = pd.DataFrame({
        "guardian_name": _names(rng, n),
        "guardian_id_number": ids,
        "guardian_phone": [f"1{p}" for p in rng.integers(3_000_000_000, 9_999_999_999, n)],
        "guardian_relation": _pick(rng, RELATIONS, None, n),
        "guardian_birth_date": np.where(rng.random(n) < 0.3, born.astype(str), ""),
        "guardian_unable": np.where(rng.random(n) < 0.03, "是", "否"),
    })
    kind = _pick(rng, ["own", "none", "no id", "shared"], [0.89, 0.04, 0.03, 0.04], n)
    own = np.flatnonzero(kind == "own")
    shared = np.flatnonzero(kind == "shared")
    source = own[rng.integers(0, len(own), len(shared))]
    columns = ["guardian_name", "guardian_id_number", "guardian_phone", "guardian_birth_date",
               "guardian_unable"]
    frame.loc[shared, columns] = frame.loc[source, columns].to_numpy()
    frame.loc[kind == "no id", ["guardian_id_number", "guardian_birth_date"]] = ""
    frame.loc[kind == "none", list(frame.columns)] = ""
    return frame


def patients_frame(rng, spec: dict, households: pd.DataFrame, manifest: dict) -> pd.DataFrame:
    n = spec["patients"]
    levels = all_levels(spec["counties"])
    top, villages = levels[0], levels[2]
    bounds = (top.x0.min(), top.y0.min(), top.x1.max(), top.y1.max())
    # Patients (n) and guardians (n) get distinct ID numbers from one draw.
    counties = np.array([c[:6] for c in top.code])
    regions = np.where(rng.random(2 * n) < 0.9, counties[rng.integers(0, len(counties), 2 * n)],
                       np.array(OTHER_REGIONS)[rng.integers(0, len(OTHER_REGIONS), 2 * n)])
    days_1935 = (date(1935, 1, 1) - date(1970, 1, 1)).days
    born = np.concatenate([
        np.datetime64("1970-01-01") + rng.integers(days_1935 + 3650, days_1935 + 26_000, n)
        .astype("timedelta64[D]"),  # patients born 1945-2006
        np.datetime64("1970-01-01") + rng.integers(days_1935, days_1935 + 22_000, n)
        .astype("timedelta64[D]"),  # guardians born 1935-1995
    ])
    male = rng.random(2 * n) < 0.52
    ids = id_numbers(rng, regions, born, male)
    patient_no = np.array([f"P{i:08d}" for i in range(1, n + 1)])
    risk = rng.choice(6, n, p=[0.55, 0.25, 0.12, 0.05, 0.02, 0.01])
    condition = np.where(risk >= 3, 2, np.where(risk >= 1, 1, 0))
    noisy = rng.random(n) < 0.1
    condition[noisy] = rng.integers(0, 3, noisy.sum())
    dated = rng.random(n) < 0.9
    recent = rng.random(n) < 0.06  # floating (R16): moved in less than six months ago
    since = np.where(recent, rng.integers(5, 170, n), rng.integers(400, 11_000, n))
    incidents = [";".join(rng.choice(INCIDENTS, rng.integers(1, 3), replace=False))
                 if u < 0.03 else "" for u in rng.random(n)]
    registration = villages.code[rng.integers(0, len(villages.code), n)].astype(object)
    elsewhere = rng.random(n)
    registration[elsewhere < 0.08] = [f"{OTHER_REGIONS[i % len(OTHER_REGIONS)]}{i % 900 + 100:03d}001"
                                      for i in range(int((elsewhere < 0.08).sum()))]
    registration[elsewhere > 0.96] = ""
    frame = pd.DataFrame({
        "patient_no": patient_no,
        "name": _names(rng, n),
        "id_number": ids[:n],
        "sex": np.where(rng.random(n) < 0.9, np.where(male[:n], "男", "女"), ""),
        "birth_date": np.where(rng.random(n) < 0.6, born[:n].astype(str), ""),
        "diagnosis": _pick(rng, DIAGNOSES, DIAGNOSIS_P, n),
        "registered_on": _days(AS_OF, -rng.integers(30, 6_000, n)),
    })
    frame = pd.concat([frame, _residences(rng, n, spec, households, manifest["outside"], bounds)], axis=1)
    frame["resident_since"] = np.where(rng.random(n) < 0.97, _days(AS_OF, -since), "")
    frame["registration_address"] = np.where(registration != "",
                                             np.char.add("户籍地", registration.astype(str)), "")
    frame["registration_code"] = registration
    frame["risk_level"] = risk
    frame["risk_assessed_on"] = np.where(dated, _days(AS_OF, -2 * rng.integers(1, 200, n)), "")
    frame["condition"] = CONDITIONS[condition]
    frame["consent"] = _pick(rng, ["同意", "不同意", ""], [0.93, 0.05, 0.02], n)
    frame["management_status"] = _pick(rng, STATUSES, STATUS_P, n)
    frame = pd.concat([frame, _guardians(rng, n, patient_no, ids[n:], born[n:])], axis=1)
    frame["prior_incidents"] = incidents
    frame["admissions_past_year"] = rng.choice(4, n, p=[0.85, 0.11, 0.03, 0.01])
    frame["psychotic_symptoms"] = np.where(rng.random(n) < 0.12, "是", "否")
    frame["violent_tendency"] = np.where(rng.random(n) < 0.05, "是", "否")
    return frame


def followups_frame(rng, patients: pd.DataFrame, total: int) -> pd.DataFrame:
    """`total` follow-ups on distinct odd days since registration (at most two years), most reached."""
    status = patients["management_status"].to_numpy()
    weight = np.array([FOLLOWUP_WEIGHT[s] for s in status])
    registered = (np.datetime64(AS_OF, "D") - patients["registered_on"].to_numpy().astype("datetime64[D]"))
    slots = np.clip(registered.astype(int) // 2, 0, 365)  # odd days since registration
    counts = np.minimum(rng.multinomial(total, weight / weight.sum()), slots)
    spare = np.repeat(np.arange(len(patients)), slots - counts)
    counts += np.bincount(rng.choice(spare, total - counts.sum(), replace=False), minlength=len(counts))
    owner = np.repeat(np.arange(len(patients)), counts)
    slot = np.concatenate([rng.choice(s, k, replace=False) for s, k in zip(slots, counts, strict=True)])
    day = -(2 * slot + 1)  # odd days before AS_OF: never a ledger assessment day
    order = np.lexsort((day, owner))
    owner, day = owner[order], day[order]
    n = len(owner)
    reached = rng.random(n) < np.where(status[owner] == "失访", 0.3, 0.9)
    # About 2 % of the managed patients missed their latest three attempts (R10).
    last = np.cumsum(counts) - 1
    managed = np.flatnonzero((status == "在管") & (counts >= 3))
    missing = rng.choice(managed, int(len(managed) * 0.02), replace=False)
    for k in range(3):
        reached[last[missing] - k] = False
    own_condition = pd.Series(patients["condition"].to_numpy()[owner])
    condition = np.where(rng.random(n) < 0.8, own_condition, CONDITIONS[rng.integers(0, 3, n)])
    risk = patients["risk_level"].to_numpy()[owner] + rng.choice([-1, 0, 0, 1], n)
    timed = rng.random(n) < 0.8
    clock = pd.Series([f" {h:02d}:{m:02d}"
                       for h, m in zip(rng.integers(8, 18, n), rng.integers(0, 60, n), strict=True)])
    frame = pd.DataFrame({
        "patient_no": patients["patient_no"].to_numpy()[owner],
        "followed_at": np.char.add(_days(AS_OF, day), np.where(timed, clock, "").astype(str)),
        "method": np.where(rng.random(n) < 0.4, "面访", "电话"),
        "reached": np.where(reached, "是", "否"),
        "condition": np.where(reached, condition, ""),
        "risk_level": np.where(rng.random(n) < 0.25, np.clip(risk, 0, 5).astype(str), ""),
        "medication": np.where(reached, _pick(rng, ["规律", "间断", "不服药", ""], [0.7, 0.15, 0.05, 0.1], n),
                               ""),
    })
    return frame.iloc[np.argsort(frame["followed_at"].to_numpy(), kind="stable")]


def moved_frame(rng, patients: pd.DataFrame, households: pd.DataFrame, outside: list[str]) -> tuple:
    """The ledger again, 2 % of the patients at a household now at another one, moved in 10 days ago."""
    moved = patients.copy()
    candidates = np.flatnonzero(moved["kind"].to_numpy() == "household")
    picked = rng.choice(candidates, max(1, int(len(candidates) * 0.02)), replace=False)
    regular = households[~households["code"].isin(outside)]
    target = regular.iloc[rng.integers(0, len(regular), len(picked))]
    moved.loc[picked, "household_code"] = target["code"].to_numpy()
    moved.loc[picked, "residence_address"] = target["address"].to_numpy()
    moved.loc[picked, "resident_since"] = (AS_OF - timedelta(days=10)).isoformat()
    return moved, moved["patient_no"].to_numpy()[picked].tolist()


def write_csv(frame: pd.DataFrame, headers: dict, path: Path) -> None:
    frame[list(headers)].rename(columns=headers).to_csv(path, index=False)  # floats round-trip exact


def generate_ledger(scale: str, seed: int = 20240602, followups: int | None = None) -> dict:
    """Write the scale's ledger files (unless there for this seed and size); return their manifest."""
    spec = {**LEDGERS[scale], **({"followups": followups} if followups else {})}
    files = ledger_paths(scale)
    if all(p.exists() for p in files.values()):
        manifest = json.loads(files["manifest"].read_text())
        if (manifest["seed"], manifest["patients"], manifest["followups"]) == (
                seed, spec["patients"], spec["followups"]):
            return manifest
    household_manifest = json.loads(paths(scale)["manifest"].read_text())
    households = pd.read_csv(paths(scale)["households"], dtype={"code": str, "address": str})
    rng = np.random.default_rng(seed)
    patients = patients_frame(rng, spec, households, household_manifest)
    follow = followups_frame(rng, patients, spec["followups"])
    moved, moved_nos = moved_frame(rng, patients, households, household_manifest["outside"])
    write_csv(patients, PATIENT_HEADERS, files["patients"])
    write_csv(moved, PATIENT_HEADERS, files["moved"])
    write_csv(follow, FOLLOWUP_HEADERS, files["followups"])
    kinds = patients["kind"].value_counts().to_dict()
    manifest = {
        "scale": scale, "seed": seed, "as_of": AS_OF.isoformat(),
        "patients": len(patients), "followups": len(follow), "kinds": kinds,
        "outside": patients.loc[patients["kind"].str.startswith("outside"), "patient_no"].tolist(),
        "moved": moved_nos,
    }
    files["manifest"].write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(LEDGERS), default="county")
    parser.add_argument("--followups", type=int)
    args = parser.parse_args()
    manifest = generate_ledger(args.scale, followups=args.followups)
    print(f"{manifest['patients']} patients, {manifest['followups']} follow-ups -> {DATA_DIR}")


if __name__ == "__main__":
    main()
