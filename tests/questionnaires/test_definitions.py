import copy
import json

import pytest

from app.questionnaires.definitions import (
    DefinitionInvalid,
    dump_json,
    dump_yaml,
    load_any,
    load_definition,
    load_file,
    parse_text,
)
from app.questionnaires.templates import bank_paths, template_paths
from tests.factories import simple_definition


def problems_of(definition) -> list[str]:
    with pytest.raises(DefinitionInvalid) as info:
        load_definition(definition, "bad.yaml")
    return info.value.lines()


def test_the_library_has_the_four_templates_and_a_bank():
    keys = {load_file(p)[1]["key"] for p in template_paths()}
    assert {
        "social-satisfaction",
        "political-quality",
        "democratic-evaluation",
        "hotline-followup",
    } <= keys
    assert bank_paths()


@pytest.mark.parametrize("path", template_paths() + bank_paths(), ids=lambda p: p.name)
def test_every_library_file_loads_and_round_trips(path):
    kind, loaded = load_file(path)
    for text in (dump_yaml(loaded), dump_json(loaded)):
        again_kind, again = load_any(text)
        assert (again_kind, again) == (kind, loaded)


@pytest.mark.parametrize("path", template_paths(), ids=lambda p: p.name)
def test_every_template_is_bilingual(path):
    _, definition = load_file(path)
    assert "en" in definition["title"]
    for question in definition["questions"]:
        assert {"zh", "en"} <= set(question["text"]), question["key"]


def test_political_quality_has_25_checks_in_five_areas():
    _, definition = load_file(next(p for p in template_paths() if p.stem == "political-quality"))
    items = [i for q in definition["questions"] for i in q.get("items", [])]
    assert len(items) == 25
    assert {i.get("direction", "positive") for i in items} == {"positive", "negative"}
    assert len({i["area"] for i in definition["indicators"]}) == 5
    assert [b["min"] for b in definition["scoring"]["bands"]] == [90, 80, 0]


def test_hotline_follow_up_fits_three_short_sms_exchanges():
    _, definition = load_file(next(p for p in template_paths() if p.stem == "hotline-followup"))
    assert [q["key"] for q in definition["questions"]] == ["satisfied", "solved", "timely"]
    for question in definition["questions"]:
        assert len(question["sms_text"]["zh"]) <= 30


def test_malformed_yaml_names_the_line():
    with pytest.raises(DefinitionInvalid) as info:
        parse_text("format: 1\nkey: [unclosed\n", "x.yaml")
    assert "x.yaml: line" in str(info.value)


def test_duplicate_yaml_keys_are_refused_not_silently_overwritten():
    with pytest.raises(DefinitionInvalid, match="line 3, column 1: duplicate key 'key'"):
        parse_text("format: 1\nkey: a\nkey: b\n")


def test_unknown_question_kind_names_the_question():
    definition = simple_definition()
    definition["questions"][0]["kind"] = "slider"
    assert any(
        "questions[0](q1).kind" in line and "Must be one of" in line
        for line in problems_of(definition)
    )


def test_duplicate_question_keys_are_refused():
    definition = simple_definition()
    definition["questions"].append(copy.deepcopy(definition["questions"][0]))
    assert any("duplicate question key 'q1'" in line for line in problems_of(definition))


def test_options_without_scores_in_a_scored_questionnaire_are_refused():
    definition = simple_definition()
    del definition["option_sets"]["sat"][1]["score"]
    lines = problems_of(definition)
    assert any(
        "questions[0](q1).options[1](no)" in line and "needs a score" in line for line in lines
    )


def test_unscored_questionnaire_needs_no_option_scores():
    definition = simple_definition(scoring={"scheme": "none"}, indicators=[])
    del definition["questions"][0]["indicator"]
    del definition["option_sets"]["sat"][1]["score"]
    assert load_definition(definition)["key"] == "mini"


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        (
            [
                {"grade": "excellent", "min": 85, "max": 100},
                {"grade": "qualified", "min": 0, "max": 90},
            ],
            "overlap",
        ),
        (
            [
                {"grade": "excellent", "min": 90, "max": 100},
                {"grade": "qualified", "min": 0, "max": 80},
            ],
            "gap",
        ),
        ([{"grade": "excellent", "min": 10, "max": 100}], "start at 0"),
        ([{"grade": "excellent", "min": 0, "max": 90}], "end at 100"),
    ],
)
def test_bands_must_cover_the_scale_without_overlap(bands, message):
    definition = simple_definition(scoring={"scheme": "satisfaction", "bands": bands})
    assert any("scoring.bands" in line and message in line for line in problems_of(definition))


def test_matrix_without_targets_is_refused():
    definition = simple_definition()
    definition["questions"].append(
        {
            "key": "m",
            "kind": "matrix",
            "text": {"zh": "评价"},
            "options": "sat",
            "items": [{"key": "a", "text": {"zh": "甲"}, "indicator": "service"}],
        }
    )
    assert any("questions[1](m).targets" in line for line in problems_of(definition))


def test_skip_condition_must_point_to_an_earlier_question_and_valid_values():
    definition = simple_definition()
    definition["questions"].append(
        {
            "key": "q2",
            "kind": "text",
            "text": {"zh": "为什么？"},
            "required": False,
            "show_if": {"question": "q1", "equals": "maybe"},
        }
    )
    definition["questions"][0]["show_if"] = {"question": "q2", "equals": "x"}
    lines = problems_of(definition)
    assert any("questions[0](q1).show_if.question" in line and "earlier" in line for line in lines)
    assert any("questions[1](q2).show_if" in line and "'maybe'" in line for line in lines)


def test_every_problem_is_listed_not_only_the_first():
    definition = simple_definition()
    definition["questions"][0]["kind"] = "slider"
    definition["title"] = {"en": "no chinese"}
    lines = problems_of(definition)
    assert any("title" in line and "Chinese" in line for line in lines)
    assert any("kind" in line for line in lines)


def test_group_weights_must_sum_to_one():
    definition = simple_definition(
        scoring={
            "scheme": "positive_negative",
            "rater_groups": [
                {"key": "superior", "label": {"zh": "上级"}, "weight": 0.5},
                {"key": "peer", "label": {"zh": "同级"}, "weight": 0.4},
            ],
        }
    )
    assert any("sum to 1" in line for line in problems_of(definition))


def test_unknown_fields_are_refused_so_typos_surface():
    definition = simple_definition()
    definition["questions"][0]["requird"] = False
    assert any(
        "questions[0](q1).requird" in line and "Unknown field" in line
        for line in problems_of(definition)
    )


def test_json_is_accepted_as_well_as_yaml():
    kind, loaded = load_any(json.dumps(simple_definition(), ensure_ascii=False))
    assert kind == "questionnaire" and loaded["key"] == "mini"
