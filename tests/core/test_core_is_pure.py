"""app/core is pure domain logic: it imports no framework, no I/O adapter and nothing of app outside core."""

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "app" / "core"
FORBIDDEN_ROOTS = ("flask", "sqlalchemy", "twilio", "qrcode")


def imported_modules(source: str, package: list[str]) -> list[str]:
    """Absolute names of the modules some source imports; relative imports resolved against its package."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            if node.module:
                names.append(".".join([*base, node.module]))
            else:  # from . import x: x is a module of the package
                names.extend(".".join([*base, alias.name]) for alias in node.names)
    return names


def package_of(path: Path) -> list[str]:
    return ["app", "core", *path.relative_to(CORE).parent.parts]


def forbidden(module: str) -> bool:
    root = module.split(".")[0]
    outside_core = root == "app" and not (module == "app.core" or module.startswith("app.core."))
    # flask_sqlalchemy, flask_login, ... are flask too
    return outside_core or any(root == r or root.startswith(f"{r}_") for r in FORBIDDEN_ROOTS)


CORE_FILES = sorted(CORE.rglob("*.py"))


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(CORE)))
def test_core_module_imports_no_framework_and_nothing_outside_core(path):
    offending = [
        m
        for m in imported_modules(path.read_text(encoding="utf-8"), package_of(path))
        if forbidden(m)
    ]
    assert offending == [], f"{path.name} imports {offending}"


def test_the_purity_check_sees_the_weighting_modules():
    names = {p.name for p in CORE_FILES}
    assert {"weighting.py", "estimates.py"} <= names


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ("import flask", True),
        ("from flask_sqlalchemy import SQLAlchemy", True),
        ("import sqlalchemy.orm", True),
        ("from twilio.rest import Client", True),
        ("import qrcode", True),
        ("from app.extensions import db", True),
        ("from app import create_app", True),
        ("from .. import models", True),
        ("from app.core.estimates import Estimate", False),
        ("from . import estimates", False),
        ("import numpy as np", False),
        ("import flaskless", False),
    ],
)
def test_the_purity_check_tells_framework_imports_from_pure_ones(source, bad):
    assert any(forbidden(m) for m in imported_modules(source, ["app", "core"])) is bad
