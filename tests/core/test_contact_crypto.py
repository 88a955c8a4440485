"""Contact encryption at rest: round trips, key rotation, and errors that leak nothing."""

import pytest

from app.core.contact_crypto import (
    ContactCipher,
    ContactDecryptError,
    ContactKeyError,
    generate_key,
)

CONTACTS = ["+8613800138000", "+861012345678", "张三 北京市朝阳区", ""]


def test_round_trip_keeps_every_contact():
    cipher = ContactCipher([generate_key()])
    for contact in CONTACTS:
        assert cipher.decrypt(cipher.encrypt(contact)) == contact


def test_token_does_not_contain_the_plaintext_and_is_randomized():
    cipher = ContactCipher([generate_key()])
    first, second = cipher.encrypt("+8613800138000"), cipher.encrypt("+8613800138000")
    assert "13800138000" not in first
    assert first != second


def test_generated_keys_are_distinct_text():
    first, second = generate_key(), generate_key()
    assert isinstance(first, str) and first != second


def test_rotation_keeps_every_contact_readable():
    old_key, new_key = generate_key(), generate_key()
    tokens = [ContactCipher([old_key]).encrypt(contact) for contact in CONTACTS]
    rotating = ContactCipher([new_key, old_key])
    assert [rotating.decrypt(token) for token in tokens] == CONTACTS
    rotated = [rotating.rotate(token) for token in tokens]
    assert [ContactCipher([new_key]).decrypt(token) for token in rotated] == CONTACTS


def test_after_rotation_the_old_key_alone_cannot_decrypt():
    old_key, new_key = generate_key(), generate_key()
    token = ContactCipher([old_key]).encrypt("+8613800138000")
    rotated = ContactCipher([new_key, old_key]).rotate(token)
    with pytest.raises(ContactDecryptError):
        ContactCipher([old_key]).decrypt(rotated)
    assert ContactCipher([new_key]).decrypt(rotated) == "+8613800138000"


def test_new_tokens_are_made_under_the_first_key():
    old_key, new_key = generate_key(), generate_key()
    token = ContactCipher([new_key, old_key]).encrypt("x")
    assert ContactCipher([new_key]).decrypt(token) == "x"
    with pytest.raises(ContactDecryptError):
        ContactCipher([old_key]).decrypt(token)


@pytest.mark.parametrize("token", ["not a token", "", "gAAAAABinvalid", "令牌", None, b"\x00\x01"])
def test_undecryptable_token_raises_a_clear_error(token):
    cipher = ContactCipher([generate_key()])
    with pytest.raises(ContactDecryptError, match="cannot be decrypted"):
        cipher.decrypt(token)


def test_tampered_token_is_rejected():
    cipher = ContactCipher([generate_key()])
    token = cipher.encrypt("+8613800138000")
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    with pytest.raises(ContactDecryptError):
        cipher.decrypt(tampered)
    with pytest.raises(ContactDecryptError):
        cipher.rotate(tampered)


@pytest.mark.parametrize("bad_key", ["short-secret-key", "x" * 44, generate_key()[:-4], "", 12345])
def test_malformed_key_is_rejected_without_echoing_it(bad_key):
    with pytest.raises(ContactKeyError) as raised:
        ContactCipher([generate_key(), bad_key])
    message = str(raised.value)
    assert "#2" in message
    assert str(bad_key) not in message or str(bad_key) == ""
    error = raised.value
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


@pytest.mark.parametrize("keys", [[], "a-single-key-string"])
def test_keys_must_be_a_non_empty_list(keys):
    with pytest.raises(ContactKeyError):
        ContactCipher(keys)
