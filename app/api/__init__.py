"""The JSON API under /api/v1 (flask-smorest).

Adding endpoints: write a module with a flask_smorest ``Blueprint`` whose url_prefix starts
with /api/v1, protect its views with ``@require_scope("...")`` (app/api/auth.py), and list the
blueprint in ``api_blueprints()`` below. Registration makes it CSRF-exempt (it authenticates
by token), puts it under the shared per-token rate limit, answers its errors in the one JSON
shape, and documents it in /api/v1/openapi.json.
"""

from flask import Flask, current_app, request
from flask_smorest import Api
from flask_smorest import Blueprint as ApiBlueprint
from werkzeug.exceptions import HTTPException

from app.api.auth import REALM, SECURITY_SCHEME, rate_limit_key
from app.api.errors import api_error_response
from app.api.schemas import ErrorSchema
from app.extensions import csrf, limiter

API_PREFIX = "/api/"
DEFAULTS = {
    "API_TITLE": "Minyi API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    # No Swagger UI, ReDoc or RapiDoc: they load scripts from a CDN, which a government
    # intranet may block and the CSP forbids. The JSON document is enough for clients.
    # Requests per token (per client address without a valid token), across the whole API.
    "API_RATE_LIMIT": "300 per minute",
}


def api_blueprints() -> list[ApiBlueprint]:
    """Every API blueprint, in one place: later issues add theirs here."""
    from app.api.hotline import bp as hotline_bp  # issue 5
    from app.api.links import bp as links_bp
    from app.api.responses_export import bp as responses_export_bp  # issue 8, item 6
    from app.api.scores import bp as scores_bp  # issue 8
    from app.api.views import bp as meta_bp

    return [meta_bp, links_bp, hotline_bp, scores_bp, responses_export_bp]


class MinyiApi(Api):
    """flask-smorest's Api documenting our error shape and leaving app-wide handlers alone."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        # flask-smorest would answer every HTTP error of the whole site in JSON; the staff
        # pages want HTML. The API's handler is installed per blueprint and for /api/ paths.
        pass


def _api_rate_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


# One limit object for every API blueprint and every app: a shared scope means a token's
# budget covers the whole API, and re-applying the same object on each create_app adds nothing.
API_RATE_LIMIT = limiter.shared_limit(_api_rate_limit, scope="api", key_func=rate_limit_key)


def register_api_blueprint(api: Api, blp: ApiBlueprint, **options) -> None:
    """Register one API blueprint: CSRF-exempt, rate-limited, JSON errors, documented."""
    csrf.exempt(blp)
    API_RATE_LIMIT(blp)
    if not getattr(blp, "_minyi_api_errors", False):
        # Blueprint-level so it wins over any app-wide HTML handler for errors in our views.
        blp.register_error_handler(HTTPException, api_error_response)
        blp._minyi_api_errors = True
    api.register_blueprint(blp, **options)


def get_api(app: Flask | None = None) -> Api:
    """The Api instance of the app (one per app, so several apps can coexist in tests)."""
    return (app or current_app).extensions["minyi_api"]


def _fallback_error_handler(exc: HTTPException):
    # Used only when the app has no site-wide HTTP error handler of its own (app/errors.py
    # calls api_error_response for /api/ paths itself): JSON under /api/, Werkzeug's page elsewhere.
    if request.path.startswith(API_PREFIX):
        return api_error_response(exc)
    return exc


def init_api(app: Flask) -> None:
    """Register the API blueprints, error handlers and OpenAPI document."""
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    api = MinyiApi(
        app,
        spec_kwargs={
            "info": {
                "description": (
                    "Minyi's JSON API. Authenticate with 'Authorization: Bearer <token>'; "
                    "each operation lists the scopes it needs in x-required-scopes. "
                    'Every error is answered as {"error": {status, code, message, details}}.'
                )
            }
        },
    )
    api.spec.components.security_scheme(
        SECURITY_SCHEME,
        {
            "type": "http",
            "scheme": "bearer",
            "description": (
                f"{REALM} token (my_…), created with 'flask tokens create'. "
                "Scoped and tied to one organization."
            ),
        },
    )
    app.extensions["minyi_api"] = api
    # app/errors.py routes /api/ errors through this; see _fallback_error_handler.
    app.extensions["minyi_api_error_handler"] = api_error_response
    for blp in api_blueprints():
        register_api_blueprint(api, blp)
    if HTTPException not in app.error_handler_spec[None][None]:
        app.register_error_handler(HTTPException, _fallback_error_handler)

    @app.after_request
    def _api_no_store(response):
        # Answers depend on the token: no shared cache may keep them.
        if request.path.startswith(API_PREFIX):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    from app.api.cli import tokens_cli

    app.cli.add_command(tokens_cli)
