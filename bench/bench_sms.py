"""SMS figures: inbound replies/s through the signed webhook, outbound texts/s by one worker.

Inbound: Minyi under gunicorn on a scratch PostgreSQL database, loaded by wrk with pre-signed
Twilio webhook posts (each a real dialogue step of one of N phones: three rounds of replies, the
third completes a response through record_response), beside the bare-stack ceiling of
../shared/bench/ in the same run, same gunicorn settings. Outbound: one in-process worker
(run_sender) handing texts to the twilio library, whose HTTP client is the local fake, with the
throttle off. A benchmark, not a test: it prints figures.

    .venv/bin/python bench/bench_sms.py [--duration 20] [--workers 4] [--phones 4000]
Needs: PostgreSQL on 127.0.0.1:5432 (user postgres), Debian's wrk.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import (  # noqa: E402
    ROOT,
    SHARED_BENCH,
    VENV_BIN,
    drop_db,
    fresh_db,
    gunicorn,
    sh,
    stop,
    wait_up,
    wrk,
)

PORT, CEILING_PORT = 5911, 5910
TOKEN = "bench-twilio-auth-token"

# Runs inside the app (python -c): seeds the campaign, measures outbound, writes signed requests.
SETUP = r"""
import json, sys, time
from urllib.parse import urlencode
from twilio.request_validator import RequestValidator
from app import create_app
from app.accounts.service import get_or_create_org
from app.campaigns.service import create_campaign
from app.channels.senders import FakeTwilioHttpClient, TwilioSender
from app.extensions import db
from app.questionnaires.service import import_published
from app.sms import service
from app.sms.jobs import run_sender
from app.targets.models import Unit

phones, out = int(sys.argv[1]), sys.argv[2]
definition = {
    "format": 1, "key": "sms-bench", "kind": "social_satisfaction", "title": {"zh": "短信压测"},
    "indicators": [{"key": "service", "name": {"zh": "服务"}}],
    "questions": [
        {"key": "sat", "kind": "single_choice", "text": {"zh": "满意吗？"}, "indicator": "service",
         "options": [{"value": "good", "label": {"zh": "满意"}, "score": 100},
                     {"value": "bad", "label": {"zh": "不满意"}, "score": 0}]},
        {"key": "solved", "kind": "yes_no", "text": {"zh": "解决了吗？"}},
        {"key": "rate", "kind": "rating", "text": {"zh": "打分"}, "min": 1, "max": 5},
    ],
    "scoring": {"scheme": "satisfaction"},
}
numbers = [f"+86139{n:08d}" for n in range(10_000_000, 10_000_000 + phones)]
app = create_app()
with app.app_context():
    org = get_or_create_org("bench")
    unit = Unit(org_id=org.id, code="u", name="鼓楼区", level="county", type="district")
    db.session.add(unit)
    version = import_published(org.id, definition)
    db.session.flush()
    campaign = create_campaign(org.id, version, "bench", "2026", ["sms_dialogue"], units=[unit])
    campaign.status = "open"
    db.session.commit()
    csv = "phone\n" + "\n".join(numbers) + "\n"
    service.start_contact_upload(campaign, "bench.csv", csv.encode())
    db.session.commit()  # the in-process job imports the contacts here
    started = time.perf_counter()
    queued = service.queue_campaign_texts(campaign)
    queue_s = time.perf_counter() - started
    fake = FakeTwilioHttpClient()
    sender = TwilioSender("AC" + "0" * 32, "x", "+15005550006", http_client=fake)
    started = time.perf_counter()
    counts = run_sender(sender, campaign.id, limit=phones + 10)
    send_s = time.perf_counter() - started
    validator = RequestValidator(app.config["TWILIO_AUTH_TOKEN"])
    url = app.config["PUBLIC_BASE_URL"] + "/sms/twilio/inbound"
    with open(out, "w") as f:
        for round_, text in enumerate(("1", "是", "4")):
            for i, phone in enumerate(numbers):
                params = {"From": phone, "To": "+15005550006", "Body": text,
                          "MessageSid": f"SM{round_:02d}{i:030d}"}
                f.write(validator.compute_signature(url, params) + "\t" + urlencode(params) + "\n")
    print(json.dumps({"queued": queued, "queue_s": queue_s, "sent": counts["sent"], "send_s": send_s,
                      "provider_requests": len(fake.sent)}))
