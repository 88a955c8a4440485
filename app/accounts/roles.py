"""Role checks for staff routes: one decorator, one organization guard."""

from functools import wraps

from flask import abort
from flask_login import current_user

from app.extensions import login_manager

READ = ("admin", "designer", "analyst", "viewer")
DESIGN = ("admin", "designer")
ANALYSE = ("admin", "analyst")
ADMIN = ("admin",)


def require_role(*roles: str):
    """Signed-in staff with one of these roles; others are sent to login (anonymous) or get 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = roles
        return wrapped

    return decorator


def own(obj):
    """The object if it belongs to the current user's organization; 404 otherwise (no hint it exists)."""
    if obj is None or getattr(obj, "org_id", None) != current_user.org_id:
        abort(404)
    return obj
