"""Soak: the web form, the JSON endpoint and the SMS webhook together at ~80% of their peak.

Minyi runs under gunicorn on a scratch PostgreSQL database. First every stream runs flat out
together for --peak seconds to measure the mix's peak; then each stream is paced at --load (0.8)
of its peak for --duration seconds. Every --window seconds it prints, per stream, completions/s,
errors, p50 and p99 latency, and the memory (RSS) of every gunicorn process; at the end, memory at
start and end. A benchmark, not a test: it prints figures.

    .venv/bin/python bench/soak.py [--duration 300] [--peak 20] [--load 0.8] [--workers 4]
Needs: PostgreSQL on 127.0.0.1:5432 (user postgres).
"""

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.bench_sms import SETUP as SMS_SETUP  # noqa: E402
from bench.bench_web import SETUP as WEB_SETUP  # noqa: E402
from bench.common import fresh_db, gunicorn, sh, stop, wait_up  # noqa: E402

VENV_BIN = ROOT / ".venv" / "bin"
PORT = 5921
BASE = f"http://127.0.0.1:{PORT}"
ANSWERS = {f"q{i}": "good" for i in range(1, 11)}


class Stream:
    """One kind of traffic: completions with their latencies, counted per window."""

    def __init__(self, name, threads):
        self.name, self.threads = name, threads
        self.lock = threading.Lock()
        self.latencies, self.errors, self.total, self.total_errors = [], 0, 0, 0
        self.rate = None  # completions/s for the whole stream; None = flat out

    def record(self, seconds, ok):
        with self.lock:
            if ok:
                self.latencies.append(seconds)
                self.total += 1
            else:
                self.errors += 1
                self.total_errors += 1

    def take(self):
        with self.lock:
            latencies, errors = self.latencies, self.errors
            self.latencies, self.errors = [], 0
        return latencies, errors


def json_once(session, counter):
    key = f"soak-{next(counter)}"
    r = session.post(
        f"{BASE}/api/v1/links/bench/responses",
        json={"answers": ANSWERS},
        headers={"Idempotency-Key": key},
        timeout=30,
    )
    return r.status_code == 201


def web_once(session, _counter):
    session.cookies.clear()
    if session.post(f"{BASE}/s/bench/start", allow_redirects=False, timeout=30).status_code != 302:
        return False
    for number in range(1, 11):
        if (
            session.post(
                f"{BASE}/s/bench/{number}",
                data={"value": "good"},
                allow_redirects=False,
                timeout=30,
            ).status_code
            != 302
        ):
            return False
    return (
        session.post(f"{BASE}/s/bench/submit", data={"website": ""}, timeout=30).status_code == 200
    )


def sms_once_factory(lines):
    lock = threading.Lock()
    iterator = iter(lines)

    def sms_once(session, _counter):
        with lock:
            line = next(iterator, None)
        if line is None:
            raise StopIteration
        signature, body = line.split("\t", 1)
        r = session.post(
            f"{BASE}/sms/twilio/inbound",
            data=body,
            headers={
                "X-Twilio-Signature": signature,
                "Content-Type": "application/x-www-form-urlencoded",
            },
            timeout=30,
        )
        return r.status_code == 200

    return sms_once


def worker(stream, action, stop_at, counter):
    session = requests.Session()
    next_at = time.perf_counter()
    while time.perf_counter() < stop_at:
        if stream.rate:
            interval = stream.threads / stream.rate
            delay = next_at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            next_at = max(next_at + interval, time.perf_counter() - interval)
        started = time.perf_counter()
        try:
            ok = action(session, counter)
        except StopIteration:
            return
        except requests.RequestException:
            ok = False
        stream.record(time.perf_counter() - started, ok)


def rss_mb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def gunicorn_pids(master):
    children = subprocess.run(
        ["pgrep", "-P", str(master)], capture_output=True, text=True
    ).stdout.split()
    return [master, *map(int, children)]


