"""Completed responses per second through the JSON endpoint and the web form, beside the bare-stack ceiling.

Runs Minyi and ../shared/bench/ceiling_app.py under the same gunicorn settings against scratch
PostgreSQL databases on 127.0.0.1:5432 (user postgres), loads them with wrk on loopback and prints
requests/s, p50 and p99 and the ratio Minyi / ceiling. A benchmark, not a test: it prints figures.

    .venv/bin/python bench/bench_web.py [--duration 20] [--workers 4]
Needs: PostgreSQL on 127.0.0.1:5432, Debian's wrk.
"""

import argparse
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import ROOT, SHARED_BENCH, VENV_BIN, fresh_db, gunicorn, sh, stop, wait_up, wrk  # noqa: E402

SETUP = """
from app import create_app
from app.accounts.service import get_or_create_org
from app.campaigns.service import create_campaign
from app.extensions import db
from app.links.service import add_distribution_point
from app.questionnaires.service import import_published

options = [{"value": v, "label": {"zh": v}, "score": s} for v, s in (("good", 100), ("ok", 50), ("bad", 0))]
definition = {
    "format": 1, "key": "bench", "kind": "social_satisfaction", "title": {"zh": "压测问卷"},
    "option_sets": {"sat": options},
    "indicators": [{"key": "service", "name": {"zh": "服务"}}],
    "questions": [
        {"key": f"q{i}", "kind": "single_choice", "text": {"zh": f"第{i}题"}, "options": "sat", "indicator": "service"}
        for i in range(1, 11)
    ],
    "scoring": {"scheme": "satisfaction"},
}
app = create_app()
with app.app_context():
    org = get_or_create_org("bench")
    version = import_published(org.id, definition)
    db.session.flush()
    campaign = create_campaign(org.id, version, "bench", "2026", ["web"], settings={"anonymity": {"duplicates": "none"}})
    campaign.status = "open"
    add_distribution_point(campaign, "bench", code="bench")
    db.session.commit()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    options = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk")
    env = {
        **os.environ,
        "DATABASE_URL": fresh_db("minyi_bench_web"),
        "RATELIMIT_ENABLED": "0",
        "SECRET_KEY": "bench",
        "RESPONDENT_KEY_SECRET": "bench",
        "CONTACT_ENCRYPTION_KEYS": "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE=",
    }
    env.pop("REDIS_URL", None)
    sh(str(VENV_BIN / "flask"), "--app", "wsgi", "db", "upgrade", "heads", env=env)
    sh(str(VENV_BIN / "python"), "-c", SETUP, env=env)
    ceiling_env = {**os.environ, "DATABASE_URL": fresh_db("minyi_bench_ceiling")}
    minyi = gunicorn("wsgi:app", 5901, env, options.workers)
    ceiling = gunicorn("ceiling_app:app", 5900, ceiling_env, options.workers, chdir=SHARED_BENCH)
    try:
        wait_up("http://127.0.0.1:5901/healthz")
        wait_up("http://127.0.0.1:5900/ping")
        bench = ROOT / "bench"
        rows = [
            (
                "ceiling POST /collect",
                wrk(
                    "http://127.0.0.1:5900/collect",
                    SHARED_BENCH / "ceiling_post.lua",
                    options.duration,
                    2,
                    16,
                ),
            ),
            (
                "Minyi JSON /api/v1/links/bench/responses",
                wrk(
                    "http://127.0.0.1:5901/api/v1/links/bench/responses",
                    bench / "json_post.lua",
                    options.duration,
                    2,
                    16,
                ),
            ),
            (
                "Minyi web form (12 requests per response)",
                wrk(
                    "http://127.0.0.1:5901/s/bench", bench / "web_form.lua", options.duration, 8, 8
                ),
            ),
        ]
    finally:
        stop(minyi)
        stop(ceiling)
    ceiling_rps = rows[0][1]["rps"]
    print(
        f"gunicorn -w {options.workers} sync, wrk on loopback, {options.duration}s each, PostgreSQL 127.0.0.1"
    )
    print(
        f"{'path':45} {'req/s':>8} {'responses/s':>12} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'÷ ceiling':>10}"
    )
    for name, f in rows:
        per_s = f.get("completed_per_s", f["rps"])
        print(
            f"{name:45} {f['rps']:8.0f} {per_s:12.1f} {f['p50']:8.1f} {f['p99']:8.1f} {f['errors']:7d} {per_s / ceiling_rps:10.2f}"
        )


if __name__ == "__main__":
    main()
