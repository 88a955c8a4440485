"""flask tokens …: create, list and revoke API tokens."""

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.accounts.models import Organization
from app.accounts.tokens import SCOPES, TokenError, create_token, find_active_token, list_tokens
from app.accounts.tokens import revoke_token as revoke_api_token
from app.extensions import db

tokens_cli = AppGroup("tokens", help="Create, list and revoke API tokens.")


def _org(code: str) -> Organization:
    org = db.session.scalar(select(Organization).where(Organization.code == code))
    if org is None:
        raise click.ClickException(f"no organization with code '{code}'")
    return org


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


@tokens_cli.command("create")
@click.option("--org", "org_code", required=True, help="Organization code.")
@click.option("--name", required=True, help="What the token is for, e.g. 'assessment core'.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(sorted(SCOPES)),
    help="A scope the token may use; repeat for several.",
)
def create(org_code, name, scopes):
    """Create a token; it is printed once, alone on the last line, and never stored."""
    org = _org(org_code)
    try:
        token, plain = create_token(org.id, name, scopes)
    except TokenError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(
        f"Created token '{token.name}' (id {token.id}, prefix {token.prefix}) for {org.code} "
        f"with scopes: {', '.join(token.scopes)}."
    )
    click.echo("Copy it now: it is not stored and cannot be shown again.")
    click.echo(plain)


@tokens_cli.command("list")
@click.option("--org", "org_code", required=True, help="Organization code.")
@click.option("--active", is_flag=True, help="Leave out revoked tokens.")
def list_(org_code, active):
    """List the organization's tokens (prefixes only; tokens are never shown again)."""
    org = _org(org_code)
    tokens = list_tokens(org.id, include_revoked=not active)
    if not tokens:
        click.echo("no tokens")
        return
    for token in tokens:
        state = f"revoked {_when(token.revoked_at)}" if token.revoked_at else "active"
        click.echo(
            f"{token.id}\t{token.prefix}…\t{token.name}\t{','.join(token.scopes or [])}\t"
            f"created {_when(token.created_at)}\tlast used {_when(token.last_used_at)}\t{state}"
        )


@tokens_cli.command("revoke")
@click.option("--org", "org_code", required=True, help="Organization code.")
@click.option("--name", default=None, help="Name of the active token.")
@click.option("--prefix", default=None, help="Prefix of the token as shown by 'tokens list'.")
@click.option("--id", "token_id", type=int, default=None, help="Id as shown by 'tokens list'.")
def revoke(org_code, name, prefix, token_id):
    """Revoke an active token by name, prefix or id; it stops working at once."""
    org = _org(org_code)
    if prefix:
        prefix = prefix.rstrip("…")
    try:
        token = find_active_token(org.id, name=name, prefix=prefix, token_id=token_id)
    except TokenError as exc:
        raise click.ClickException(str(exc)) from exc
    revoke_api_token(token)
    db.session.commit()
    click.echo(f"Revoked token '{token.name}' (id {token.id}, prefix {token.prefix}).")


@tokens_cli.command("scopes")
def scopes():
    """List the scopes a token can be given."""
    for scope, description in sorted(SCOPES.items()):
        click.echo(f"{scope}\t{description}")
