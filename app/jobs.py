"""Background jobs: in-process without REDIS_URL, through Celery with it.

A job is a function of ids (ints and strs) marked with ``@job``. It runs inside an app context,
re-reads its rows, commits its own unit of work and is safe to run twice: Celery redelivers the
job of a worker that died mid-run. ``enqueue(job, *ids)`` called with a transaction open holds
the job until that transaction commits, and drops it if the transaction rolls back (rule 5).

A later issue adds a job by writing it in a module under app/, decorating it with ``@job`` and
appending the module's dotted name to ``JOB_MODULES`` so every process, the worker included,
imports it.
"""

import importlib
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from celery import Celery, Task, shared_task
from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, SessionTransaction

from app.extensions import db
from app.logs import exception_summary

log = logging.getLogger(__name__)

# Modules that define jobs; init_jobs imports them in every process so the worker registers them.
JOB_MODULES: list[str] = ["app.sms.jobs", "app.scores.jobs", "app.scores.webhooks"]

# Publishing to the broker: a few quick tries, so a Redis blip does not lose the job and a Redis
# outage does not hold a web request for long.
PUBLISH_RETRY_POLICY = {
    "max_retries": 3,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 2,
}
# Running in the worker: transient database errors (lost connection, deadlock, serialization
# failure, SQLite lock) are retried with backoff; jobs are idempotent, so a rerun is harmless.
DEFAULT_RETRY_FOR: tuple[type[Exception], ...] = (OperationalError,)
MAX_RETRIES = 5

_REGISTRY: dict[str, "Job"] = {}
_PENDING = "minyi.pending_jobs"
_COMMITTED = "minyi.root_committed"


class JobArgumentError(TypeError):
    """A job was given something other than ids, or the wrong number of them."""


class JobFailed(Exception):
    """A job raised; the message names the job and the exception class only, never its text."""


@dataclass(frozen=True)
class Job:
    name: str
    fn: Callable[..., object]
    retry_for: tuple[type[Exception], ...] = DEFAULT_RETRY_FOR
    signature: inspect.Signature | None = field(repr=False, compare=False, default=None)

    def __call__(self, *args):
        """Run the job now, in the caller's app context and session (which the job commits)."""
        return self.fn(*args)

    def enqueue(self, *args) -> None:
        """Shorthand for enqueue(self, *args)."""
        enqueue(self, *args)


@dataclass(frozen=True)
class _Pending:
    transaction: SessionTransaction
    app: Flask
    job: Job
    args: tuple


def job(fn=None, *, name: str | None = None, retry_for: tuple[type[Exception], ...] = ()):
    """Mark a function of ids as a job and register a Celery task of the same name.

    ``retry_for`` adds exception classes that the worker retries with backoff (for instance an
    SMS provider's transient errors) to the transient database errors it always retries.
    """

    def register(fn):
        job_name = name or fn.__name__
        existing = _REGISTRY.get(job_name)
        if existing and _origin(existing.fn) != _origin(fn):
            raise ValueError(
                f"job name {job_name!r} is taken by {'.'.join(_origin(existing.fn))}; "
                "pass @job(name=...) to choose another"
            )
        registered = Job(job_name, fn, DEFAULT_RETRY_FOR + tuple(retry_for), inspect.signature(fn))
        _REGISTRY[job_name] = registered
        # shared_task registers the task with every Celery app, including ones created later.
        shared_task(
            name=job_name,
            bind=True,
            acks_late=True,
            reject_on_worker_lost=True,
            max_retries=MAX_RETRIES,
            ignore_result=True,
        )(_task_body(registered))
        return registered

    return register(fn) if fn is not None else register


def register_job(fn, *, name: str | None = None, retry_for=()) -> Job:
    """Register ``fn`` as a job without decorator syntax."""
    return job(fn, name=name, retry_for=retry_for)


def get_job(job_or_name: "Job | str") -> Job:
    """Look a job up by name (or return it when given a Job)."""
    if isinstance(job_or_name, Job):
        return job_or_name
    try:
        return _REGISTRY[job_or_name]
    except KeyError:
        raise LookupError(f"no job named {job_or_name!r}; is its module in JOB_MODULES?") from None


def enqueue(job_or_name: "Job | str", *args) -> None:
    """Run a job after the current transaction commits, or now if none is open.

    Needs an app context. Without REDIS_URL the job runs here, synchronously, in its own app
    context and session; its exceptions are logged, never raised into the caller. With REDIS_URL
    the job is sent to Celery; if the broker stays unreachable the error is logged when the send
    followed a commit (the committed work must not look failed) and raised when it did not.
    """
    found = get_job(job_or_name)
    _check_args(found, args)
    app = current_app._get_current_object()
    session = db.session() if db.session.registry.has() else None
    transaction = session and (session.get_nested_transaction() or session.get_transaction())
    if transaction is None:
        _dispatch(app, found, args)
        return
    session.info.setdefault(_PENDING, []).append(_Pending(transaction, app, found, args))


def import_job_modules(names: list[str] | None = None) -> None:
    """Import the modules that define jobs (JOB_MODULES by default)."""
    for module in JOB_MODULES if names is None else names:
        importlib.import_module(module)


