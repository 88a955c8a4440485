"""The in-process job runner: jobs wait for the commit, vanish on rollback, never break the caller."""

import logging

import pytest
from sqlalchemy import select

from app import create_app
from app.accounts.models import Organization
from app.extensions import db as _db
from app.jobs import JobArgumentError, enqueue, job

RUNS: list[str] = []


@job
def ensure_job_test_organization(code: str) -> None:
    """Create the organization ``code`` unless it exists: safe to run twice."""
    RUNS.append(code)
    if _db.session.scalar(select(Organization).where(Organization.code == code)) is None:
        _db.session.add(Organization(code=code, name="job test"))
        _db.session.commit()


@job
def failing_job_test_job(org_id: int) -> None:
    RUNS.append(f"failing {org_id}")
    phone = "+86" + "138" + "0013" + "8000"  # built at run time: the log quotes source lines
    raise RuntimeError(f"respondent {phone} could not be reached")


@pytest.fixture(autouse=True)
def _clear_runs():
    RUNS.clear()
    yield
    RUNS.clear()


@pytest.fixture
def job_logs(caplog):
    # Alembic's fileConfig (run by the session fixture's upgrade()) disables loggers that
    # already exist, this one included; re-enable it so the log can be inspected.
    logging.getLogger("app.jobs").disabled = False
    with caplog.at_level(logging.DEBUG, logger="app.jobs"):
        yield caplog


def _codes(db) -> list[str]:
    return sorted(db.session.scalars(select(Organization.code)))


def _open_transaction(db) -> None:
    db.session.add(Organization(code="request", name="the request's own work"))
    db.session.flush()


def test_enqueued_job_does_not_run_until_the_commit(db):
    _open_transaction(db)
    enqueue(ensure_job_test_organization, "after-commit")
    assert RUNS == []
    db.session.commit()
    assert RUNS == ["after-commit"]
    assert _codes(db) == ["after-commit", "request"]


def test_enqueued_job_runs_exactly_once(db):
    _open_transaction(db)
    ensure_job_test_organization.enqueue("once")
    db.session.commit()
    db.session.add(Organization(code="later", name="a later unit of work"))
    db.session.commit()
    assert RUNS == ["once"]


def test_enqueued_job_is_discarded_on_rollback(db):
    _open_transaction(db)
    enqueue(ensure_job_test_organization, "rolled-back")
    db.session.rollback()
    db.session.add(Organization(code="next", name="the next unit of work"))
    db.session.commit()
    assert RUNS == []
    assert _codes(db) == ["next"]


def test_job_enqueued_in_a_rolled_back_savepoint_is_discarded(db):
    _open_transaction(db)
    enqueue(ensure_job_test_organization, "outer")
    with db.session.begin_nested():
        enqueue(ensure_job_test_organization, "released")
    savepoint = db.session.begin_nested()
    enqueue(ensure_job_test_organization, "inner")
    savepoint.rollback()
    db.session.commit()
    assert RUNS == ["outer", "released"]


def test_job_enqueued_in_an_uncommitted_transaction_is_discarded_on_close(db):
    _open_transaction(db)
    enqueue(ensure_job_test_organization, "never-committed")
    db.session.close()
    assert RUNS == []


def test_job_enqueued_outside_a_transaction_runs_at_once(db):
    db.session.remove()
    enqueue("ensure_job_test_organization", "no-transaction")
    assert RUNS == ["no-transaction"]
    assert _codes(db) == ["no-transaction"]


def test_job_run_twice_leaves_one_row(db):
    _open_transaction(db)
    enqueue(ensure_job_test_organization, "twice")
    enqueue(ensure_job_test_organization, "twice")
    db.session.commit()
    assert RUNS == ["twice", "twice"]
    assert _codes(db) == ["request", "twice"]


def test_failing_job_is_logged_without_its_message_and_does_not_break_the_caller(app, db, job_logs):
    with app.test_request_context("/"):
        _open_transaction(db)
        enqueue(failing_job_test_job, 7)
        db.session.commit()  # must not raise
        assert _codes(db) == ["request"]
    assert RUNS == ["failing 7"]
    errors = [r for r in job_logs.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    message = errors[0].getMessage()
    assert "failing_job_test_job" in message
    assert "RuntimeError" in message
    # The exception's text may carry personal data: it stays out of the log, traceback included.
    assert "13800138000" not in job_logs.text
    assert errors[0].exc_info is None


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (({"id": 1},), "argument 1 is a dict"),
        ((1.5,), "argument 1 is a float"),
        ((True,), "argument 1 is a bool"),
        ((None,), "argument 1 is a NoneType"),
        (("a", "b"), "too many positional arguments"),
        ((), "missing a required argument"),
    ],
)
def test_non_id_arguments_are_refused(db, args, expected):
    with pytest.raises(JobArgumentError, match=expected):
        enqueue(ensure_job_test_organization, *args)
    db.session.commit()
    assert RUNS == []


def test_unknown_job_name_is_refused(db):
    with pytest.raises(LookupError, match="no job named 'no_such_job'"):
        enqueue("no_such_job", 1)


def test_job_name_clash_is_refused():
    def ensure_job_test_organization(code: str) -> None:
        """A different function under a registered job's name."""

    with pytest.raises(ValueError, match="is taken by"):
        job(ensure_job_test_organization)


def test_with_redis_url_a_job_is_sent_to_celery_after_the_commit(app, monkeypatch):
    # No broker is contacted: apply_async is replaced, so this checks wiring and timing only.
    celery_flask_app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": "redis://127.0.0.1:1/0",
        }
    )
    celery = celery_flask_app.extensions["celery"]
    task = celery.tasks["ensure_job_test_organization"]
    assert task.acks_late and task.reject_on_worker_lost
    assert celery.conf.worker_prefetch_multiplier == 1
    assert celery.conf.accept_content == ["json"]
    assert celery.conf.broker_connection_retry_on_startup
    sent = []
    monkeypatch.setattr(
        type(task), "apply_async", lambda self, args, **options: sent.append((args, options))
    )
    with celery_flask_app.app_context():
        _db.session.execute(select(1))
        enqueue(ensure_job_test_organization, "via-celery")
        assert sent == []
        _db.session.commit()
    assert RUNS == []
    assert len(sent) == 1
    args, options = sent[0]
    assert args == ["via-celery"]
    assert options["retry"] is True
