"""The Celery worker's entry point: ``celery -A app.celery_app worker`` (``make worker``).

Builds the Flask app from the environment; create_app -> init_jobs imports JOB_MODULES, so every
job is registered, and creates the Celery app whose tasks run inside ``flask_app.app_context()``.
"""

from celery.signals import worker_process_init

from app import create_app
from app.extensions import db

flask_app = create_app()
if "celery" not in flask_app.extensions:
    raise RuntimeError(
        "The Celery worker needs REDIS_URL (its broker). Without REDIS_URL jobs run in-process "
        "and no worker is needed."
    )
celery = flask_app.extensions["celery"]


@worker_process_init.connect
def _own_connections_per_process(**_kwargs) -> None:
    # Prefork children inherit the parent's connection pools; a connection shared across
    # processes corrupts both sides, so each child starts with empty pools.
    with flask_app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)
