"""The token service and the tokens command group."""

import hashlib

import pytest
from sqlalchemy import text

from app.accounts.models import ApiToken
from app.accounts.tokens import (
    SCOPES,
    TokenError,
    authenticate,
    create_token,
    find_active_token,
    revoke_token,
)
from tests.factories import make_org


def test_tokens_are_random_prefixed_and_stored_only_as_sha256(db):
    org = make_org()
    token, plain = create_token(org.id, "core", ["scores:read"])
    other, plain2 = create_token(org.id, "other", ["scores:read"])
    db.session.commit()
    assert plain.startswith("my_") and len(plain) >= 40 and plain != plain2
    assert token.token_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert plain.startswith(token.prefix) and len(token.prefix) <= 12
    rows = db.session.execute(text("SELECT * FROM api_tokens")).all()
    stored = " ".join(str(value) for row in rows for value in row)
    for secret in (plain, plain2):
        assert secret not in stored
        assert secret[len(token.prefix) :] not in stored


def test_scopes_are_checked_against_the_registry(db):
    org = make_org()
    assert {"scores:read", "cases:write", "responses:write"} <= set(SCOPES)
    with pytest.raises(TokenError, match="unknown scope"):
        create_token(org.id, "core", ["scores:read", "scores:write"])
    with pytest.raises(TokenError, match="at least one scope"):
        create_token(org.id, "core", [])


def test_active_token_names_are_unique_per_organization(db):
    org, other = make_org(), make_org(code="org2")
    token, _ = create_token(org.id, "core", ["scores:read"])
    create_token(other.id, "core", ["scores:read"])
    with pytest.raises(TokenError, match="already has an active token"):
        create_token(org.id, "core", ["scores:read"])
    revoke_token(token)
    create_token(org.id, "core", ["scores:read"])


def test_authenticate_rejects_unknown_malformed_and_revoked_tokens(db):
    org = make_org()
    token, plain = create_token(org.id, "core", ["scores:read"])
    db.session.commit()
    assert authenticate(plain) is token
    for bad in (None, "", "my_", plain + "x", plain[3:], "Bearer " + plain, "my_" + "x" * 500):
        assert authenticate(bad) is None
    revoke_token(token)
    assert authenticate(plain) is None


def test_find_active_token_needs_an_unambiguous_choice(db):
    org = make_org()
    token, _ = create_token(org.id, "core", ["scores:read"])
    assert find_active_token(org.id, token_id=token.id) is token
    assert find_active_token(org.id, prefix=token.prefix) is token
    with pytest.raises(TokenError):
        find_active_token(org.id)
    with pytest.raises(TokenError, match="no active token"):
        find_active_token(org.id, name="nope")


def test_cli_create_prints_the_token_last_and_it_authenticates(runner, client, db):
    make_org(code="org1")
    db.session.commit()
    result = runner.invoke(
        args=[
            "tokens", "create", "--org", "org1", "--name", "assessment core",
            "--scope", "scores:read", "--scope", "cases:write",
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    plain = result.output.strip().splitlines()[-1]
    assert plain.startswith("my_") and " " not in plain
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"})
    assert response.status_code == 200
    assert response.get_json()["token"]["scopes"] == ["cases:write", "scores:read"]

    listed = runner.invoke(args=["tokens", "list", "--org", "org1"])
    assert listed.exit_code == 0 and "assessment core" in listed.output
    assert plain not in listed.output and plain[:11] in listed.output

    revoked = runner.invoke(args=["tokens", "revoke", "--org", "org1", "--name", "assessment core"])
    assert revoked.exit_code == 0, revoked.output
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"}).status_code == 401
    assert "revoked" in runner.invoke(args=["tokens", "list", "--org", "org1"]).output
    again = runner.invoke(args=["tokens", "revoke", "--org", "org1", "--name", "assessment core"])
    assert again.exit_code != 0 and "no active token" in again.output


def test_cli_revoke_by_prefix_and_rejects_unknown_scopes_and_orgs(runner, db):
    org = make_org(code="org1")
    token, plain = create_token(org.id, "core", ["scores:read"])
    db.session.commit()
    result = runner.invoke(args=["tokens", "revoke", "--org", "org1", "--prefix", token.prefix])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is not None
    bad_scope = runner.invoke(
        args=["tokens", "create", "--org", "org1", "--name", "x", "--scope", "everything"]
    )
    assert bad_scope.exit_code != 0 and "everything" in bad_scope.output
    no_org = runner.invoke(
        args=["tokens", "create", "--org", "nope", "--name", "x", "--scope", "scores:read"]
    )
    assert no_org.exit_code != 0 and "no organization" in no_org.output
