"""Minyi: survey and mobile feedback service for public-sector assessment."""

from pathlib import Path

from flask import Flask, request
from flask_babel import get_locale
from sqlalchemy.exc import DBAPIError
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import load_config
from app.extensions import babel, csrf, db, limiter, login_manager, migrate
from app.i18n import compile_catalogs, localized
from app.logs import install_log_redaction

MIGRATIONS_DIR = str(Path(__file__).resolve().parents[1] / "migrations")


def select_locale() -> str:
    """?lang= wins (and is remembered in a cookie), then the cookie, then Chinese."""
    wanted = request.args.get("lang") or request.cookies.get("lang")
    return wanted if wanted in ("zh", "en") else "zh"


def create_app(config: dict | None = None) -> Flask:
    """Wire configuration, extensions, blueprints and CLI commands."""
    app = Flask(__name__, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(load_config(Path(app.instance_path)))
    app.config.update(config or {})

    if app.config["PROXY_FIX_HOPS"]:
        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops)

    install_log_redaction()
    compile_catalogs(Path(app.root_path) / "translations")
    db.init_app(app)

    @app.teardown_appcontext
    def _close_session_even_if_the_database_died(exc):
        # Runs before Flask-SQLAlchemy's own teardown. Closing a session whose connection the
        # server dropped (a restart) raises; the answer is already made, so forget the session
        # instead of turning the response into a 500.
        try:
            db.session.remove()
        except DBAPIError:
            db.session.registry.clear()

    migrate.init_app(app, db, directory=MIGRATIONS_DIR)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.filters["t"] = localized
    limiter.init_app(app)

    from app import models  # noqa: F401 - registers every table with the metadata
    from app.accounts import loader  # noqa: F401 - registers the user loader
    from app.accounts.views import bp as accounts_bp
    from app.admin.views import bp as admin_bp
    from app.channels.web import bp as survey_bp
    from app.main.views import bp as main_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(survey_bp)
    # Respondent forms carry no CSRF token (which would expire on a slow respondent): every POST
    # needs the SameSite=Lax draft cookie, which a cross-site form cannot send.
    csrf.exempt(survey_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    from app.channels.simulator import bp as sms_staff_bp
    from app.channels.sms import bp as sms_bp

    app.register_blueprint(sms_bp)  # Twilio webhooks at /sms (CSRF-exempt: signed instead)
    app.register_blueprint(sms_staff_bp, url_prefix="/admin/sms")

    from app.api.docs import bp as apidocs_bp
    from app.scores.views import bp as scores_bp

    app.register_blueprint(scores_bp, url_prefix="/admin/scores")  # and `flask scores …`
    app.register_blueprint(apidocs_bp)  # /api/v1/docs: the OpenAPI document, browsable

    from app.api import init_api

    init_api(app)

    from app.errors import register_error_pages

    register_error_pages(app, api_handler=app.extensions.get("minyi_api_error_handler"))

    from app.jobs import init_jobs

    init_jobs(app)

    from app.security import register_security

    register_security(app)

    from app.cli import register_cli

    register_cli(app)
    return app
