"""The moves export (export_transfers): every move in a user's scope with its deadlines and
whether each was met (R24); every export is logged (R35)."""

from django.utils import timezone

from cases.patients.ledgers import Ledger, Operator, ledger_write
from cases.patients.selectors import patients_visible_to
from cases.transfers.models import Transfer
from geodata.writers import Sheet
from gridmap import access
from gridmap.models import GridUnit

TRANSFER_HEADERS = {
    "patient_no": ("档案编号", "patient_no"), "kind": ("流转类型", "kind"),
    "from_code": ("原微网格编码", "from_code"), "to_code": ("现微网格编码", "to_code"),
    "state": ("状态", "state"), "detected_at": ("发现时间", "detected_at"),
    "report_by": ("报告时限", "report_by"), "report_met": ("按时报告", "report_met"),
    "exchange_by": ("交换时限", "exchange_by"), "exchange_met": ("按时交换", "exchange_met"),
    "accept_by": ("接收时限", "accept_by"), "accept_met": ("按时接收", "accept_met"),
}


def deadline_met(done_at, due_at, now) -> str:
    """"yes"/"no" once decided, "" while the step is pending and not yet late (R24)."""
    if due_at is None:
        return ""
    if done_at is not None:
        return "yes" if done_at <= due_at else "no"
    return "no" if now > due_at else ""


def transfers_export(*, user=None, unit: GridUnit | None = None, fmt: str = "csv", lang: str = "zh",
                     purpose: str, reason: str = "") -> bytes:
    """Every move of the patients in the user's scope, with its deadlines and whether each
    was met; logged (R35)."""
    transfers = Transfer.objects.select_related("patient", "from_unit", "to_unit").order_by("detected_at")
    if user is not None:
        transfers = transfers.filter(patient__in=patients_visible_to(user))
    if unit is not None:
        transfers = transfers.under_any([unit])
    now = timezone.now()

    def local(moment) -> str:
        return "" if moment is None else timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")

    sheet = Sheet("流转" if lang == "zh" else "transfers", list(TRANSFER_HEADERS), TRANSFER_HEADERS)
    for t in transfers:
        sheet.rows.append([
            t.patient.patient_no, t.kind, t.from_unit.code if t.from_unit_id else "",
            t.to_unit.code if t.to_unit_id else "", t.state, local(t.detected_at),
            local(t.report_by), deadline_met(t.reported_at, t.report_by, now),
            local(t.exchange_by), deadline_met(t.exchanged_at, t.exchange_by, now),
            local(t.accept_by), deadline_met(t.accepted_at, t.accept_by, now),
        ])
    ledger = Ledger("transfers", lang, [sheet], sorted({t.patient_id for t in transfers}))
    data = ledger_write(ledger, fmt)
    access.log(user=user or Operator(), action="export", purpose=purpose, patient_ids=ledger.patient_ids,
               reason=reason, query={"ledger": "transfers", "unit": unit.code if unit else None,
                                     "format": fmt})
    return data
