"""Helpers the benchmark scripts share: scratch databases, gunicorn, wrk."""

import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_BENCH = ROOT.parent / "shared" / "bench"
VENV_BIN = ROOT / ".venv" / "bin"
PG = "postgresql://postgres@127.0.0.1:5432"


def sh(*args, env=None, check=True):
    return subprocess.run(args, env=env, check=check, capture_output=True, text=True)


def fresh_db(name: str) -> str:
    sh("dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", name)
    sh("createdb", "-h", "127.0.0.1", "-U", "postgres", name)
    return f"{PG}/{name}"


def drop_db(name: str) -> None:
    sh("dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", name, check=False)


def wait_up(url: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)  # noqa: S310 - loopback only
            return
        except Exception:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


def gunicorn(app_spec: str, port: int, env: dict, workers: int, chdir: Path | None = None):
    args = [str(VENV_BIN / "gunicorn"), "-w", str(workers), "-k", "sync", "-b", f"127.0.0.1:{port}"]
    args += ["--log-level", "warning", "--access-logfile", "/dev/null"]
    if chdir:
        args += ["--chdir", str(chdir)]
    return subprocess.Popen([*args, app_spec], env=env, cwd=ROOT, start_new_session=True)


def stop(proc) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def wrk(url: str, script: Path, duration: int, threads: int, connections: int, env=None) -> dict:
    """Run wrk; requests/s, p50/p99 ms, error count (and COMPLETED n/s when the script prints it)."""
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    out = sh(*args, "-s", str(script), url, env=env).stdout
    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    figures["requests"] = int(re.search(r"(\d+) requests in", out).group(1))
    for label, key in (("50%", "p50"), ("99%", "p99")):
        match = re.search(rf"{re.escape(label)}\s+([\d.]+)(us|ms|s)", out)
        figures[key] = float(match.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[match.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    figures["errors"] = int(non2xx.group(1)) if non2xx else 0
    completed = re.search(r"COMPLETED (\d+)", out)
    if completed:
        figures["completed_per_s"] = int(completed.group(1)) / duration
    return figures
