"""A stand-in SMS provider for fault tests in other processes: it appends what it accepts to a file.

It writes a digest of (number, text), never the number itself, and appends with O_APPEND so
lines from several processes never interleave. FAKE_SMS_DELAY makes each send slow, so a test
can kill a worker in the middle of a batch.
"""

import hashlib
import os
import time
import uuid

from app.channels.senders import SendResult


class FileSender:
    name = "file"

    def __init__(self, path: str, delay: float = 0.0):
        self.path = path
        self.delay = delay

    def send(self, to: str, body: str, status_callback: str | None = None) -> SendResult:
        digest = hashlib.sha256(f"{to}\x1f{body}".encode()).hexdigest()[:16]
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, f"{digest}\n".encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        time.sleep(self.delay)  # accepted by the provider, not yet confirmed to Minyi
        return SendResult(provider="file", sid=uuid.uuid4().hex)


def factory(config) -> FileSender:
    return FileSender(os.environ["FAKE_SMS_LOG"], float(os.environ.get("FAKE_SMS_DELAY", "0")))
