"""Flask CLI commands: flask --app wsgi <command>."""

import sys

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from app.accounts.models import Organization
from app.extensions import db
from app.questionnaires.definitions import DefinitionInvalid, definition_files, load_file

templates_cli = AppGroup("templates", help="Check and import questionnaire definition files.")
questionnaires_cli = AppGroup("questionnaires", help="Generate and export questionnaires.")


def _org(code: str) -> Organization:
    org = db.session.scalar(select(Organization).where(Organization.code == code))
    if org is None:
        raise click.ClickException(f"no organization with code '{code}'")
    return org


@templates_cli.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
def validate_templates(paths):
    """Validate definition files or folders; exit non-zero listing every error."""
    files = definition_files(paths)
    if not files:
        raise click.ClickException("no .yaml, .yml or .json files found")
    errors = 0
    for path in files:
        try:
            kind, data = load_file(path)
        except DefinitionInvalid as exc:
            for line in exc.lines():
                click.echo(line, err=True)
            errors += len(exc.problems)
            continue
        click.echo(f"{path}: ok ({kind} '{data.get('key') or data.get('bank')}')")
    if errors:
        click.echo(f"{errors} error(s) in {len(files)} file(s)", err=True)
        sys.exit(1)
    click.echo(f"{len(files)} file(s) valid")


@templates_cli.command("import")
@click.option("--org", "org_code", required=True, help="Organization code.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
def import_templates(org_code, paths):
    """Import questionnaire files as published versions: all of them, or none."""
    from app.questionnaires.service import import_published

    org = _org(org_code)
    problems = []
    definitions = []
    for path in definition_files(paths):
        try:
            kind, data = load_file(path)
        except DefinitionInvalid as exc:
            problems += exc.lines()
            continue
        if kind == "questionnaire":
            definitions.append((path, data))
    if problems:
        for line in problems:
            click.echo(line, err=True)
        raise click.ClickException("nothing imported")
    for path, data in definitions:
        version = import_published(org.id, data, str(path))
        db.session.flush()
        click.echo(f"{path}: {version.questionnaire.key} version {version.number}")
    db.session.commit()


@questionnaires_cli.command("generate")
@click.option("--org", "org_code", required=True)
@click.option("--bank", "bank_key", required=True, help="Indicator bank key (surveys/banks/).")
@click.option("--unit", "unit_code", required=True, help="Unit whose leadership team is evaluated.")
@click.option("--key", required=True, help="Key of the new questionnaire.")
@click.option("--title", default=None, help="Chinese title (default: the bank's title).")
@click.option("--publish/--draft", default=False)
def generate(org_code, bank_key, unit_code, key, title, publish):
    """Generate a questionnaire from an indicator bank for a unit's team."""
    from app.questionnaires.service import generate_for_unit, publish_version
    from app.questionnaires.templates import load_bank
    from app.targets.models import Unit

    org = _org(org_code)
    try:
        bank = load_bank(bank_key)
    except KeyError:
        raise click.ClickException(f"no indicator bank '{bank_key}'") from None
    unit = db.session.scalar(select(Unit).where(Unit.org_id == org.id, Unit.code == unit_code))
    if unit is None:
        raise click.ClickException(f"no unit '{unit_code}' in organization '{org_code}'")
    try:
        version = generate_for_unit(
            org.id, bank, unit, key, {"zh": title} if title else bank["title"]
        )
    except (DefinitionInvalid, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    db.session.flush()
    if publish:
        publish_version(version)
    db.session.commit()
    questions = version.definition["questions"]
    click.echo(f"{key} version {version.number} ({version.status}): {len(questions)} question(s)")


@questionnaires_cli.command("export")
@click.option("--org", "org_code", required=True)
@click.option("--key", required=True)
@click.option("--version", "number", type=int, default=None, help="Default: the latest.")
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml")
def export(org_code, key, number, fmt):
    """Print a questionnaire version as YAML or JSON."""
    from app.questionnaires.service import export_version, get_questionnaire

    questionnaire = get_questionnaire(_org(org_code).id, key)
    if questionnaire is None or not questionnaire.versions:
        raise click.ClickException(f"no questionnaire '{key}'")
    versions = {v.number: v for v in questionnaire.versions}
    version = versions.get(number) if number else questionnaire.versions[-1]
    if version is None:
        raise click.ClickException(f"'{key}' has no version {number}")
    click.echo(export_version(version, fmt), nl=False)


@click.command("create-admin")
@click.option("--email", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--org", "org_code", required=True, help="Organization code (created if missing).")
@click.option("--org-name", default=None, help="Name for a new organization.")
@click.option(
    "--role", type=click.Choice(["admin", "designer", "analyst", "viewer"]), default="admin"
)
def create_admin(email, password, org_code, org_name, role):
    """Create a staff user (no prompts when every option is given)."""
    from app.accounts.service import AccountError, create_user, get_or_create_org

    try:
        org = get_or_create_org(org_code, org_name)
        user = create_user(org, email, password, role)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"Created {user.role} {user.email} in organization {org.code}")


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Only when the database has no organization yet.")
def demo(if_empty):
    """Load the demo organization and print the staff login."""
    from flask import current_app

    from app.demo import demo_credentials, load_demo

    empty = db.session.scalar(select(Organization.id).limit(1)) is None
    if empty or not if_empty:
        load_demo(current_app.instance_path)
        db.session.commit()
    email, password = demo_credentials(current_app.instance_path)
    base = current_app.config["PUBLIC_BASE_URL"]
    click.echo(f"Staff login: {base}/login user={email} password={password}")


contacts_cli = AppGroup("contacts", help="Contact data kept encrypted.")


@contacts_cli.command("rotate-key")
def rotate_key():
    """Re-encrypt all contact data under the first key of CONTACT_ENCRYPTION_KEYS.

    Rotate by putting a new key first (keeping the old ones after it), restarting, running this,
    and then removing the old keys.
    """
    from app.audit.service import record
    from app.encryption import rotate_contact_keys

    count = rotate_contact_keys()
    record("contacts.rotate_key", "encryption", "", actor="cli", values=count)
    db.session.commit()
    click.echo(f"Re-encrypted {count} value(s) under the first key")


def register_cli(app: Flask) -> None:
    """Attach the command groups to the app."""
    app.cli.add_command(create_admin)
    app.cli.add_command(demo)
    app.cli.add_command(contacts_cli)
    app.cli.add_command(templates_cli)
    app.cli.add_command(questionnaires_cli)
