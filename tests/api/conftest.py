"""Apps of our own for API tests that need settings or blueprints the shared app lacks."""

import pytest
from marshmallow import Schema, fields

from app import create_app
from app.api import get_api, register_api_blueprint
from app.api.auth import require_scope
from app.extensions import db as _db
from app.extensions import limiter


class EchoSchema(Schema):
    name = fields.String(required=True)


def echo_blueprint():
    """A test-only endpoint that needs a JSON body and a scope."""
    from flask_smorest import Blueprint

    blp = Blueprint("api_test_echo", __name__, url_prefix="/api/v1/test")

    @blp.route("/echo", methods=["POST"])
    @require_scope("cases:write")
    @blp.arguments(EchoSchema)
    @blp.response(200, EchoSchema)
    def echo(data):
        return data

    @blp.route("/boom")
    def boom():
        raise RuntimeError("secret internals my_notarealtoken")

    return blp


@pytest.fixture
def make_app(tmp_path):
    """make_app(**config) -> a fresh app on its own SQLite file, with the echo blueprint."""
    # The limiter is one object for every app: put back what other tests expect.
    saved = (limiter.enabled, limiter.initialized)
    apps = []

    def make(**config):
        app = create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / f'own{len(apps)}.sqlite3'}",
                "WTF_CSRF_ENABLED": True,
                "RATELIMIT_ENABLED": False,
                "SERVER_NAME": None,
                **config,
            }
        )
        register_api_blueprint(get_api(app), echo_blueprint())
        with app.app_context():
            _db.create_all()
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            _db.session.remove()
            _db.engine.dispose()
    limiter.enabled, limiter.initialized = saved
