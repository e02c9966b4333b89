"""Downloaded tables keep text as text (probe finding 5: an address "=HYPERLINK(…)" came out
as a live formula in the XLSX ledgers; CSV likewise)."""

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook

from geodata.writers import Sheet, write_table

EVIL = ['=HYPERLINK("http://evil.example","点我")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)",
        "\tTAB", "西淮坝村1号"]
HEADERS = {"address": ("地址", "address"), "n": ("数", "n")}


def sheet() -> Sheet:
    return Sheet("t", ["address", "n"], HEADERS, [[text, -3] for text in EVIL])


def test_xlsx_cells_that_look_like_formulas_are_text():
    book = load_workbook(io.BytesIO(write_table([sheet()], fmt="xlsx", lang="zh")))
    cells = list(book["t"].iter_rows(min_row=2, values_only=False))
    assert [row[0].value for row in cells] == EVIL  # the text itself, unchanged
    assert {row[0].data_type for row in cells} == {"s"}  # never "f" (formula)
    assert {row[1].value for row in cells} == {-3}  # numbers stay numbers


def test_csv_cells_that_look_like_formulas_are_quoted():
    text = write_table([sheet()], fmt="csv", lang="en").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))[1:]
    assert [r[0] for r in rows[:5]] == ["'" + e for e in EVIL[:5]]
    assert rows[5][0] == "西淮坝村1号" and rows[0][1] == "-3"


@pytest.mark.django_db
def test_a_formula_entered_as_an_address_leaves_the_ledger_as_text(register):
    from cases.patients.ledgers import ledger_export
    from cases.patients.models import Patient
    from gridmap.models import User

    Patient.objects.filter(patient_no="P01").update(residence_address=EVIL[0])
    data = ledger_export("followups-due", user=User.objects.get(username="health"),
                         as_of=date(2026, 6, 30), fmt="xlsx", purpose="report")
    book = load_workbook(io.BytesIO(data))
    cells = [c for row in book.active.iter_rows() for c in row if c.value == EVIL[0]]
    assert cells and all(c.data_type == "s" for c in cells)
