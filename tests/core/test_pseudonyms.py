"""Phone normalization and keyed respondent / opt-out pseudonyms."""

import hashlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.anonymize import optout_key, respondent_key
from app.core.phones import InvalidPhone, normalize_phone, phone_variants

SECRET = b"test-pseudonym-secret-32-bytes!!"
PHONE = "+8613800138000"

# --- normalize_phone ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "138.0013.8000",
        "+86 138 0013 8000",
        "+86-138-0013-8000",
        "0086 138 0013 8000",
        "008613800138000",
        "8613800138000",
        "86 138 0013 8000",
        "１３８００１３８０００",
        "＋８６ １３８－００１３－８０００",
        "  13800138000\n",
        "(+86) 138 0013 8000",
    ],
)
def test_mobile_shapes_normalize_to_e164(raw):
    assert normalize_phone(raw) == PHONE


@pytest.mark.parametrize(
    ("raw", "e164"),
    [("010-12345678", "+861012345678"), ("(0755)8765 4321", "+8675587654321")],
)
def test_landlines_normalize_to_e164(raw, e164):
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize(
    "raw",
    [
        "12345678901",
        "1380013800",
        "138001380001",
        "",
        "abc",
        "138-0013-800O",
        "+1 555 0100",
        "10086",
    ],
)
def test_invalid_numbers_raise_without_echoing_the_input(raw):
    with pytest.raises(InvalidPhone) as raised:
        normalize_phone(raw)
    message = str(raised.value)
    assert not re.search(r"\d{3}", message)
    error = raised.value
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


def test_possible_but_unassigned_number_is_rejected():
    # is_possible_number alone would accept it: right length, no real numbering plan
    with pytest.raises(InvalidPhone):
        normalize_phone("12345678901")


def test_invalid_phone_is_a_value_error():
    assert issubclass(InvalidPhone, ValueError)


def test_phone_variants_cover_the_common_shapes():
    variants = phone_variants(PHONE)
    assert {
        PHONE,
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "+86 138 0013 8000",
        "008613800138000",
        "１３８００１３８０００",
    } <= variants
    assert all(normalize_phone(v) == PHONE for v in variants)


def test_landline_variants_keep_the_trunk_zero():
    variants = phone_variants("+861012345678")
    assert {"01012345678", "010-12345678", "010 1234 5678"} <= variants


# --- respondent and opt-out keys ----------------------------------------------------------------

# prefixes whose whole 8-digit range is assigned, so every drawn number is valid
mobiles = st.builds(
    lambda prefix, rest: f"+86{prefix}{rest:08d}",
    st.sampled_from(["138", "139", "150", "186", "187"]),
    st.integers(0, 10**8 - 1),
)


def test_respondent_key_is_stable_within_a_campaign():
    assert respondent_key(SECRET, 7, PHONE) == respondent_key(SECRET, 7, PHONE)


def test_respondent_key_is_the_same_for_every_shape_of_one_number():
    keys = {respondent_key(SECRET, 7, shape) for shape in phone_variants(PHONE)}
    assert len(keys) == 1


def test_campaign_id_as_int_or_text_gives_the_same_key():
    assert respondent_key(SECRET, 7, PHONE) == respondent_key(SECRET, "7", PHONE)


@given(phone=mobiles, first=st.integers(1, 10**6), second=st.integers(1, 10**6))
def test_respondent_keys_differ_across_campaigns(phone, first, second):
    if first != second:
        assert respondent_key(SECRET, first, phone) != respondent_key(SECRET, second, phone)


@given(phone=mobiles, other=mobiles)
def test_respondent_keys_differ_across_phones(phone, other):
    if phone != other:
        assert respondent_key(SECRET, 1, phone) != respondent_key(SECRET, 1, other)


def test_optout_key_is_campaign_independent_and_differs_from_every_campaign_key():
    optout = optout_key(SECRET, PHONE)
    assert optout == optout_key(SECRET, "138 0013 8000")
    campaign_ids = [*range(1, 200), "optout", "", "minyi/optout/v1"]
    keys = {respondent_key(SECRET, cid, PHONE) for cid in campaign_ids if cid != ""}
    assert optout not in keys


def test_keys_depend_on_the_secret():
    other = b"another-secret-of-the-same-size!"
    assert respondent_key(SECRET, 1, PHONE) != respondent_key(other, 1, PHONE)
    assert optout_key(SECRET, PHONE) != optout_key(other, PHONE)


def test_keys_are_not_a_plain_or_salted_hash_of_the_phone():
    candidates = set()
    for text in [PHONE, "13800138000", f"1{PHONE}", f"1:{PHONE}", f"1|{PHONE}"]:
        candidates.add(hashlib.sha256(text.encode()).hexdigest())
        candidates.add(hashlib.sha256(SECRET + text.encode()).hexdigest())
    assert respondent_key(SECRET, 1, PHONE) not in candidates
    assert optout_key(SECRET, PHONE) not in candidates


def test_keys_are_hex_sha256_sized():
    assert re.fullmatch(r"[0-9a-f]{64}", respondent_key(SECRET, 1, PHONE))
    assert re.fullmatch(r"[0-9a-f]{64}", optout_key(SECRET, PHONE))


@pytest.mark.parametrize("secret", [b"", "text-secret", None])
def test_secret_must_be_non_empty_bytes(secret):
    with pytest.raises(ValueError):
        respondent_key(secret, 1, PHONE)


@pytest.mark.parametrize("campaign_id", [None, ""])
def test_campaign_id_is_required(campaign_id):
    with pytest.raises(ValueError):
        respondent_key(SECRET, campaign_id, PHONE)


def test_invalid_phone_gives_no_key():
    with pytest.raises(InvalidPhone):
        respondent_key(SECRET, 1, "12345678901")
