"""Generated ledger rows and files for the patient tests (no real person's data)."""

import csv
from datetime import date

from cases.patients.rules import id_check_digit


def id_number(born: date, sex: str = "M", *, region: str = "610727", seq: int = 1) -> str:
    """A well-formed GB 11643 number (R3) for a generated person."""
    sex_digit = seq * 2 % 10 + (1 if sex == "M" else 0)  # odd = 男
    first17 = f"{region}{born:%Y%m%d}{seq % 100:02d}{sex_digit}"
    return first17 + id_check_digit(first17)


def patient(no: str, **fields) -> dict:
    """A valid ledger row living in micro-grid 1 of the small grid, with overrides."""
    row = {
        "patient_no": no, "name": f"患者{no}", "id_number": id_number(date(1980, 5, 17), seq=int(no[-2:])),
        "diagnosis": "精神分裂症", "registered_on": "2020-03-01",
        "residence_address": f"西淮坝村{no}号", "residence_lon": "106.05", "residence_lat": "33.05",
        "resident_since": "2015-01-01", "risk_level": "0", "risk_assessed_on": "2026-01-10",
        "condition": "稳定", "consent": "同意", "management_status": "在管",
        "guardian_name": f"监护人{no}",
        "guardian_id_number": id_number(date(1975, 2, 3), "F", seq=50 + int(no[-2:])),
    }
    row.update(fields)
    return row


CHINESE = {
    "patient_no": "档案编号", "name": "姓名", "id_number": "身份证号", "sex": "性别",
    "birth_date": "出生日期", "diagnosis": "诊断", "registered_on": "建档日期",
    "residence_address": "现住址", "household_code": "标准地址编码", "residence_lon": "现住址经度",
    "residence_lat": "现住址纬度", "resident_since": "现住址居住起始日期",
    "registration_code": "户籍地编码", "risk_level": "危险性评估等级", "risk_assessed_on": "危险性评估日期",
    "condition": "病情", "consent": "知情同意", "management_status": "管理状态",
    "guardian_name": "监护人姓名", "guardian_id_number": "监护人身份证号",
    "guardian_birth_date": "监护人出生日期", "guardian_unable": "监护人因躯体疾病无法履职",
    "prior_incidents": "既往肇事肇祸", "admissions_past_year": "近一年住院次数",
    "psychotic_symptoms": "幻觉妄想", "violent_tendency": "伤人毁物行为或倾向",
}


def write_table(path, rows: list[dict], *, chinese: bool = False, encoding: str = "utf-8"):
    """Rows to CSV or XLSX (by suffix); headers in English or Chinese."""
    columns = list(dict.fromkeys(c for row in rows for c in row))
    headers = [CHINESE.get(c, c) if chinese else c for c in columns]
    if path.suffix == ".xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.append(headers)
        for row in rows:
            sheet.append([row.get(c, "") for c in columns])
        book.save(path)
        return path
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        writer.writerows([row.get(c, "") for c in columns] for row in rows)
    return path


def followup(no: str, at: str, *, method="电话", reached="是", condition="稳定", **fields) -> dict:
    return {"patient_no": no, "followed_at": at, "method": method, "reached": reached,
            "condition": condition if reached == "是" else "", **fields}
