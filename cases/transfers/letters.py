"""R26: the written letter (书面函告) a county office sends when a patient flows out
to another province, drafted as a DOCX filled with the transfer's data.

Which province a point lies in comes from `cases/transfers/data/provinces.geojson`
(simplified province outlines; see the README beside it): a coarse answer is enough
to know whether a letter is needed, and it is one point at a time.
"""

import io
import json
from functools import lru_cache
from pathlib import Path

import shapely
from django.utils import timezone
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH

from cases.transfers.models import Transfer

PROVINCES = Path(__file__).resolve().parent / "data" / "provinces.geojson"


@lru_cache(maxsize=1)
def _provinces() -> list[tuple[str, str, object]]:
    data = json.loads(PROVINCES.read_text(encoding="utf-8"))
    out = []
    for feature in data["features"]:
        geom = shapely.geometry.shape(feature["geometry"])
        shapely.prepare(geom)
        out.append((feature["properties"]["code"], feature["properties"]["name"], geom))
    return out


def province_of(lon: float, lat: float) -> tuple[str, str] | None:
    """(GB/T 2260 code, name) of the province containing the point, or None."""
    point = shapely.Point(lon, lat)
    for code, name, geom in _provinces():
        if geom.covers(point):
            return code, name
    return None


def origin_province(transfer: Transfer) -> str | None:
    """The origin's province code: the first two digits of its county's code (GB/T 2260)."""
    county = transfer.from_unit.county if transfer.from_unit_id and transfer.from_unit.county_id else None
    return (county.code[:2] + "0000") if county is not None else None


def needs_letter(transfer: Transfer) -> tuple[str, str] | None:
    """R26: the destination province when an outflow leaves the origin's province."""
    if transfer.kind != "outside" or transfer.to_point is None:
        return None
    destination = province_of(transfer.to_point.x, transfer.to_point.y)
    if destination is None or destination[0] == origin_province(transfer):
        return None
    return destination


def outflow_letter(transfer: Transfer) -> bytes:
    """The drafted letter as DOCX bytes; the county office reviews, signs and seals it."""
    destination = needs_letter(transfer)
    if destination is None:
        raise ValueError("no letter: this move does not leave the province")
    patient, county = transfer.patient, transfer.from_unit.county
    guardian = patient.guardian
    doc = Document()
    title = doc.add_heading("关于严重精神障碍患者流出的函", level=1)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_paragraph(f"{destination[1]}严重精神障碍管理治疗工作办公室：")
    doc.add_paragraph(
        f"我县登记管理的严重精神障碍患者{patient.name}已于"
        f"{timezone.localtime(transfer.detected_at):%Y年%m月%d日}前后离开本县，现居住于贵省辖区"
        f"（{transfer.to_address or '具体地址待核实'}）。根据严重精神障碍患者管理治疗工作规范，"
        "现将患者基本信息函告如下，请协助落实属地管理和随访服务，并将接收情况回复我办。")
    rows = [
        ("档案编号", patient.patient_no), ("姓名", patient.name),
        ("性别", patient.get_sex_display()), ("出生日期", f"{patient.birth_date or ''}"),
        ("身份证号", patient.id_number), ("诊断", patient.diagnosis),
        ("危险性评估等级", "" if patient.risk_level is None else str(patient.risk_level)),
        ("病情", patient.condition), ("原住址", patient.residence_address),
        ("现住址", transfer.to_address), ("户籍地址", patient.registration_address),
        ("监护人", guardian.name if guardian else "无"),
        ("监护人电话", guardian.phone if guardian else ""),
        ("原管理单位", f"{transfer.from_unit.name}（{transfer.from_unit.code}）"),
    ]
    table = doc.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, value in rows:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = label, value or ""
    doc.add_paragraph("")
    doc.add_paragraph("联系人：                    联系电话：")
    closing = doc.add_paragraph(f"{county.name}严重精神障碍管理治疗工作办公室（盖章）\n"
                                f"{timezone.localdate():%Y年%m月%d日}")
    closing.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
