"""A browsable page of the OpenAPI document, rendered by our own script under the strict CSP."""

from flask import Blueprint, render_template

bp = Blueprint("apidocs", __name__)


@bp.get("/api/v1/docs")
def docs():
    """The API reference: app/static/apidocs/apidocs.js renders /api/v1/openapi.json."""
    return render_template("apidocs.html")