def celery_config(redis_url: str) -> dict:
    """Celery settings for a Redis broker."""
    return {
        "broker_url": redis_url,
        "result_backend": redis_url,
        # Jobs report through the database; stored results would only pile up in Redis.
        "task_ignore_result": True,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            # An unacknowledged job (its worker host vanished) is redelivered after this long;
            # jobs must finish well within it, or they run twice concurrently.
            "visibility_timeout": 3600,
            "socket_connect_timeout": 3,
        },
        # Acknowledge after the job ran, so a crash mid-job means redelivery, not loss.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_prefetch_multiplier": 1,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_publish_retry": True,
        "task_publish_retry_policy": PUBLISH_RETRY_POLICY,
    }


def make_celery(app: Flask) -> Celery:
    """Create the app's Celery instance (Flask's examples/celery pattern) as extensions['celery']."""

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.import_name, task_cls=FlaskTask)
    celery.conf.update(celery_config(app.config["REDIS_URL"]))
    # app.config["CELERY"] overrides, e.g. a per-test-run queue name.
    celery.conf.update(app.config.get("CELERY") or {})
    celery.set_default()
    app.extensions["celery"] = celery
    return celery


def init_jobs(app: Flask) -> None:
    """Bind the job runner to the app: Celery when REDIS_URL is set, in-process otherwise."""
    if not event.contains(Session, "after_commit", _after_commit):
        # Listening on the Session class covers every session, Flask-SQLAlchemy's included.
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_soft_rollback)
        event.listen(Session, "after_transaction_end", _after_transaction_end)
    import_job_modules()
    if app.config.get("REDIS_URL"):
        make_celery(app)


def _origin(fn) -> tuple[str, str]:
    return fn.__module__, fn.__qualname__


def _check_args(found: Job, args: tuple) -> None:
    for position, value in enumerate(args, start=1):
        # Exact types: bool is an int and enums are ints or strs, but neither is an id, and
        # anything else would not survive JSON unchanged. The value itself is never quoted.
        if type(value) not in (int, str):
            raise JobArgumentError(
                f"job {found.name!r} takes ids (int or str), but argument {position} is a "
                f"{type(value).__name__}; pass the row's id and let the job re-read it"
            )
    try:
        found.signature.bind(*args)
    except TypeError as exc:
        raise JobArgumentError(f"job {found.name!r}: {exc}") from None


def _log_failure(name: str, exc: BaseException, *, retrying: bool = False) -> None:
    # The job, the exception class and where it was raised; never the message or the args.
    log.error(
        "Job %s failed%s: %s",
        name,
        " (it will be retried)" if retrying else "",
        exception_summary(exc),
    )


def _warn_uncommitted(name: str) -> None:
    if not db.session.registry.has():
        return
    session = db.session()
    if session.new or session.dirty or session.deleted:
        log.warning("Job %s returned with uncommitted changes; they are rolled back", name)


def _run_in_process(app: Flask, found: Job, args: tuple) -> None:
    # A fresh app context gives the job its own session, as a worker would.
    with app.app_context():
        try:
            found.fn(*args)
        except Exception as exc:
            _log_failure(found.name, exc)
        else:
            _warn_uncommitted(found.name)


def _dispatch(app: Flask, found: Job, args: tuple) -> None:
    celery = app.extensions.get("celery")
    if celery is None:
        _run_in_process(app, found, args)
    else:
        celery.tasks[found.name].apply_async(
            args=list(args), retry=True, retry_policy=PUBLISH_RETRY_POLICY
        )


def _task_body(found: Job):
    def run(task, *args):
        try:
            found.fn(*args)
        except found.retry_for as exc:
            retrying = task.request.retries < task.max_retries
            _log_failure(found.name, exc, retrying=retrying)
            failure = JobFailed(f"job {found.name} failed with {type(exc).__qualname__}")
        except Exception as exc:
            _log_failure(found.name, exc)
            retrying = False
            failure = JobFailed(f"job {found.name} failed with {type(exc).__qualname__}")
        else:
            _warn_uncommitted(found.name)
            return None
        # Raised outside the except blocks, so the original exception (whose text may hold
        # personal data) is not chained into Celery's failure log or the broker.
        if retrying:
            raise task.retry(exc=failure, countdown=min(300, 10 * 2**task.request.retries))
        raise failure

    run.__name__ = run.__qualname__ = found.name
    run.__module__ = found.fn.__module__
    run.__doc__ = found.fn.__doc__
    return run


def _inside(transaction: SessionTransaction | None, boundary: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is boundary:
            return True
        transaction = transaction.parent
    return False


def _after_commit(session: Session) -> None:
    # Releasing a savepoint also fires after_commit; only the outermost commit makes work durable.
    if not session.in_nested_transaction():
        session.info[_COMMITTED] = True


def _after_soft_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    # A rolled-back savepoint drops the jobs enqueued inside it; the outer transaction keeps its own.
    pending = session.info.get(_PENDING)
    if pending:
        pending[:] = [p for p in pending if not _inside(p.transaction, previous_transaction)]


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return
    pending = session.info.pop(_PENDING, None)
    committed = session.info.pop(_COMMITTED, False)
    if not pending:
        return
    if not committed:
        log.debug("Discarded %d job(s): their transaction ended without a commit", len(pending))
        return
    # Runs once the connection is back in the pool, so an in-process job sees the committed rows.
    for p in pending:
        try:
            _dispatch(p.app, p.job, p.args)
        except Exception as exc:
            log.error(
                "Job %s could not be sent after its transaction committed (%s)",
                p.job.name,
                type(exc).__qualname__,
            )
