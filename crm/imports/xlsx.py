"""Excel workbooks (.xlsx) in and out, through openpyxl's streaming modes.

In: the first sheet is read row by row (`read_only=True`, so a 100,000-row sheet costs
no more memory than a small one) with the values Excel last calculated (`data_only=True`:
a formula cell gives what the person saw, never the formula). Cells become the text
`rapport import` reads from a CSV: whole numbers without ".0", dates and times in ISO
8601. Out: a write-only workbook whose every cell is a string (`data_type="s"`), after
the same formula guard as CSV (a leading apostrophe on = + - @ tab CR), so neither
Excel nor the importer ever sees a formula. Characters XML cannot hold (control
characters other than tab and newline) are dropped; a cell over Excel's 32,767
characters is refused with the fix (CSV has no limit). A CR becomes LF (XML keeps no bare
CR; LF is Excel's own line break in a cell).
"""

import re
import zipfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from typing import IO, Any, BinaryIO

from crm.errors import CRMError
from crm.imports.refused import FileRefused

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # old .xls (and password-protected .xlsx)
MAX_CELL = 32_767
# openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE, here so reading a CSV never imports openpyxl
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


def looks_like_xlsx(sample: bytes) -> bool:
    return sample.startswith(ZIP_MAGIC)


def refuse_old_excel(sample: bytes) -> None:
    if sample.startswith(OLE_MAGIC):
        raise FileRefused(
            "This is an old Excel .xls file or a password-protected workbook. Open it in "
            "Excel and save it as .xlsx (without a password) or as CSV UTF-8, then import that."
        )


def cell_text(value: Any) -> str:
    """A cell's value as the text a CSV export would have held."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds" if not value.microsecond else "auto")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


class XlsxTable:
    """The first sheet's rows as (row number, cells), like sniff.TableReader."""

    def __init__(self, raw: BinaryIO) -> None:
        from openpyxl import load_workbook
        from openpyxl.utils.exceptions import InvalidFileException

        self._raw = raw
        try:
            self._book = load_workbook(raw, read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as exc:
            raise FileRefused(
                f"This looks like an Excel workbook but cannot be read ({type(exc).__name__}). "
                "Open it in Excel and save it again as .xlsx or as CSV UTF-8."
            ) from None
        self.sheet_name = self._book.sheetnames[0] if self._book.sheetnames else ""
        if not self.sheet_name:
            raise FileRefused("The workbook has no sheets.")
        self._sheet = self._book[self.sheet_name]
        # Some writers store a wrong size; re-read it from the rows themselves.
        self._sheet.reset_dimensions()
        self.line = 0

    @property
    def bytes_read(self) -> int:
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return 0

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        try:
            for number, values in enumerate(self._sheet.iter_rows(values_only=True), start=1):
                self.line = number
                yield number, [cell_text(v) for v in values]
        finally:
            self._book.close()


def xml_text(text: str) -> str:
    """What a cell can hold: XML keeps no bare CR (a reader turns it into LF, Excel's own
    line break) and no control characters other than tab and newline."""
    return ILLEGAL_CHARACTERS_RE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def write_xlsx(rows: Iterable[list[str]], stream: IO[bytes], *, sheet: str) -> None:
    """Writes string rows (already through xml_text and the formula guard) to a workbook."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    ws = book.create_sheet(sheet[:31])
    for number, row in enumerate(rows, start=1):
        cells = []
        for text in row:
            clean = xml_text(text)
            if len(clean) > MAX_CELL:
                raise CRMError(
                    f"Row {number} has a value of {len(clean):,} characters; an Excel cell "
                    f"holds at most {MAX_CELL:,}. Export as CSV (--format csv) instead."
                )
            cell = WriteOnlyCell(ws, value=clean)
            cell.data_type = "s"  # a string, even if it looks like a number or formula
            cells.append(cell)
        ws.append(cells)
    book.save(stream)
