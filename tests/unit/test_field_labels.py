"""Custom field names as the contact card shows them."""

import pytest

from bot.rep.render import field_label


@pytest.mark.parametrize(
    ("key", "label"),
    [
        ("lifecycle_stage", "Lifecycle stage"),  # str.title() showed "Lifecycle_Stage"
        ("VAT id", "VAT id"),  # and "Vat Id"
        ("NPS", "NPS"),
        ("favourite  colour", "Favourite colour"),
        ("invalid phone", "Invalid phone"),
        ("", ""),
    ],
)
def test_a_custom_field_label_keeps_the_capitals_it_was_given(key: str, label: str) -> None:
    assert field_label(key) == label
