"""SMS providers behind one small interface: Twilio, the console backend, and a test fake.

A provider is anything with ``name`` and ``send(to, body, status_callback) -> SendResult`` that
raises ``TransientSendError`` when the provider refused before accepting (safe to retry),
``PermanentSendError`` when it never will (invalid or unsubscribed number), and
``AmbiguousSendError`` when it may have accepted (the outbox row stays "unknown"). The dialogue
and sending code only ever see this interface, so a domestic gateway (Twilio cannot carry
two-way SMS to mainland-China numbers) plugs in with SMS_PROVIDER = "package.module:factory",
where factory(config) returns a sender.

No exception raised here carries the provider's message: Twilio's error texts quote the number.
"""

from __future__ import annotations

import importlib
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from twilio.http import HttpClient

from app.logs import redact_path

log = logging.getLogger(__name__)

# Twilio errors that no retry can fix (invalid "To", unsubscribed, not a mobile, blocked …).
PERMANENT_TWILIO_CODES = frozenset(
    {21211, 21214, 21217, 21219, 21408, 21606, 21610, 21612, 21614, 21617, 30003, 30004, 30005,
     30006, 30007, 30008}
)  # fmt: skip


@dataclass(frozen=True)
class SendResult:
    provider: str
    sid: str
    status: str = "queued"


class SendError(Exception):
    """A provider refused a message; .code is the provider's error code (never the number)."""

    def __init__(self, code: str | int | None = None):
        self.code = None if code is None else str(code)
        super().__init__(f"{type(self).__name__} (code {self.code})")


class TransientSendError(SendError):
    """Refused before accepting (network down, 429, 5xx): safe to retry with backoff."""


class PermanentSendError(SendError):
    """Refused for good (invalid number, unsubscribed …): never retry."""


class AmbiguousSendError(SendError):
    """The provider may have accepted the message: never retry, leave it for reconciliation."""


class SmsSender(Protocol):
    name: str

    def send(self, to: str, body: str, status_callback: str | None = None) -> SendResult: ...


class ConsoleSender:
    """The default without credentials: logs the text (never the number) and keeps the last ones."""

    name = "console"

    def __init__(self, keep: int = 200):
        self.keep = keep
        self.sent: list[dict] = []

    def send(self, to: str, body: str, status_callback: str | None = None) -> SendResult:
        sid = "CN" + secrets.token_hex(16)
        # The body may carry an invitation link: its token is cut, as in the access log.
        log.info("SMS (console backend) %s: %s", sid, redact_path(body))
        self.sent = [*self.sent[-(self.keep - 1) :], {"sid": sid, "body": body}]
        return SendResult(self.name, sid, "sent")


class TwilioSender:
    """Twilio's Messages API through the official library, from a number or a Messaging Service."""

    name = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        http_client=None,
    ):
        from twilio.rest import Client

        if not (from_number or messaging_service_sid):
            raise ValueError("Twilio needs TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID")
        if http_client is None:
            from twilio.http.http_client import TwilioHttpClient

            # A quiet logger: the library logs request URLs and headers at INFO.
            quiet = logging.getLogger("minyi.twilio.http")
            quiet.propagate = False
            quiet.addHandler(logging.NullHandler())
            http_client = TwilioHttpClient(timeout=15, logger=quiet)
        self.client = Client(account_sid, auth_token, http_client=http_client)
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid

    def send(self, to: str, body: str, status_callback: str | None = None) -> SendResult:
        from twilio.base.exceptions import TwilioException, TwilioRestException

        kwargs = {"to": to, "body": body}
        if self.messaging_service_sid:
            kwargs["messaging_service_sid"] = self.messaging_service_sid
        else:
            kwargs["from_"] = self.from_number
        if status_callback:
            kwargs["status_callback"] = status_callback
        try:
            message = self.client.messages.create(**kwargs)
        except TwilioRestException as exc:
            raise _classify_http(exc.status, exc.code) from None
        except TwilioException as exc:
            status, code = getattr(exc, "status", None), getattr(exc, "code", None)
            if status is not None:
                raise _classify_http(status, code) from None
            raise AmbiguousSendError() from None
        except Exception as exc:
            if _refused_before_sending(exc):
                raise TransientSendError("network") from None
            raise AmbiguousSendError(type(exc).__name__) from None
        return SendResult(self.name, message.sid, message.status or "queued")


