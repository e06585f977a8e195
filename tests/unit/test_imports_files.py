"""Files as they come: encodings, delimiters, quoted newlines, broken quotes (crm.imports.sniff)."""

import codecs
import io

import pytest

from crm.imports.sniff import FileRefused, detect_delimiter, detect_encoding, open_table

TEXT = (
    'Name;Email;Notes\nRenée Müller;renee@example.com;"Café, 5€\nsecond line"\n'
    "Zoë;z@example.com;ok\n"
)


def rows(data: bytes, **kw: str) -> tuple[str, list[tuple[int, list[str]]]]:
    shape, table = open_table(io.BytesIO(data), **kw)  # type: ignore[arg-type]
    return shape.label, list(table.rows())


@pytest.mark.parametrize(
    ("encoded", "codec"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
        (TEXT.encode("utf-16"), "utf-16"),  # with BOM, as Excel's "Unicode text"
        (TEXT.encode("utf-16-le"), "utf-16-le"),
        (TEXT.encode("utf-16-be"), "utf-16-be"),
        (TEXT.encode("cp1252"), "cp1252"),
        (TEXT.replace("€", "E").encode("latin-1") + b"\x81", "latin-1"),
    ],
)
def test_every_common_encoding_is_detected_and_read(encoded: bytes, codec: str) -> None:
    label, read = rows(encoded)
    assert label.startswith(codec + ",") and "semicolon" in label
    header, first, second = read[:3]
    assert header == (1, ["Name", "Email", "Notes"])  # no BOM left on the first header
    assert first[0] == 2 and first[1][0] == "Renée Müller"
    assert first[1][2].startswith("Café, 5") and first[1][2].endswith("\nsecond line")
    assert second == (4, ["Zoë", "z@example.com", "ok"])  # line numbers count quoted newlines


@pytest.mark.parametrize(
    ("header", "expected"),
    [("a,b,c", ","), ("a;b;c", ";"), ("a\tb\tc", "\t"), ('"x;y",b,c', ","), ("a|b|c", "|"),
     ("single", ",")],
)  # fmt: skip
def test_delimiter_is_the_one_used_most_outside_quotes(header: str, expected: str) -> None:
    assert detect_delimiter(header) == expected


def test_a_broken_quote_is_refused_with_its_line_number() -> None:
    data = b'Name,Email\nAda,a@example.com\n"Bob" the Builder,b@example.com\n"Cy,c@x.com\n'
    _, table = open_table(io.BytesIO(data))
    seen = []
    with pytest.raises(FileRefused, match="Line 3"):
        for line, _cells in table.rows():
            seen.append(line)
    assert seen == [1, 2]


def test_an_unclosed_quote_is_refused_with_the_line_it_opens_on() -> None:
    body = "".join(f"row{i},x\n" for i in range(600))
    data = f'Name,Email\nAda,"a@example.com\n{body}'.encode()
    _, table = open_table(io.BytesIO(data))
    with pytest.raises(FileRefused, match="Line 2: a quote opened on this line is never closed"):
        list(table.rows())


def test_text_that_is_not_the_detected_encoding_further_down_says_how_to_fix_it() -> None:
    data = b"Name\n" + b"Ada\n" * 20_000 + b"Ren\xe9e\n"  # UTF-8 sample, Latin-1 later
    _, table = open_table(io.BytesIO(data))
    with pytest.raises(FileRefused, match="--encoding cp1252"):
        list(table.rows())
    _, table = open_table(io.BytesIO(data), encoding="cp1252")
    assert list(table.rows())[-1] == (20_002, ["Renée"])


def test_empty_file_and_unknown_encoding_are_refused_clearly() -> None:
    with pytest.raises(FileRefused, match="empty"):
        open_table(io.BytesIO(b"  \n"))
    with pytest.raises(FileRefused, match="not an encoding"):
        open_table(io.BytesIO(b"a\n1\n"), encoding="klingon-8")


def test_nul_characters_are_dropped() -> None:
    _, read = rows(b"Name,Email\nA\x00da,a@example.com\n")
    assert read[1] == (2, ["Ada", "a@example.com"])


def test_detect_encoding_on_plain_ascii_is_utf8() -> None:
    assert detect_encoding(b"Name,Email\n") == "utf-8"
