"""Money, phones and names as the world writes them (issue 16)."""

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.language.commands import AddContact, CreateDeal, ParseError
from bot.language.parsing import parse_money
from bot.language.verbs import parse
from crm.errors import Invalid
from crm.validation import fold, format_phone, normalise_name, normalise_phone


@pytest.mark.parametrize(
    ("text", "minor", "currency"),
    [
        ("1.234,56 €", 123456, "EUR"),
        ("€1.234,56", 123456, "EUR"),
        ("CHF 7'500", 750000, "CHF"),
        ("7’500 CHF", 750000, "CHF"),
        ("₹5,00,000", 50000000, "INR"),
        ("1,00,000 INR", 10000000, "INR"),
        ("5 lakh rupees", 50000000, "INR"),
        ("2.5 lakh INR", 25000000, "INR"),
        ("1 000 000 ¥", 1000000, "JPY"),
        ("12 000,50 €", 1200050, "EUR"),
        ("1\u202f000 EUR", 100000, "EUR"),  # narrow no-break space, as French software writes
        ("3 million dollars", 300000000, "USD"),
        ("2.5 million euros", 250000000, "EUR"),
        ("3 thousand pounds", 300000, "GBP"),
        ("$12,000", 1200000, "USD"),
        ("12k", 1200000, "USD"),
    ],
)
def test_money_the_world_writes(text: str, minor: int, currency: str) -> None:
    assert parse_money(text) == (minor, currency)


@pytest.mark.parametrize("text", ["-5", "$-5", "-$5", "-€5", "−1.234,56 €", "- 3 million dollars"])
def test_negative_amounts_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="Amounts cannot be negative"):
        parse_money(text)


@pytest.mark.parametrize(
    ("text", "minor", "currency"),
    [
        ('deal acme "renewal" 1.234,56 €', 123456, "EUR"),
        ("deal acme CHF 7'500", 750000, "CHF"),
        ("deal acme ₹5,00,000 stage proposal", 50000000, "INR"),
        ('deal acme "x" 1 000 000 ¥', 1000000, "JPY"),
        ("deal acme 3 million dollars close end of quarter", 300000000, "USD"),
    ],
)
def test_deal_amounts_over_several_words(text: str, minor: int, currency: str) -> None:
    command = parse(text)
    assert isinstance(command, CreateDeal) and command.amount is not None
    assert command.amount.minor("USD") == (minor, currency)


def test_negative_deal_amount_is_refused_in_the_grammar() -> None:
    result = parse("deal acme -5 EUR")
    assert isinstance(result, ParseError) and "cannot be negative" in result.message


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 10**9), st.sampled_from([" ", "\u202f", "'"]))
def test_grouped_digits_read_as_the_number(value: int, sep: str) -> None:
    grouped = f"{value:,}".replace(",", sep)
    assert parse_money(f"{grouped} EUR") == (value * 100, "EUR")


