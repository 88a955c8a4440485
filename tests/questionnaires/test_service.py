import pytest

from app.questionnaires.definitions import DefinitionInvalid
from app.questionnaires.models import Indicator, PublishedVersionIsReadOnly
from app.questionnaires.service import (
    add_version,
    export_version,
    generate_for_unit,
    import_published,
    publish_version,
)
from app.questionnaires.templates import load_bank, load_template
from tests.factories import make_official, make_org, make_unit, simple_definition


def test_import_publishes_and_records_indicator_keys(db):
    org = make_org()
    version = import_published(org.id, simple_definition())
    db.session.commit()
    assert (version.number, version.status) == (1, "published")
    assert db.session.scalars(db.select(Indicator.key)).all() == ["service"]


def test_reimporting_the_same_definition_reuses_the_version(db):
    org = make_org()
    first = import_published(org.id, simple_definition())
    db.session.flush()
    assert import_published(org.id, simple_definition()) is first


def test_a_changed_definition_becomes_a_new_version(db):
    org = make_org()
    import_published(org.id, simple_definition())
    db.session.flush()
    changed = simple_definition(title={"zh": "新标题"})
    assert import_published(org.id, changed).number == 2


def test_published_versions_are_read_only(db):
    org = make_org()
    version = import_published(org.id, simple_definition())
    db.session.commit()
    version.definition = {**version.definition, "key": "tampered"}
    with pytest.raises(PublishedVersionIsReadOnly):
        db.session.commit()
    db.session.rollback()


def test_a_draft_can_change_until_it_is_published(db):
    org = make_org()
    version = add_version(org.id, simple_definition())
    db.session.commit()
    version.source = "edited"
    db.session.commit()
    publish_version(version)
    db.session.commit()
    assert version.status == "published"


def test_a_bad_definition_adds_nothing(db):
    org = make_org()
    definition = simple_definition()
    definition["questions"][0]["kind"] = "slider"
    with pytest.raises(DefinitionInvalid):
        import_published(org.id, definition)
    db.session.commit()
    from app.questionnaires.models import Questionnaire

    assert db.session.scalars(db.select(Questionnaire)).all() == []


def test_export_then_import_gives_the_same_definition(db):
    org = make_org()
    version = import_published(org.id, load_template("political-quality"))
    db.session.flush()
    from app.questionnaires.definitions import load_any

    for fmt in ("yaml", "json"):
        assert load_any(export_version(version, fmt))[1] == version.definition


def test_generator_builds_common_plus_specific_matrix_over_the_team(db):
    org = make_org()
    town = make_unit(org, code="t1", name="鼓楼街道", level="township", type_="township")
    make_official(org, town, code="p1", name="王五", position="principal", title="街道党工委书记")
    make_official(org, town, code="d1", name="赵六", position="deputy", title="副主任")
    bank = load_bank("political-quality")
    version = generate_for_unit(org.id, bank, town, "pq-gulou", {"zh": "鼓楼街道政治素质测评"})
    db.session.flush()
    questions = version.definition["questions"]
    common = [i["key"] for i in bank["indicators"] if i["scope"] == "common"]
    specific = [i["key"] for i in bank["indicators"] if "township" in (i.get("target_types") or [])]
    others = [
        i["key"]
        for i in bank["indicators"]
        if i["scope"] == "specific" and "township" not in (i.get("target_types") or [])
    ]
    keys = [q["key"] for q in questions]
    assert keys == [k for k in keys if k in common + specific]
    assert set(common + specific) == set(keys) and not set(others) & set(keys)
    assert all(q["kind"] == "matrix" for q in questions)
    assert [t["key"] for t in questions[0]["targets"]] == ["p1", "d1"]


def test_generator_refuses_a_team_without_officials(db):
    org = make_org()
    town = make_unit(org, code="t1", level="township", type_="township")
    with pytest.raises(ValueError, match="no active officials"):
        generate_for_unit(org.id, load_bank("political-quality"), town, "x", {"zh": "x"})
