"""Reading a file as it comes: its encoding, its delimiter, and its rows, streamed.

Exports arrive as UTF-8 (with or without the BOM Excel adds), UTF-16 (Excel's "Unicode
text", Salesforce's data loader), or Windows-1252/Latin-1 (older Excel on Windows); with
commas, semicolons (Excel in most of Europe) or tabs. Only the first block is read to
decide; the rest is streamed so a 100,000-row file costs no more memory than a small one.
"""

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Protocol

from crm.imports.refused import FileRefused

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

SAMPLE_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t", "|")
MAX_RECORD_LINES = 500  # a record spanning more lines than this is an unclosed quote
FIELD_LIMIT = 1_000_000
_CP1252_UNDEFINED = {0x81, 0x8D, 0x8F, 0x90, 0x9D}


class Table(Protocol):
    """What the import engine reads: rows with their line (or sheet row) numbers."""

    @property
    def bytes_read(self) -> int: ...

    def rows(self) -> Iterator[tuple[int, list[str]]]: ...


@dataclass(frozen=True)
class FileShape:
    encoding: str  # a Python codec name ("xlsx" for a workbook)
    delimiter: str
    sheet: str | None = None  # the sheet read, for a workbook

    @property
    def label(self) -> str:
        if self.sheet is not None:
            return f"Excel workbook, sheet '{self.sheet}'"
        names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
        return f"{self.encoding}, {names.get(self.delimiter, repr(self.delimiter))}-separated"


class CountingReader(io.RawIOBase):
    """Wraps the binary file to count the bytes read, for the progress bar."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: "WriteableBuffer") -> int:
        view = memoryview(buffer)
        data = self.raw.read(len(view))
        n = len(data)
        view[:n] = data
        self.bytes_read += n
        return n


def detect_encoding(sample: bytes, *, complete: bool = False) -> str:
    """The codec for a file starting with `sample` (BOM, then UTF-16 shape, UTF-8, cp1252)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(sample) >= 4:
        even, odd = sample[0:200:2], sample[1:200:2]
        if odd.count(0) > len(odd) * 0.4 and even.count(0) < len(even) * 0.1:
            return "utf-16-le"
        if even.count(0) > len(even) * 0.4 and odd.count(0) < len(odd) * 0.1:
            return "utf-16-be"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    if not _CP1252_UNDEFINED.intersection(sample):
        return "cp1252"
    return "latin-1"


def detect_delimiter(header_line: str) -> str:
    """The separator used most in the header line, outside quotes (comma when none)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in header_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _first_line(text: str) -> str:
    quoted, end = False, len(text)
    for i, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif char in "\r\n" and not quoted:
            end = i
            break
    return text[:end]


def open_table(raw: BinaryIO, *, encoding: str | None = None) -> tuple[FileShape, Table]:
    """Sniffs `raw` (a binary file positioned at its start) and returns a streaming reader:
    CSV (any encoding and delimiter) or, from its zip signature, an .xlsx workbook."""
    counter = CountingReader(raw)
    buffered = io.BufferedReader(counter, buffer_size=SAMPLE_BYTES)
    sample = buffered.peek(SAMPLE_BYTES)[:SAMPLE_BYTES]
    if not sample.strip():
        raise FileRefused("The file is empty: it needs a header row and at least one row.")
    from crm.imports import xlsx

    xlsx.refuse_old_excel(sample)
    if xlsx.looks_like_xlsx(sample):
        if raw.seekable():
            raw.seek(0)
            book = xlsx.XlsxTable(raw)
        else:  # a workbook is a zip: it needs random access
            book = xlsx.XlsxTable(io.BytesIO(buffered.read()))
        return FileShape(encoding="xlsx", delimiter="", sheet=book.sheet_name), book
    if encoding is None:
        encoding = detect_encoding(sample, complete=len(sample) < SAMPLE_BYTES)
    else:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise FileRefused(f"'{encoding}' is not an encoding Python knows.") from None
    text = io.TextIOWrapper(buffered, encoding=encoding, newline="")
    head = sample.decode(encoding, errors="replace").lstrip("\ufeff")
    shape = FileShape(encoding=encoding, delimiter=detect_delimiter(_first_line(head)))
    return shape, TableReader(text, shape, counter)


class TableReader:
    """Rows of a CSV file with the physical line each starts on, refusing broken quoting."""

    def __init__(self, text: io.TextIOWrapper, shape: FileShape, counter: CountingReader) -> None:
        self._text = text
        self.shape = shape
        self._counter = counter
        csv.field_size_limit(FIELD_LIMIT)
        self._reader = csv.reader(_NoNul(text, self), delimiter=shape.delimiter, strict=True)
        self.line = 0  # physical lines read so far

    @property
    def bytes_read(self) -> int:
        return self._counter.bytes_read

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(first physical line of the record, cells); the header is the first row."""
        while True:
            start = self._reader.line_num + 1
            try:
                cells = next(self._reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if "end of data" in str(exc) or "field larger" in str(exc):
                    raise FileRefused(self._unclosed(start)) from None
                raise FileRefused(
                    f"Line {start}: the file's quoting is broken ({exc}). Nothing after line "
                    f"{start - 1} was read. Check the quotes on that line (a value with a "
                    'quote inside must double it: "say ""hi""").'
                ) from None
            except UnicodeDecodeError:
                raise FileRefused(self._decode_message(start)) from None
            if self._reader.line_num - start >= MAX_RECORD_LINES:
                raise FileRefused(self._unclosed(start))
            yield start, cells

    @staticmethod
    def _unclosed(line: int) -> str:
        return (
            f"Line {line}: a quote opened on this line is never closed (the value runs to "
            f"the end of the file or over {MAX_RECORD_LINES} lines). Nothing from line {line} "
            "on was imported; fix the quote and import again."
        )

    def _decode_message(self, line: int) -> str:
        return (
            f"Line {line} or near it is not valid {self.shape.encoding} text. Save the file as "
            '"CSV UTF-8" (Excel: File > Save As > CSV UTF-8), or give the encoding, e.g. '
            "--encoding cp1252."
        )


class _NoNul:
    """Line iterator that drops NUL characters (csv refuses them; PostgreSQL too)."""

    def __init__(self, text: io.TextIOWrapper, owner: TableReader) -> None:
        self._text = text
        self._owner = owner

    def __iter__(self) -> "_NoNul":
        return self

    def __next__(self) -> str:
        line = self._text.readline()
        if not line:
            raise StopIteration
        self._owner.line += 1
        return line.replace("\x00", "") if "\x00" in line else line
