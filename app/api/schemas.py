"""Hand-written API schemas: the public contract, never generated from the tables."""

from marshmallow import Schema, fields


class ErrorBodySchema(Schema):
    status = fields.Integer(required=True, metadata={"description": "HTTP status code"})
    code = fields.String(
        required=True,
        metadata={"description": "Machine-readable error code, e.g. bad_request, invalid_token"},
    )
    message = fields.String(required=True, metadata={"description": "Human-readable message"})
    details = fields.Dict(
        required=True,
        metadata={"description": "Per-location, per-field problems (validation errors); may be {}"},
    )


class ErrorSchema(Schema):
    """Every 4xx/5xx answer of the API."""

    error = fields.Nested(lambda: ErrorBodySchema(), required=True)


class PingSchema(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})
    api_version = fields.String(required=True, metadata={"example": "v1"})


class OrganizationRefSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)


class TokenInfoSchema(Schema):
    name = fields.String(required=True)
    prefix = fields.String(
        required=True, metadata={"description": "First characters of the token, to tell it apart"}
    )
    scopes = fields.List(fields.String(), required=True)
    created_at = fields.DateTime(required=True)


class MeSchema(Schema):
    """The calling token and its organization."""

    organization = fields.Nested(lambda: OrganizationRefSchema(), required=True)
    token = fields.Nested(lambda: TokenInfoSchema(), required=True)
