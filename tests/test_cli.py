from app.accounts.models import Organization
from app.questionnaires.models import Questionnaire


def test_templates_validate_accepts_the_library(runner):
    result = runner.invoke(args=["templates", "validate", "surveys"])
    assert result.exit_code == 0, result.output
    assert "file(s) valid" in result.output


def test_templates_validate_lists_every_error_and_fails(runner, tmp_path):
    (tmp_path / "a.yaml").write_text(
        "format: 1\nkey: A B\nkind: social_satisfaction\n", encoding="utf-8"
    )
    (tmp_path / "b.yaml").write_text("key: [\n", encoding="utf-8")
    result = runner.invoke(args=["templates", "validate", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{tmp_path / 'a.yaml'}: key:" in result.output
    assert f"{tmp_path / 'a.yaml'}: title:" in result.output
    assert f"{tmp_path / 'b.yaml'}: line" in result.output


def test_templates_import_is_all_or_nothing(runner, db, tmp_path):
    db.session.add(Organization(code="org1", name="组织部"))
    db.session.commit()
    (tmp_path / "bad.yaml").write_text("format: 1\n", encoding="utf-8")
    result = runner.invoke(args=["templates", "import", "--org", "org1", "surveys", str(tmp_path)])
    assert result.exit_code != 0 and "nothing imported" in result.output
    assert db.session.scalars(db.select(Questionnaire)).all() == []
    result = runner.invoke(args=["templates", "import", "--org", "org1", "surveys"])
    assert result.exit_code == 0, result.output
    assert len(db.session.scalars(db.select(Questionnaire)).all()) == 4


def test_generate_and_export_from_the_command_line(runner, db):
    from tests.factories import make_official, make_org, make_unit

    org = make_org()
    unit = make_unit(org, code="c1", level="department", type_="department")
    make_official(org, unit, code="p1")
    db.session.commit()
    result = runner.invoke(
        args=[
            "questionnaires",
            "generate",
            "--org",
            "org1",
            "--bank",
            "political-quality",
            "--unit",
            "c1",
            "--key",
            "pq-c1",
            "--publish",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "(published)" in result.output
    exported = runner.invoke(args=["questionnaires", "export", "--org", "org1", "--key", "pq-c1"])
    assert exported.exit_code == 0 and "key: pq-c1" in exported.output
