"""The template library in surveys/: one YAML file per questionnaire template or indicator bank."""

from pathlib import Path

from app.questionnaires.definitions import definition_files, load_file

SURVEYS_DIR = Path(__file__).resolve().parents[2] / "surveys"


def template_paths() -> list[Path]:
    """Every questionnaire template file (indicator banks live in surveys/banks/)."""
    return [p for p in definition_files([SURVEYS_DIR]) if "banks" not in p.parts]


def bank_paths() -> list[Path]:
    """Every indicator bank file."""
    return definition_files([SURVEYS_DIR / "banks"]) if (SURVEYS_DIR / "banks").exists() else []


def load_template(key: str) -> dict:
    """The validated definition of the template with this key; KeyError when there is none."""
    for path in template_paths():
        kind, definition = load_file(path)
        if kind == "questionnaire" and definition["key"] == key:
            return definition
    raise KeyError(key)


def load_bank(key: str) -> dict:
    """The validated indicator bank with this key; KeyError when there is none."""
    for path in bank_paths():
        kind, bank = load_file(path)
        if kind == "bank" and bank["bank"] == key:
            return bank
    raise KeyError(key)


def all_templates() -> list[dict]:
    """Every valid template definition, in file order."""
    return [d for kind, d in (load_file(p) for p in template_paths()) if kind == "questionnaire"]
