"""Cell values and the header mapping (crm.imports.values, crm.imports.mapping)."""

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm.errors import Invalid
from crm.imports.aliases import ALIASES, header_key
from crm.imports.export import neutralise
from crm.imports.mapping import MappingError, build_mapping, detect_type
from crm.imports.rows import unneutralise
from crm.imports.values import (
    format_amount,
    parse_amount,
    parse_datetime,
    plain_email,
    read_datetime,
    split_phones,
    split_tags,
)
from crm.validation import normalise_email


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [("12,500.00", None, (1250000, "USD")), ("1.250,50", "EUR", (125050, "EUR")),
     ("$1,200", None, (120000, "USD")), ("99,99 EUR", None, (9999, "EUR")),
     ("5000", "JPY", (5000, "JPY")), ("€ 7", None, (700, "EUR")), ("0.125", "KWD", (125, "KWD")),
     ("1 234,5", "EUR", (123450, "EUR"))],
)  # fmt: skip
def test_amounts_in_every_common_spelling(text: str, currency: str | None, expected: tuple) -> None:
    assert parse_amount(text, currency=currency, default_currency="USD") == expected


@pytest.mark.parametrize("text", ["-5", "(12.00)", "lots", "12 USD", "1.2.3,4,5"])
def test_bad_or_negative_amounts_are_refused_with_a_sentence(text: str) -> None:
    with pytest.raises(ValueError, match="'"):
        parse_amount(text, currency="EUR", default_currency="USD")


@given(st.integers(min_value=0, max_value=10**12), st.sampled_from(["USD", "JPY", "KWD"]))
def test_exported_amounts_read_back_exactly(minor: int, currency: str) -> None:
    text = format_amount(minor, currency)
    assert parse_amount(text, currency=currency, default_currency="USD") == (minor, currency)


@pytest.mark.parametrize(
    ("text", "iso"),
    [("2024-03-04 09:15", "2024-03-04T09:15:00+00:00"),
     ("2024-02-01T10:00:00.000Z", "2024-02-01T10:00:00+00:00"),
     ("01/15/2024", "2024-01-15T00:00:00+00:00"), ("15/01/2024", "2024-01-15T00:00:00+00:00"),
     ("2024-03-04T09:15:00+02:00", "2024-03-04T07:15:00+00:00"),
     ("March 5, 2024", "2024-03-05T00:00:00+00:00"), ("04.03.2024", "2024-03-04T00:00:00+00:00")],
)  # fmt: skip
def test_dates_of_each_export_become_utc(text: str, iso: str) -> None:
    assert parse_datetime(text).isoformat() == iso


def test_a_naive_date_is_read_in_the_given_zone_and_nonsense_is_refused() -> None:
    assert parse_datetime("2024-03-04 09:00", tz="Europe/Paris").hour == 8
    with pytest.raises(ValueError, match="not a date"):
        parse_datetime("sometime soonish maybe")


def test_several_phones_or_tags_in_one_cell() -> None:
    assert split_phones("+1 415 555 0100; +1 415 555 0101 / (415) 555-0102") == [
        "+1 415 555 0100", "+1 415 555 0101", "(415) 555-0102"
    ]  # fmt: skip
    assert split_phones("+44 20 7946 0958") == ["+44 20 7946 0958"]
    assert split_tags("#vip #churn-risk") == ["vip", "churn-risk"]
    assert split_tags("Hot lead, VIP") == ["Hot-lead", "VIP"]


@given(st.emails())
def test_the_plain_email_fast_path_agrees_with_email_validator(address: str) -> None:
    fast = plain_email(address)
    if fast is None:
        return
    try:
        slow = normalise_email(address)
    except Invalid:
        pytest.fail(f"fast path accepted {address!r} which email-validator refuses")
    assert fast == slow


@given(st.text(alphabet=string.ascii_letters + string.digits + "._+-@", max_size=40))
def test_the_fast_path_never_accepts_what_email_validator_refuses(text: str) -> None:
    if plain_email(text) is not None:
        assert normalise_email(text) == plain_email(text)


@given(st.text(max_size=30))
def test_export_formula_guard_is_undone_exactly_by_the_import(cell: str) -> None:
    guarded = neutralise(cell)
    assert guarded[:1] not in {"=", "+", "-", "@", "\t", "\r"}
    assert unneutralise(guarded) == cell