"""

COUNT = r"""
from sqlalchemy import func, select
from app import create_app
from app.extensions import db
from app.responses.models import Response
from app.sms.models import SmsInbound
app = create_app()
with app.app_context():
    print(db.session.scalar(select(func.count()).select_from(Response)),
          db.session.scalar(select(func.count()).select_from(SmsInbound)))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--phones", type=int, default=4000)
    options = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk")
    env = {
        **os.environ,
        "DATABASE_URL": fresh_db("minyi_bench_sms"),
        "SECRET_KEY": "bench",
        "RESPONDENT_KEY_SECRET": "bench",
        "CONTACT_ENCRYPTION_KEYS": "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE=",
        "TWILIO_AUTH_TOKEN": TOKEN,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{PORT}",
        "SMS_SEND_WINDOW": "00:00-00:00",
        "SMS_RATE_PER_SECOND": "0",
    }
    env.pop("REDIS_URL", None)
    ceiling_env = {**os.environ, "DATABASE_URL": fresh_db("minyi_bench_sms_ceiling")}
    workdir = Path(tempfile.mkdtemp(prefix="bench_sms_"))
    requests_file = workdir / "inbound.tsv"
    minyi = ceiling = None
    try:
        sh(str(VENV_BIN / "flask"), "--app", "wsgi", "db", "upgrade", "heads", env=env)
        setup = sh(
            str(VENV_BIN / "python"), "-c", SETUP, str(options.phones), str(requests_file), env=env
        )
        outbound = json.loads(setup.stdout.strip().splitlines()[-1])
        minyi = gunicorn("wsgi:app", PORT, env, options.workers)
        ceiling = gunicorn(
            "ceiling_app:app", CEILING_PORT, ceiling_env, options.workers, chdir=SHARED_BENCH
        )
        wait_up(f"http://127.0.0.1:{PORT}/api/v1/ping")
        wait_up(f"http://127.0.0.1:{CEILING_PORT}/ping")
        ceiling_figures = wrk(
            f"http://127.0.0.1:{CEILING_PORT}/collect",
            SHARED_BENCH / "ceiling_post.lua",
            options.duration,
            2,
            16,
        )
        wrk_env = {**os.environ, "SMS_BENCH_REQUESTS": str(requests_file), "SMS_BENCH_THREADS": "2"}
        inbound = wrk(
            f"http://127.0.0.1:{PORT}/sms/twilio/inbound",
            ROOT / "bench" / "sms_inbound.lua",
            options.duration,
            2,
            16,
            env=wrk_env,
        )
        responses, receipts = (
            int(x) for x in sh(str(VENV_BIN / "python"), "-c", COUNT, env=env).stdout.split()
        )
    finally:
        for proc in (minyi, ceiling):
            if proc is not None:
                stop(proc)
        drop_db("minyi_bench_sms")
        drop_db("minyi_bench_sms_ceiling")
        shutil.rmtree(workdir, ignore_errors=True)
    total = options.phones * 3
    print(
        f"gunicorn -w {options.workers} sync, wrk -t2 -c16 on loopback, {options.duration}s each, PostgreSQL 127.0.0.1"
    )
    print(f"{'path':48} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'÷ ceiling':>10}")
    for name, f in (
        ("ceiling POST /collect (1 response + 10 answers)", ceiling_figures),
        ("Minyi POST /sms/twilio/inbound (signed reply)", inbound),
    ):
        print(
            f"{name:48} {f['rps']:8.0f} {f['p50']:8.1f} {f['p99']:8.1f} {f['errors']:7d} {f['rps'] / ceiling_figures['rps']:10.2f}"
        )
    wrapped = (
        " (the request list wrapped: later ones were idempotent replays)"
        if inbound["requests"] > total
        else ""
    )
    print(
        f"inbound: {receipts} distinct MessageSids handled, {responses} responses completed{wrapped}"
    )
    print(
        f"outbound, one worker, throttle off, twilio library on a fake HTTP client: "
        f"{outbound['sent']} texts in {outbound['send_s']:.2f}s = {outbound['sent'] / outbound['send_s']:.0f}/s "
        f"(queueing {outbound['queued']} first texts took {outbound['queue_s']:.2f}s = {outbound['queued'] / outbound['queue_s']:.0f}/s)"
    )


if __name__ == "__main__":
    main()
