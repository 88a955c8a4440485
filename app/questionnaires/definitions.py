"""Reading, checking and writing questionnaire definitions (YAML or JSON)."""

import hashlib
import json
from pathlib import Path

import yaml
from marshmallow import ValidationError

from app.core.questionnaire import Problem, check_definition
from app.questionnaires.schemas import IndicatorBankSchema, QuestionnaireDefinitionSchema


class DefinitionInvalid(ValueError):
    """A definition cannot be used; .problems says where and what, .source names the file."""

    def __init__(self, problems: list[Problem], source: str = ""):
        self.problems = problems
        self.source = source
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One line per problem, prefixed with the source file when known."""
        prefix = f"{self.source}: " if self.source else ""
        return [prefix + str(p) for p in self.problems]


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML silently keeps the last one)."""


def _mapping(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}'", key_node.start_mark
            )
        seen[key] = True
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def parse_text(text: str, source: str = "") -> dict:
    """YAML (a superset of JSON) to a dict; syntax errors name the line and column."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise DefinitionInvalid([Problem(where, exc.problem or str(exc))], source) from None
    except yaml.YAMLError as exc:
        raise DefinitionInvalid([Problem("", f"not valid YAML: {exc}")], source) from None
    if not isinstance(data, dict):
        raise DefinitionInvalid(
            [Problem("", "the file must hold a mapping at the top level")], source
        )
    return data


def _flatten(messages, raw, path="") -> list[Problem]:
    if isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            return [Problem(path, m) for m in messages]
        return [p for m in messages for p in _flatten(m, raw, path)]
    problems = []
    for key, value in messages.items():
        if isinstance(key, int):
            item = raw[key] if isinstance(raw, list) and key < len(raw) else None
            label = (
                item.get("key") if isinstance(item, dict) and path.endswith("questions") else None
            )
            sub = f"{path}[{key}]" + (f"({label})" if label else "")
        else:
            sub = f"{path}.{key}" if path else str(key)
            item = raw.get(key) if isinstance(raw, dict) else None
        if key == "_schema":
            sub, item = path, raw
        problems += _flatten(value, item, sub)
    return problems


def _tidy(value):
    """Whole floats back to ints, so 100 stays 100 through load and export."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _tidy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tidy(v) for v in value]
    return value


def load_definition(data: dict, source: str = "") -> dict:
    """Validate a questionnaire definition dict; returns it normalized or raises DefinitionInvalid."""
    try:
        loaded = QuestionnaireDefinitionSchema().load(data)
    except ValidationError as exc:
        raise DefinitionInvalid(_flatten(exc.messages, data), source) from None
    loaded = _tidy(loaded)
    problems = check_definition(loaded)
    if problems:
        raise DefinitionInvalid(problems, source)
    return loaded


def load_bank(data: dict, source: str = "") -> dict:
    """Validate an indicator bank dict; returns it or raises DefinitionInvalid."""
    try:
        loaded = IndicatorBankSchema().load(data)
    except ValidationError as exc:
        raise DefinitionInvalid(_flatten(exc.messages, data), source) from None
    keys = [i["key"] for i in loaded["indicators"]]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise DefinitionInvalid(
            [Problem("indicators", f"duplicate indicator '{k}'") for k in dupes], source
        )
    return _tidy(loaded)


def load_any(text: str, source: str = "") -> tuple[str, dict]:
    """Parse and validate a file's text: ('bank', bank) or ('questionnaire', definition)."""
    data = parse_text(text, source)
    if "bank" in data:
        return "bank", load_bank(data, source)
    return "questionnaire", load_definition(data, source)


def load_file(path: Path) -> tuple[str, dict]:
    """Read and validate one definition file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionInvalid(
            [Problem("", f"cannot read: {exc.__class__.__name__}")], str(path)
        ) from None
    return load_any(text, str(path))


def dump_yaml(definition: dict) -> str:
    """A definition as YAML, Chinese kept readable; loading it gives the same definition."""
    return yaml.safe_dump(definition, allow_unicode=True, sort_keys=False, width=100)


def dump_json(definition: dict) -> str:
    """A definition as indented JSON."""
    return json.dumps(definition, ensure_ascii=False, indent=2)


def checksum(definition: dict) -> str:
    """SHA-256 of the canonical JSON form."""
    canonical = json.dumps(definition, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def definition_files(paths) -> list[Path]:
    """Expand files and folders into the .yaml/.yml/.json files they hold, sorted."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml", ".json"))
        else:
            found.append(path)
    return found