def run_phase(streams, actions, seconds, window, master, label):
    stop_at = time.perf_counter() + seconds
    counter = itertools.count()
    threads = [
        threading.Thread(
            target=worker, args=(stream, actions[stream.name], stop_at, counter), daemon=True
        )
        for stream in streams
        for _ in range(stream.threads)
    ]
    for thread in threads:
        thread.start()
    started, rows = time.perf_counter(), []
    while any(t.is_alive() for t in threads):
        time.sleep(window)
        elapsed = time.perf_counter() - started
        if elapsed > seconds + 1:
            break  # only the tail of in-flight requests is left: not a full window
        cells = []
        for stream in streams:
            latencies, errors = stream.take()
            done = len(latencies)
            p50 = statistics.median(latencies) * 1000 if latencies else float("nan")
            p99 = sorted(latencies)[int(0.99 * (done - 1))] * 1000 if latencies else float("nan")
            cells.append(
                f"{stream.name} {done / window:6.1f}/s err {errors:3d} p50 {p50:6.1f} p99 {p99:7.1f}"
            )
            rows.append((stream.name, done / window, errors))
        memory = " ".join(f"{rss_mb(p) or 0:.0f}" for p in gunicorn_pids(master))
        print(f"[{label} {elapsed:5.0f}s] " + " | ".join(cells) + f" | RSS MB {memory}", flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=300)
    parser.add_argument("--peak", type=int, default=20)
    parser.add_argument("--load", type=float, default=0.8)
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    options = parser.parse_args()
    env = {
        **os.environ,
        "DATABASE_URL": fresh_db("minyi_soak"),
        "RATELIMIT_ENABLED": "0",
        "SECRET_KEY": "soak",
        "RESPONDENT_KEY_SECRET": "soak",
        "CONTACT_ENCRYPTION_KEYS": "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE=",
        "TWILIO_AUTH_TOKEN": "soak-twilio-token",
        "PUBLIC_BASE_URL": BASE,
        "SMS_SEND_WINDOW": "00:00-00:00",
        "SMS_RATE_PER_SECOND": "0",
    }
    env.pop("REDIS_URL", None)
    workdir = Path(tempfile.mkdtemp(prefix="soak_"))
    sh(str(VENV_BIN / "flask"), "--app", "wsgi", "db", "upgrade", "heads", env=env)
    sh(str(VENV_BIN / "python"), "-c", WEB_SETUP, env=env)
    phones = 6000  # 18,000 signed replies: enough for 300 s at 60 replies/s
    sh(
        str(VENV_BIN / "python"),
        "-c",
        SMS_SETUP,
        str(phones),
        str(workdir / "inbound.tsv"),
        env=env,
    )
    lines = (workdir / "inbound.tsv").read_text().splitlines()
    server = gunicorn("wsgi:app", PORT, env, options.workers)
    try:
        wait_up(f"{BASE}/healthz")
        master = server.pid
        streams = [Stream("web", 4), Stream("json", 4), Stream("sms", 4)]
        actions = {"web": web_once, "json": json_once, "sms": sms_once_factory(lines)}
        start_memory = {p: rss_mb(p) for p in gunicorn_pids(master)}
        peak_rows = run_phase(streams, actions, options.peak, options.window, master, "peak")
        peaks = {}
        for stream in streams:
            rates = [rate for name, rate, _ in peak_rows if name == stream.name]
            peaks[stream.name] = statistics.mean(rates) if rates else 0
            stream.rate = max(0.5, options.load * peaks[stream.name])
            stream.total = stream.total_errors = 0
        print(
            "peak (completions/s): " + json.dumps({k: round(v, 1) for k, v in peaks.items()}),
            flush=True,
        )
        rows = run_phase(streams, actions, options.duration, options.window, master, "soak")
        end_memory = {p: rss_mb(p) for p in gunicorn_pids(master)}
    finally:
        stop(server)
    print(
        f"\nsoak {options.duration}s at {options.load:.0%} of the mix's peak, gunicorn -w {options.workers} sync, PostgreSQL"
    )
    for stream in streams:
        attempted = stream.total + stream.total_errors
        rate = statistics.mean([r for n, r, _ in rows if n == stream.name] or [0])
        print(
            f"{stream.name:5} target {stream.rate:6.1f}/s achieved {rate:6.1f}/s "
            f"completed {stream.total:7d} errors {stream.total_errors:5d} ({stream.total_errors / max(attempted, 1):.2%})"
        )
    for pid in sorted(set(start_memory) | set(end_memory)):
        print(
            f"pid {pid}: RSS start {start_memory.get(pid) or 0:.0f} MB, end {end_memory.get(pid) or 0:.0f} MB"
        )


if __name__ == "__main__":
    main()
