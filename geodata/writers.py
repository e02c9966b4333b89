"""Writing the tables users download (ledgers 台账 and exports): CSV in UTF-8 with a BOM,
so that Excel opens Chinese text, or XLSX with one worksheet per sheet; headers in
Chinese or English. Text is always written as text: a cell that a spreadsheet would take
for a formula (=, +, -, @) is never one."""

import csv
import io
from dataclasses import dataclass, field

from openpyxl import Workbook

FORMATS = ("csv", "xlsx")
# A cell starting with one of these is taken for a formula by spreadsheets (CSV/formula
# injection, OWASP): an address "=HYPERLINK(…)" must stay text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _is_formula_like(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def _csv_cell(value):
    """A CSV cell: blank for None; text that looks like a formula is quoted with an apostrophe."""
    if value is None:
        return ""
    return "'" + value if _is_formula_like(value) else value


@dataclass
class Sheet:
    """One table: its column keys, their headers and its rows."""

    title: str
    columns: list[str]
    headers: dict[str, tuple[str, str]]  # column key -> (中文, English)
    rows: list[list] = field(default_factory=list)

    def header(self, lang: str) -> list[str]:
        return [self.headers[c][0 if lang == "zh" else 1] for c in self.columns]


def write_table(sheets: list[Sheet], *, fmt: str, lang: str) -> bytes:
    """CSV (the first sheet's rows) or XLSX (every sheet), with headers in `lang` (zh, en)."""
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        sheet = sheets[0]
        writer.writerow(sheet.header(lang))
        writer.writerows([_csv_cell(v) for v in row] for row in sheet.rows)
        return ("\ufeff" + buffer.getvalue()).encode("utf-8")
    if fmt != "xlsx":
        raise ValueError(f"unknown format {fmt!r}: {' or '.join(FORMATS)}")
    book = Workbook()
    book.remove(book.active)
    for sheet in sheets:
        ws = book.create_sheet(sheet.title[:31])
        ws.append(sheet.header(lang))
        for row in sheet.rows:
            ws.append(row)
            for cell, value in zip(ws[ws.max_row], row, strict=False):
                if _is_formula_like(value):  # text, never a formula
                    cell.value, cell.data_type = value, "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
