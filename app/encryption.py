"""Re-encrypting every encrypted column under the newest contact key (key rotation)."""

from flask import current_app
from sqlalchemy import select, update

from app.core.contact_crypto import ContactCipher
from app.extensions import db
from app.links.models import Link
from app.scores.webhooks import ScoreWebhook
from app.sms.models import SmsContact, SmsOutbox, SmsUpload

# Every column that holds contact data or a printable code encrypted under CONTACT_ENCRYPTION_KEYS.
ENCRYPTED_COLUMNS = (
    (SmsContact, ("phone_encrypted",)),
    (SmsOutbox, ("to_encrypted", "body_encrypted")),
    (SmsUpload, ("payload_encrypted",)),
    (Link, ("code_encrypted",)),
    (ScoreWebhook, ("secret_encrypted",)),
)
BATCH = 1000


def rotate_contact_keys(keys: list[str] | None = None) -> int:
    """Re-encrypt every value under the first key, committing batch by batch; returns the count.

    Safe to stop and run again: a value already under the first key is simply rotated again.
    """
    cipher = ContactCipher(keys or current_app.config["CONTACT_ENCRYPTION_KEYS"])
    done = 0
    for model, columns in ENCRYPTED_COLUMNS:
        last_id = 0
        while True:
            rows = db.session.execute(
                select(model.id, *(getattr(model, c) for c in columns))
                .where(model.id > last_id)
                .order_by(model.id)
                .limit(BATCH)
            ).all()
            if not rows:
                break
            for row in rows:
                values = {
                    column: cipher.rotate(value)
                    for column, value in zip(columns, row[1:], strict=True)
                    if value is not None
                }
                if values:
                    db.session.execute(update(model).where(model.id == row[0]).values(**values))
                    done += len(values)
            last_id = rows[-1][0]
            db.session.commit()
    # The SMS service caches its cipher per app: drop it so new keys take effect at once.
    current_app.extensions.pop("sms_cipher", None)
    return done
