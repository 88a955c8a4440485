"""Phone numbers: normalization to E.164 and the written shapes one number takes."""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import PhoneNumberFormat

# Full-width forms (U+FF01..U+FF5E) map one-to-one onto ASCII; old phones and Chinese IMEs type them.
FULLWIDTH_TO_ASCII = str.maketrans(
    {chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)} | {"\u3000": " "}
)

# Separators people put between digit groups; stripped before parsing.
_SEPARATORS = re.compile(r"[\s\-.()\u2010-\u2015]")

# Only digits (and one leading "+") may remain: phonenumbers would otherwise read letters as a
# vanity number or pull digits out of surrounding prose.
_DIGITS_ONLY = re.compile(r"\+?\d+", re.ASCII)

# "86" written before a mainland mobile without "+" or "00" ("8613800138000").
_BARE_CN_MOBILE_WITH_COUNTRY_CODE = re.compile(r"86(1[3-9]\d{9})", re.ASCII)


class InvalidPhone(ValueError):
    """Raised for input that is not a valid phone number; the message never contains the input."""


def normalize_phone(raw: str, default_region: str = "CN") -> str:
    """Return the E.164 form of a valid number (full-width digits, separators, +86/0086/86 accepted); else InvalidPhone."""
    if not isinstance(raw, str):
        raise InvalidPhone("phone number must be text")
    compact = _SEPARATORS.sub("", raw.translate(FULLWIDTH_TO_ASCII))
    if not _DIGITS_ONLY.fullmatch(compact):
        raise InvalidPhone(
            "phone number may contain only digits, spaces, dashes, dots and a leading +"
        )
    if compact.startswith("00"):
        # "00" is the international prefix from mainland China; read it as "+" whatever the region.
        compact = "+" + compact[2:]
    elif _BARE_CN_MOBILE_WITH_COUNTRY_CODE.fullmatch(compact):
        compact = "+" + compact
    try:
        number = phonenumbers.parse(compact, default_region)
    except phonenumbers.NumberParseException:
        # "from None": the parser's exception must not ride along into logs with the number.
        raise InvalidPhone("not a phone number") from None
    # is_valid_number checks real numbering plans; is_possible_number would accept 12345678901.
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("not a valid phone number")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def phone_variants(e164: str) -> set[str]:
    """Return common written shapes of one number (E.164, national, spaced, dashed, dotted, 0086, full-width)."""
    number = phonenumbers.parse(normalize_phone(e164), None)
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)  # "138 0013 8000"
    international = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    national_digits = re.sub(r"\D", "", national)  # keeps the trunk "0" of landlines
    significant = phonenumbers.national_significant_number(number)
    country = str(number.country_code)
    head, _, rest = national.partition(" ")
    variants = {
        phonenumbers.format_number(number, PhoneNumberFormat.E164),
        national,
        national_digits,
        significant,
        international,
        national.replace(" ", "-"),
        national.replace(" ", "."),
        f"{head}-{rest.replace(' ', '')}" if rest else national,
        f"+{country} {significant}",
        f"+{country}-{significant}",
        f"00{country}{significant}",
        f"00{country} {significant}",
        f"{country}{significant}",
        f"{country}-{significant}",
        f"({head}){rest}" if rest else national,
    }
    variants |= {_to_fullwidth(variant) for variant in (national_digits, significant)}
    return variants


def _to_fullwidth(text: str) -> str:
    """Return text with ASCII digits and '+' replaced by their full-width forms."""
    return "".join(chr(ord(ch) + 0xFEE0) if ch.isdigit() or ch == "+" else ch for ch in text)