@pytest.mark.parametrize(
    ("typed", "region", "e164"),
    [
        ("+33 6 12 34 56 78", "US", "+33612345678"),
        ("+353 1 234 5678", "US", "+35312345678"),
        ("0049 30 12345678", "US", "+493012345678"),
        ("0049 30 12345678", "DE", "+493012345678"),
        ("(415) 555-0123 ext. 42", "US", "+14155550123;ext=42"),
        ("415-555-0123 x42", "US", "+14155550123;ext=42"),
        ("030 12345678", "DE", "+493012345678"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("01 23 45 67 89", "FR", "+33123456789"),
    ],
)
def test_phones_written_the_usual_ways(typed: str, region: str, e164: str) -> None:
    assert normalise_phone(typed, region) == e164


def test_an_extension_is_kept_for_display() -> None:
    assert format_phone(normalise_phone("(415) 555-0123 ext. 42")) == "+1 415-555-0123 ext. 42"


@pytest.mark.parametrize("typed", ["12345", "+1 555", "555-0123", "020 7946 0958"])
def test_invalid_phones_are_refused_with_the_text_as_typed(typed: str) -> None:
    with pytest.raises(Invalid) as exc:
        normalise_phone(typed, "US")
    assert f"'{typed}'" in str(exc.value)


@pytest.mark.parametrize(
    ("text", "name", "phones"),
    [
        ("add Marie +33 6 12 34 56 78", "Marie", ("+33 6 12 34 56 78",)),
        ("add Sean +353 1 234 5678", "Sean", ("+353 1 234 5678",)),
        ("add Hans 0049 30 12345678", "Hans", ("0049 30 12345678",)),
        ("add Bob (415) 555-0123 ext. 42", "Bob", ("(415) 555-0123 ext. 42",)),
        ("add Jane 12345", "Jane", ("12345",)),  # refused later, never part of the name
        ("add Jane +1 555", "Jane", ("+1 555",)),
        ("add Louis 14", "Louis 14", ()),
    ],
)
def test_a_number_next_to_a_name_is_a_phone(text: str, name: str, phones: tuple[str]) -> None:
    command = parse(text)
    assert isinstance(command, AddContact)
    assert (command.name_text, command.phones) == (name, phones)


def test_names_are_nfc_and_search_keys_fold_accents() -> None:
    decomposed = unicodedata.normalize("NFD", "José")
    assert decomposed != "José"
    assert normalise_name(decomposed) == "José"
    assert fold("José") == fold(decomposed) == fold("JOSE") == "jose"
    assert fold("Straße Øre Łódź") == "strasse ore lodz"


@pytest.mark.parametrize("text", ["€12.500", "12.500", "$1.500", "1.234 EUR"])
def test_a_dot_before_three_digits_reads_two_ways_and_is_asked_about(text: str) -> None:
    with pytest.raises(ValueError, match="I won't guess with money"):
        parse_money(text)


@pytest.mark.parametrize(
    ("text", "minor", "currency"),
    [("12.500,50 €", 1_250_050, "EUR"), ("12.500 KWD", 12_500, "KWD"), ("1.500k", 150_000, "USD"),
     ("0.500", 50, "USD"), ("1.234.567 EUR", 123_456_700, "EUR")],
)  # fmt: skip
def test_dots_that_read_one_way_are_read(text: str, minor: int, currency: str) -> None:
    assert parse_money(text) == (minor, currency)


def test_an_amount_without_a_currency_takes_the_one_it_is_given() -> None:
    from bot.language.parsing import read_amount

    amount = read_amount("12k")
    assert amount.currency is None
    assert amount.minor("EUR") == (1_200_000, "EUR")
    assert amount.minor("JPY") == (12_000, "JPY")
    assert read_amount("¥8000").minor("EUR") == (8_000, "JPY")
    with pytest.raises(ValueError, match="JPY amounts can't have that many decimals"):
        read_amount("12.50").minor("JPY")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("sold jane €12.500", "I won't guess with money"),
        ("sold jane -5", "cannot be negative"),
        ('deal acme "x" €12.500', "I won't guess with money"),
    ],
)
def test_money_that_cannot_be_read_is_refused_with_the_reason(text: str, reason: str) -> None:
    result = parse(text)
    assert isinstance(result, ParseError) and reason in result.message


@pytest.mark.parametrize(
    ("text", "name", "company"),
    [
        (
            "add María José García-López, maria.jose@ejemplo.es, +34 612 34 56 78, "
            "company Acme Iberia",
            "María José García-López",
            "Acme Iberia",
        ),
        ("add Ann; ann@x.io; company: Foo Ltd", "Ann", "Foo Ltd"),
        ("add Tom Company", "Tom Company", None),
        ("add Doe, Jane jane@x.com", "Doe, Jane", None),
    ],
)
def test_contact_details_separated_by_commas(text: str, name: str, company: str | None) -> None:
    from bot.language.commands import AddContact

    result = parse(text)
    assert isinstance(result, AddContact)
    assert (result.name_text, result.company) == (name, company)


def test_a_refused_national_number_says_which_country_it_was_read_in() -> None:
    """A Berlin number typed nationally in a team left on the default region (US) was
    refused with no hint why; the message now names the region it was read in."""
    with pytest.raises(Invalid, match="Without one it is read as a US number"):
        normalise_phone("030 1234567")
    with pytest.raises(Invalid) as refused:
        normalise_phone("+49 12")
    assert "read as" not in str(refused.value)  # it had a country code: nothing to add
    assert normalise_phone("030 1234567", "DE") == "+49301234567"