def test_headers_are_compared_without_case_spaces_or_punctuation() -> None:
    mapping = build_mapping(["  FIRST name", "last_name", "E-Mail", "MobilePhone", "Foo Bar"])
    assert [c.field for c in mapping.columns] == ["first_name", "last_name", "email", "phone", None]
    assert mapping.custom_columns == ["Foo Bar"] and mapping.record_type == "contacts"
    assert header_key("Deal - Stage") == "dealstage"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [(["Record ID", "First Name", "Email", "Contact owner"], "contacts"),
     (["Record ID", "Company name", "Company Domain Name"], "companies"),
     (["Record ID", "Deal Name", "Deal Stage", "Amount"], "deals"),
     (["Id", "Name", "Website", "Industry"], "companies"),
     (["Id", "Name", "StageName", "CloseDate", "Amount"], "deals"),
     (["Deal - ID", "Deal - Title", "Deal - Value", "Person - Name"], "deals"),
     (["Activity - Type", "Activity - Subject", "Activity - Due date"], "activities"),
     (["Order ID", "Customer Email", "Order Total", "Quantity"], "purchases"),
     (["Contact Name", "Account Name", "Email"], "contacts"),
     (["Name", "Email", "Phone", "Notes"], "contacts"),  # a sheet of people with notes
     (["Given Name", "Family Name", "E-mail 1 - Value", "Phone 1 - Value"], "contacts"),
     (["Contact", "Date", "Notes"], "activities"),  # dated notes are activities
     (["Contact Email", "Type", "Notes"], "activities"),
     (["Email", "Order Date", "Total"], "purchases")],
)  # fmt: skip
def test_the_record_type_is_detected_from_the_headers(headers: list[str], expected: str) -> None:
    assert detect_type(headers) == expected


def test_map_overrides_columns_stages_and_refuses_what_it_cannot_use() -> None:
    mapping = build_mapping(
        ["Naam", "Mail", "Junk", "Phone"],
        record_type="contacts",
        overrides=["Naam=name", "mail=email", "Junk=ignore", "Phone=custom:desk phone",
                   "stage:Verbal Yes=negotiation"],
    )  # fmt: skip
    assert [c.field for c in mapping.columns] == ["name", "email", None, None]
    assert mapping.columns[3].custom == "desk phone" and mapping.columns[2].custom is None
    assert mapping.stage_map == {"verbalyes": "negotiation"}
    assert "Junk -> ignored (--map)" in mapping.describe()
    with pytest.raises(MappingError, match="not a contacts field"):
        build_mapping(["A"], record_type="contacts", overrides=["A=shoe size"])
    with pytest.raises(MappingError, match="does not have"):
        build_mapping(["A"], record_type="contacts", overrides=["B=name"])
    with pytest.raises(MappingError, match="should look like"):
        build_mapping(["A"], overrides=["A"])
    with pytest.raises(MappingError, match="can't tell"):
        build_mapping(["zzz", "qqq"])


def test_every_alias_maps_back_to_its_own_field() -> None:
    for record_type, fields in ALIASES.items():
        for name, headers in fields.items():
            for header in headers:
                column = build_mapping([header], record_type=record_type).columns[0]
                owner = column.field
                assert owner is not None, (record_type, header)
                # a header listed twice resolves to the first field that lists it
                assert header_key(header) in {
                    header_key(h) for h in (owner, *ALIASES[record_type][owner])
                }, (record_type, name, header)


@pytest.mark.parametrize(
    ("text", "order", "iso", "ambiguous", "against"),
    [("04/03/2025", "DMY", "2025-03-04", True, False),
     ("04/03/2025", "MDY", "2025-04-03", True, False),
     ("13/03/2025", "MDY", "2025-03-13", False, True),
     ("03/13/2025", "DMY", "2025-03-13", False, True),
     ("03/03/2025", "MDY", "2025-03-03", False, False),  # the same day either way
     ("04.03.2025", "MDY", "2025-03-04", False, False),  # dots are day-first everywhere
     ("5/6/25", "DMY", "2025-06-05", True, False),
     ("01/15/2024 3:05 PM", "MDY", "2024-01-15", False, False),
     ("2025-03-04", "MDY", "2025-03-04", False, False)],
)  # fmt: skip
def test_numeric_dates_are_read_in_the_date_order_given(
    text: str, order: str, iso: str, ambiguous: bool, against: bool
) -> None:
    reading = read_datetime(text, dateorder=order)
    assert reading.value.date().isoformat() == iso
    assert (reading.ambiguous, reading.against_order) == (ambiguous, against)


def test_a_day_that_does_not_exist_in_either_order_is_refused() -> None:
    with pytest.raises(ValueError, match="not a date I can read"):
        read_datetime("31/02/2025", dateorder="DMY")
