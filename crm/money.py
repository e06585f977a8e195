"""Money as people read it, the same way in every reply: minor units and a currency code in,
`€1,500.00`, `¥5,000` or `7,500.00 CHF` out.

The domain writes amounts into its own words (undo replies, timelines), so this lives in
`crm/` and the bot's renderers use it too; before, the domain said "1,500.00 EUR" where the
bot said "€1,500.00" about the same sale. Minor-unit sizes live here once for the parsers.
"""

from decimal import Decimal

ZERO_DECIMALS = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "XOF", "XAF"})
THREE_DECIMALS = frozenset({"KWD", "BHD", "OMR", "JOD", "TND"})
# Only symbols that name one currency; "kr" or "$" alone would be a guess for the others.
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}


def currency_exponent(currency: str) -> int:
    """Digits after the point in the currency's minor unit (JPY 0, USD 2, KWD 3)."""
    if currency in ZERO_DECIMALS:
        return 0
    return 3 if currency in THREE_DECIMALS else 2


def format_money(amount_minor: int, currency: str) -> str:
    """1200000, USD -> $12,000.00; 750000, CHF -> 7,500.00 CHF; never goes through a float."""
    digits = currency_exponent(currency)
    value = Decimal(amount_minor) / (Decimal(10) ** digits)
    number = f"{value:,.{digits}f}"
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{number}" if symbol else f"{number} {currency}"
