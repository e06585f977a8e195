"""Any text survives an .xlsx export cell and its import (hypothesis), minus only the
control characters XML cannot hold; the formula guard is applied and undone."""

import io

from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE as OPENPYXL_ILLEGAL

from crm.imports.export import neutralise
from crm.imports.rows import unneutralise
from crm.imports.xlsx import ILLEGAL_CHARACTERS_RE, XlsxTable, cell_text, write_xlsx, xml_text

TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)


def _round_trip(rows: list[list[str]]) -> list[list[str]]:
    stream = io.BytesIO()
    write_xlsx(([neutralise(xml_text(c)) for c in row] for row in rows), stream, sheet="t")
    stream.seek(0)
    return [[unneutralise(c) for c in cells] for _, cells in XlsxTable(stream).rows()]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(TEXT, min_size=1, max_size=4), min_size=1, max_size=4))
def test_any_cell_text_comes_back(rows: list[list[str]]) -> None:
    header = [[f"c{i}" for i in range(max(len(r) for r in rows))]]
    back = _round_trip(header + rows)[1:]
    for sent, got in zip(rows, back, strict=True):
        expected = [xml_text(c) for c in sent]
        assert got[: len(expected)] == expected
        assert not any(got[len(expected) :])


def test_formula_looking_cells_are_strings_and_come_back_as_typed() -> None:
    cells = ["=1+1", "+14155550100", "-5", "@SUM(A1)", "\tx", "'=quoted", "0042", "a\nb"]
    assert _round_trip([cells]) == [cells]
    assert _round_trip([["\rcr", "x\r\ny", "bell\x07"]]) == [["\ncr", "x\ny", "bell"]]


def test_the_illegal_characters_are_openpyxls() -> None:
    assert ILLEGAL_CHARACTERS_RE.pattern == OPENPYXL_ILLEGAL.pattern


def test_cell_text_of_numbers_and_dates() -> None:
    from datetime import date, datetime

    assert cell_text(5101.0) == "5101" and cell_text(4.5) == "4.5" and cell_text(7) == "7"
    assert cell_text(datetime(2024, 3, 4, 9, 15)) == "2024-03-04 09:15:00"
    assert cell_text(date(2024, 3, 4)) == "2024-03-04" and cell_text(None) == ""
    assert cell_text(True) == "TRUE"
