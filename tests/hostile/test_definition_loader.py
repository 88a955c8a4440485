"""The questionnaire definition loader on hostile text: only DefinitionInvalid may ever escape.

Arbitrary text, YAML-looking text, and valid templates from surveys/ mutated both as data (keys
dropped, values swapped for odd ones) and as text (characters cut, inserted, lines swapped).
"""

import copy
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from app.questionnaires.definitions import DefinitionInvalid, dump_yaml, load_any, parse_text
from tests.hostile.conftest import hostile

SURVEYS = Path(__file__).resolve().parents[2] / "surveys"
TEMPLATES = sorted(SURVEYS.rglob("*.yaml"))
TEXTS = [path.read_text(encoding="utf-8") for path in TEMPLATES]
DATA = [yaml.safe_load(text) for text in TEXTS]

# Values a hostile or careless author could put anywhere in a definition.
ODD = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=20),
        st.sampled_from(["", "single_choice", "matrix", "sat", "team", "q1", "zh", "yes", "😀"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
YAML_NOISE = st.sampled_from(
    [
        "&a [*a]", "!!python/object/apply:os.system ['true']", "{", "]", "? ", "- - -", "*x",
        "!!binary AAAA", "%YAML 1.1\n---", "\t", "key: key: key", "<<: *a", "'", '"', "\x00",
        "\ufeff", "… ", "!!float nan", ".inf", "0x1F", "1_000", "2026-13-45", "~", "|", ">",
    ]
)  # fmt: skip


def _paths(node, prefix=()):
    """Every (path) inside a nested dict/list structure, the root excluded."""
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return
    for key, value in items:
        yield (*prefix, key)
        yield from _paths(value, (*prefix, key))


def _mutate(data, path, action, value):
    data = copy.deepcopy(data)
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if action == "drop":
        del parent[last]
    elif action == "replace":
        parent[last] = value
    elif action == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))
    elif action == "duplicate":
        parent[f"{last}"] = copy.deepcopy(parent[last])
    return data


def _only_definition_invalid(text: str):
    try:
        kind, loaded = load_any(text, "hostile.yaml")
    except DefinitionInvalid as exc:
        assert exc.problems, "a refusal must say why"
        assert all(str(p) for p in exc.problems)
        return None
    assert kind in ("bank", "questionnaire")
    assert isinstance(loaded, dict)
    return loaded


def test_the_templates_load_as_they_are():
    assert len(TEMPLATES) >= 5
    for text in TEXTS:
        assert _only_definition_invalid(text) is not None


@hostile(150)
@given(
    text=st.one_of(st.text(max_size=400), st.lists(YAML_NOISE | st.text(max_size=6)).map("\n".join))
)
def test_arbitrary_text_is_refused_with_definition_invalid_only(text):
    _only_definition_invalid(text)


@hostile(100)
@given(data=st.data(), which=st.integers(0, len(DATA) - 1))
def test_mutated_templates_are_refused_with_definition_invalid_only(data, which):
    original = DATA[which]
    paths = list(_paths(original))
    mutated = original
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        paths = list(_paths(mutated)) or paths
        path = data.draw(st.sampled_from(paths), label="path")
        action = data.draw(st.sampled_from(["drop", "replace", "replace", "duplicate"]))
        try:
            mutated = _mutate(mutated, path, action, data.draw(ODD, label="value"))
        except (KeyError, IndexError, TypeError):
            continue  # the path moved under an earlier mutation
    try:
        text = dump_yaml(mutated)
    except yaml.YAMLError:
        pytest.skip("not representable as YAML")
    loaded = _only_definition_invalid(text)
    if loaded is not None:
        # Whatever is accepted must survive a round trip unchanged.
        assert _only_definition_invalid(dump_yaml(loaded)) == loaded


@hostile(150)
@given(data=st.data(), which=st.integers(0, len(TEXTS) - 1))
def test_templates_mangled_as_text_are_refused_with_definition_invalid_only(data, which):
    text = TEXTS[which]
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        at = data.draw(st.integers(0, len(text)), label="at")
        cut = data.draw(st.integers(0, 40), label="cut")
        insert = data.draw(st.one_of(st.just(""), YAML_NOISE, st.text(max_size=4)), label="insert")
        text = text[:at] + insert + text[at + cut :]
    _only_definition_invalid(text)


def test_parse_text_refuses_aliases_bombs_and_python_tags():
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n"
        for i in range(8)
    )
    for text in ("!!python/object/apply:os.system ['true']", bomb + "c: [*i]\n"):
        try:
            parse_text(text)
        except DefinitionInvalid:
            pass
        else:
            # A billion-laughs document may parse (PyYAML shares the lists), but it must never
            # validate as a definition.
            with pytest.raises(DefinitionInvalid):
                load_any(text)
