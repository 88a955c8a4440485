"""GET /api/v1/campaigns/<id>/responses: the anonymized response-level export for analysts.

The rules (coarsening, withholding, free text) live in app/scores/export_responses.py; this
module checks the token and the parameters and renders JSON or CSV.
"""

from flask import Response, g
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from app.api.auth import require_scope
from app.api.errors import api_abort
from app.api.schemas_scores import Out
from app.campaigns.models import Campaign
from app.extensions import db
from app.scores.export_responses import build_response_export, export_csv

bp = Blueprint(
    "api_responses_export",
    __name__,
    url_prefix="/api/v1",
    description="Anonymized response-level data for analysts: one row per response with coded "
    "answers, coarse strata and weights, and a codebook. Strata cells under the campaign's "
    "anonymity threshold k are coarsened or withheld; free text only on request, scrubbed.",
)

FORMATS = ("json", "csv")
MAX_ID = 2**31 - 1


class ResponsesQuerySchema(Schema):
    """Query parameters: an unknown one is refused with the list of valid ones."""

    class Meta:
        unknown = RAISE

    format = fields.String(
        load_default="json",
        validate=validate.OneOf(FORMATS),
        metadata={"description": "json (rows and codebook) or csv (rows, UTF-8 with BOM)."},
    )
    include_text = fields.Boolean(
        load_default=False,
        truthy={"1", "true"},
        falsy={"0", "false"},
        error_messages={"invalid": "Not a valid value: use 1 or 0 (true or false)."},
        metadata={
            "description": "1: add free-text answers, scrubbed, only for rows whose strata "
            "cell has at least k rows."
        },
    )

    def handle_error(self, error, data, **kwargs):
        valid = ", ".join(sorted(self.fields))
        messages = error.messages if isinstance(error.messages, dict) else {}
        for key, problems in messages.items():
            if problems == ["Unknown field."]:
                messages[key] = [f"Unknown parameter. Valid parameters: {valid}."]
        raise ValidationError(messages, data=data, valid_data=error.valid_data)


class CodeSchema(Out):
    code = fields.Raw(required=True, metadata={"description": "The value in the rows."})
    value = fields.String(required=True, metadata={"description": "The stored option value."})
    label = fields.String(allow_none=True, required=True)


class VariableSchema(Out):
    name = fields.String(required=True, metadata={"description": "Column name in the rows."})
    kind = fields.String(required=True)
    role = fields.String(
        required=True,
        validate=validate.OneOf(("row", "stratum", "weight", "answer", "free_text")),
    )
    label = fields.String(allow_none=True, required=True)
    question = fields.String(allow_none=True, required=True)
    codes = fields.List(fields.Nested(lambda: CodeSchema()), allow_none=True, required=True)
    option = fields.String()
    target = fields.String()
    item = fields.String()
    minimum = fields.Float()
    maximum = fields.Float()


class ExportCampaignSchema(Out):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    period = fields.String(required=True)
    questionnaire_version = fields.String(required=True)


class CodebookSchema(Out):
    campaign = fields.Nested(lambda: ExportCampaignSchema(), required=True)
    anonymity_k = fields.Integer(required=True)
    strata = fields.List(fields.String(), required=True)
    coarsening = fields.List(
        fields.String(), required=True, metadata={"description": "Dropped in this order."}
    )
    weighting = fields.Dict(
        keys=fields.String(),
        required=True,
        metadata={"description": "How the weights were computed (the scores' own method)."},
    )
    variables = fields.List(fields.Nested(lambda: VariableSchema()), required=True)
    notes = fields.List(fields.String(), required=True)


class CoarsenedSchema(Out):
    dropped = fields.List(fields.String(), required=True)
    rows = fields.Integer(required=True)


class ResponsesExportSchema(Out):
    codebook = fields.Nested(lambda: CodebookSchema(), required=True)
    rows = fields.List(
        fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True)),
        required=True,
        metadata={
            "description": "One object per exported response, keyed by the codebook's variable "
            "names; row is a number of this export only, and the order says nothing."
        },
    )
    withheld = fields.Integer(
        required=True, metadata={"description": "Rows left out: still in a cell under k."}
    )
    coarsened = fields.List(fields.Nested(lambda: CoarsenedSchema()), required=True)


@bp.route("/campaigns/<int:campaign_id>/responses")
@require_scope("responses:read")
@bp.arguments(ResponsesQuerySchema, location="query", unknown=RAISE, as_kwargs=True)
@bp.response(200, ResponsesExportSchema)
@bp.alt_response(
    200,
    schema={"type": "string", "format": "binary"},
    content_type="text/csv",
    description="With format=csv: the rows, UTF-8 with BOM, header = variable names.",
    success=True,
)
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def export_responses(campaign_id, format, include_text):  # noqa: A002 - the query parameter
    """Anonymized rows of the campaign's complete, non-test responses, and their codebook.

    Strata are district, age band, sex and channel. A cell with fewer than k rows is coarsened
    (sex, then age band become "*"); rows still in a cell under k are withheld and counted.
    Free text only with include_text=1, scrubbed, and only for rows whose exact cell has at
    least k rows. Another organization's campaign: 403.
    """
    # Ids beyond the column's range are nobody's (and must not reach the database driver).
    campaign = db.session.get(Campaign, campaign_id) if campaign_id <= MAX_ID else None
    if campaign is None or campaign.org_id != g.org_id:
        # One answer for missing and foreign campaigns: no hint which ids exist elsewhere.
        api_abort(403, "The campaign is not one of your organization's.", code="forbidden")
    export = build_response_export(campaign, include_text=include_text)
    if format == "csv":
        return Response(
            export_csv(export),
            mimetype="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="campaign-{campaign.id}-responses.csv"',
                "Content-Type": "text/csv; charset=utf-8",
            },
        )
    return {
        "codebook": export.codebook,
        "rows": export.rows,
        "withheld": export.withheld,
        "coarsened": export.coarsened,
    }
