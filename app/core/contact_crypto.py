"""Contact data at rest: Fernet encryption under a list of keys (first encrypts, all decrypt)."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class ContactKeyError(ValueError):
    """A configured contact key is missing or malformed; the message never contains key material."""


class ContactDecryptError(ValueError):
    """No configured key can decrypt a contact token (wrong key, retired key, or tampering)."""


def generate_key() -> str:
    """Return a new random Fernet key (32 bytes, url-safe base64) as text."""
    return Fernet.generate_key().decode("ascii")


class ContactCipher:
    """Encrypts contact strings under the first key; decrypts with any key, so keys can rotate."""

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        """Build the cipher from keys, newest first."""
        if isinstance(keys, str | bytes):
            # a lone key would otherwise be iterated character by character
            raise ContactKeyError("contact keys must be a list, newest key first")
        if not keys:
            raise ContactKeyError("at least one contact key is required")
        self._fernet = MultiFernet([_fernet(key, number) for number, key in enumerate(keys, 1)])

    def encrypt(self, plaintext: str) -> str:
        """Return an authenticated token for plaintext under the first key."""
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Return the plaintext of a token made under any configured key; else ContactDecryptError."""
        try:
            return self._fernet.decrypt(token).decode("utf-8")
        except (InvalidToken, TypeError, ValueError):
            raise ContactDecryptError(
                "contact token cannot be decrypted with any configured key"
            ) from None

    def rotate(self, token: str) -> str:
        """Return the token re-encrypted under the first key (same plaintext); else ContactDecryptError."""
        try:
            return self._fernet.rotate(token).decode("ascii")
        except (InvalidToken, TypeError, ValueError):
            raise ContactDecryptError(
                "contact token cannot be decrypted with any configured key"
            ) from None


def _fernet(key: str | bytes, number: int) -> Fernet:
    """Return a Fernet for one key, naming only its position if it is malformed."""
    try:
        return Fernet(key)
    except (TypeError, ValueError):
        # "from None" and no key in the message: the error may be logged at startup.
        raise ContactKeyError(
            f"contact key #{number} is not a valid Fernet key (32 url-safe base64-encoded bytes)"
        ) from None