def _classify_http(status: int | None, code) -> SendError:
    try:
        numeric = int(code) if code is not None else None
    except (TypeError, ValueError):
        numeric = None
    if numeric in PERMANENT_TWILIO_CODES:
        return PermanentSendError(numeric)
    if status == 429 or (status is not None and status >= 500):
        return TransientSendError(numeric or status)
    return PermanentSendError(numeric or status)


def _refused_before_sending(exc: BaseException) -> bool:
    """True for errors raised before a byte of the request left: connect timeout, refused, DNS."""
    import requests
    from urllib3.exceptions import NewConnectionError

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    seen, stack = set(), [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen or current is None:
            continue
        seen.add(id(current))
        if isinstance(current, NewConnectionError):
            return True
        stack += [getattr(current, "reason", None), current.__cause__, current.__context__]
        stack += [a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]
    return False


class FakeTwilioHttpClient(HttpClient):
    """A twilio ``HttpClient`` test double: answers the Messages API locally and records requests.

    ``script`` is a list of outcomes consumed one per request: None (accept), an int HTTP status
    with an optional Twilio code as (status, code), or an exception instance to raise.
    """

    def __init__(self, script: list | None = None):
        quiet = logging.getLogger("minyi.twilio.fake")
        quiet.propagate = False
        super().__init__(quiet, False, None)
        self.requests: list[dict] = []
        self.script = list(script or [])

    def request(self, method, uri, params=None, data=None, headers=None, auth=None, **_):
        from twilio.http.response import Response

        self.requests.append({"method": method, "uri": uri, "data": dict(data or {})})
        outcome = self.script.pop(0) if self.script else None
        if isinstance(outcome, BaseException):
            raise outcome
        if outcome is not None:
            status, code = outcome if isinstance(outcome, tuple) else (outcome, outcome)
            return Response(
                status, json.dumps({"code": code, "message": "refused", "status": status})
            )
        sid = "SM" + secrets.token_hex(16)
        body = {"sid": sid, "status": "queued", "to": (data or {}).get("To"), "num_segments": "1"}
        return Response(201, json.dumps(body))

    @property
    def sent(self) -> list[dict]:
        """The message requests the fake accepted or refused, in order."""
        return [r["data"] for r in self.requests if r["uri"].endswith("/Messages.json")]


def make_sender(config: dict) -> SmsSender:
    """The configured provider: SMS_PROVIDER, else Twilio with credentials, else the console."""
    choice = config.get("SMS_PROVIDER") or (
        "twilio"
        if config.get("TWILIO_ACCOUNT_SID") and config.get("TWILIO_AUTH_TOKEN")
        else "console"
    )
    if choice == "console":
        return ConsoleSender()
    if choice == "twilio":
        return TwilioSender(
            config["TWILIO_ACCOUNT_SID"],
            config["TWILIO_AUTH_TOKEN"],
            config.get("TWILIO_FROM_NUMBER"),
            config.get("TWILIO_MESSAGING_SERVICE_SID"),
        )
    module, _, attribute = choice.partition(":")
    factory: Callable[[dict], SmsSender] = getattr(importlib.import_module(module), attribute)
    return factory(config)


def get_sender(app) -> SmsSender:
    """The app's sender, built once (tests may put their own in app.extensions['sms_sender'])."""
    sender = app.extensions.get("sms_sender")
    if sender is None:
        sender = app.extensions["sms_sender"] = make_sender(app.config)
    return sender
