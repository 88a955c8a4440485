"""Administration: staff users and roles, API tokens (audit-logged)."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.accounts.models import ROLES, ApiToken, User
from app.accounts.roles import ADMIN, own, require_role
from app.accounts.service import AccountError, create_user
from app.accounts.tokens import SCOPES, TokenError, create_token, list_tokens, revoke_token
from app.admin.base import bp
from app.admin.forms import TokenForm, UserForm
from app.audit.service import record
from app.extensions import db


def _users():
    return db.session.scalars(
        select(User).where(User.org_id == current_user.org_id).order_by(User.email)
    ).all()


@bp.route("/users", methods=["GET", "POST"])
@require_role(*ADMIN)
def users():
    form = UserForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = create_user(
                current_user.organization,
                form.email.data,
                form.password.data,
                form.role.data,
                (form.name.data or "").strip(),
            )
            db.session.flush()
        except AccountError as exc:
            db.session.rollback()
            form.email.errors = [str(exc)]
            status = 400
        else:
            record(
                "user.create", "user", user.id, user=current_user, email=user.email, role=user.role
            )
            db.session.commit()
            flash(_("User %(email)s created.", email=user.email), "success")
            return redirect(url_for("admin.users"))
    elif request.method == "POST":
        status = 400
    return render_template("admin/users.html", users=_users(), form=form, roles=ROLES), status


@bp.post("/users/<int:user_id>")
@require_role(*ADMIN)
def change_user(user_id):
    user = own(db.session.get(User, user_id))
    role = request.form.get("role")
    active = request.form.get("active")
    if user.id == current_user.id:
        flash(_("You cannot change your own role or deactivate yourself."), "error")
        return redirect(url_for("admin.users")), 303
    if role is not None:
        if role not in ROLES:
            flash(_("Unknown role."), "error")
            return redirect(url_for("admin.users")), 303
        if role != user.role:
            record("user.role", "user", user.id, user=current_user, was=user.role, now=role)
            user.role = role
    if active in ("0", "1") and (active == "1") != user.active:
        user.active = active == "1"
        record("user.active", "user", user.id, user=current_user, active=user.active)
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("admin.users"))


@bp.route("/tokens", methods=["GET", "POST"])
@require_role(*ADMIN)
def tokens():
    form = TokenForm()
    form.scopes.choices = [(s, f"{s} — {d}") for s, d in SCOPES.items()]
    plain = None
    status = 200
    if form.validate_on_submit():
        try:
            token, plain = create_token(
                current_user.org_id, form.name.data.strip(), form.scopes.data
            )
            db.session.flush()
        except TokenError as exc:
            db.session.rollback()
            form.scopes.errors = [str(exc)]
            status = 400
        else:
            record(
                "api_token.create",
                "api_token",
                token.id,
                user=current_user,
                name=token.name,
                scopes=token.scopes,
                prefix=token.prefix,
            )
            db.session.commit()
    elif request.method == "POST":
        status = 400
    # The plain token is rendered once, in this response only, and never stored.
    response = render_template(
        "admin/tokens.html", tokens=list_tokens(current_user.org_id), form=form, plain=plain
    )
    return response, status, {"Cache-Control": "no-store"}


@bp.post("/tokens/<int:token_id>/revoke")
@require_role(*ADMIN)
def revoke(token_id):
    token = own(db.session.get(ApiToken, token_id))
    if token.revoked_at is None:
        revoke_token(token)
        record("api_token.revoke", "api_token", token.id, user=current_user, name=token.name)
        db.session.commit()
        flash(_("Token %(name)s revoked.", name=token.name), "success")
    return redirect(url_for("admin.tokens"))
