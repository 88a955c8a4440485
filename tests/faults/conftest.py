"""Real processes for fault tests: a throwaway PostgreSQL cluster and gunicorn, on their own ports.

They never touch the shared servers the rest of the suite uses. Skipped (with the reason) when
the PostgreSQL server binaries are missing or the tests cannot run them as the postgres user.
"""

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin" if (ROOT / ".venv" / "bin").exists() else Path(sys.executable).parent
PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_postgres(*args, **kwargs):
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", *args],
        check=True,
        capture_output=True,
        text=True,
        **kwargs,
    )


class Cluster:
    """A private PostgreSQL server that tests may stop and restart at will."""

    def __init__(self):
        self.bin = Path(PG_BIN[-1])
        self.dir = Path(tempfile.mkdtemp(prefix="minyi-pg-"))
        self.port = free_port()
        shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"
        as_postgres(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")
        self.start()
        as_postgres(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "minyi")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/minyi"

    def _ctl(self, *args):
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir}"
        return as_postgres(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.dir / "log"),
            "-w",
            *args,
        )

    def start(self):
        self._ctl("start")

    def stop(self):
        self._ctl("stop", "-m", "fast")

    def restart(self):
        self._ctl("restart", "-m", "fast")

    def destroy(self):
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster():
    if not PG_BIN or os.geteuid() != 0 or not shutil.which("runuser"):
        pytest.skip("needs the PostgreSQL server binaries and root (to run them as postgres)")
    try:
        cluster = Cluster()
    except (subprocess.CalledProcessError, KeyError, LookupError) as exc:
        pytest.skip(f"cannot start a private PostgreSQL cluster: {exc}")
    yield cluster
    cluster.destroy()


SETUP = """
from app import create_app
from app.accounts.service import get_or_create_org
from app.campaigns.service import create_campaign
from app.extensions import db
from app.links.service import add_distribution_point
from app.questionnaires.service import import_published

options = [{"value": v, "label": {"zh": v}, "score": s} for v, s in (("good", 100), ("ok", 50), ("bad", 0))]
definition = {
    "format": 1, "key": "fault", "kind": "social_satisfaction", "title": {"zh": "故障测试"},
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
    org = get_or_create_org("fault")
    version = import_published(org.id, definition)
    db.session.flush()
    campaign = create_campaign(org.id, version, "fault", "2026", ["web"], settings={"anonymity": {"duplicates": "none"}})
    campaign.status = "open"
    add_distribution_point(campaign, "fault", code="fault")
    db.session.commit()
"""

ANSWERS = {f"q{i}": "good" for i in range(1, 11)}


def app_env(database_url: str) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "RATELIMIT_ENABLED": "0",
        "SECRET_KEY": "fault-tests",
        "RESPONDENT_KEY_SECRET": "fault-tests",
        "CONTACT_ENCRYPTION_KEYS": "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE=",
    }
    env.pop("REDIS_URL", None)
    return env


@pytest.fixture(scope="module")
def prepared_db(cluster):
    env = app_env(cluster.url)
    subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", "db", "upgrade", "heads"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [str(BIN / "python"), "-c", SETUP], cwd=ROOT, env=env, check=True, capture_output=True
    )
    return cluster


class Gunicorn:
    """gunicorn serving wsgi:app on a free port; stop() sends SIGTERM like a deployment would."""

    def __init__(self, database_url: str, workers: int = 2, graceful: int = 10, extra_env=None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # Kept open for the server process to write to; read back when it fails to start.
        self.log = tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
        args = [
            str(BIN / "gunicorn"),
            "-w",
            str(workers),
            "-k",
            "sync",
            "-b",
            f"127.0.0.1:{self.port}",
        ]
        args += ["--graceful-timeout", str(graceful), "--access-logfile", "/dev/null", "wsgi:app"]
        self.proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**app_env(database_url), **(extra_env or {})},
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=1)  # noqa: S310 - loopback
                return
            except OSError:
                time.sleep(0.2)
        self.kill()
        raise RuntimeError("gunicorn did not start: " + Path(self.log.name).read_text()[-2000:])

    def terminate(self):
        os.killpg(self.proc.pid, signal.SIGTERM)

    def wait(self, timeout=30):
        return self.proc.wait(timeout=timeout)

    def kill(self):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
