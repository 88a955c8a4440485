"""The questionnaire editor: drafts, questions, checks, previews, publishing and Excel import."""

import io

import pytest
from openpyxl import Workbook

from app.audit.models import AuditEvent
from app.questionnaires.models import Questionnaire, QuestionnaireVersion
from tests.factories import (
    csrf_token,
    login,
    make_official,
    make_org,
    make_unit,
    make_user,
    make_version,
)


def signed_in(client, db, role="admin"):
    org = make_org()
    make_user(org, role=role)
    db.session.commit()
    login(client)
    return org


def post(client, url, data, page=None):
    token = csrf_token(client, page or url)
    return client.post(url, data={"csrf_token": token, **data})


def draft_from_blank(client, key="gulou"):
    response = post(
        client,
        "/admin/questionnaires/new",
        {"start": "blank", "key": key, "title": "鼓楼区调查", "unit": "0"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].split("/")[-2])


QUESTION = {
    "key": "service",
    "kind": "single_choice",
    "text_zh": "您对政务服务满意吗？",
    "option_set": "",
    "options": "yes | 满意 | 100 | satisfied\nno | 不满意 | 0\ndk | 不了解 | -",
    "indicator": "",
    "direction": "positive",
    "required": "y",
    "targets": "team",
    "show_if_question": "",
}


def test_design_a_question_and_publish(client, db):
    signed_in(client, db)
    version_id = draft_from_blank(client)
    edit = f"/admin/versions/{version_id}/edit"
    assert "请填写您的意见" in client.get(edit).get_data(as_text=True)

    response = post(client, f"/admin/versions/{version_id}/questions/new", QUESTION)
    assert response.status_code == 302, response.get_data(as_text=True)
    version = db.session.get(QuestionnaireVersion, version_id)
    db.session.refresh(version)
    options = version.definition["questions"][1]["options"]
    assert [o["value"] for o in options] == ["yes", "no", "dk"]
    assert options[0]["satisfied"] is True and options[2]["scored"] is False

    # Reorder: the new question goes first.
    response = post(client, f"/admin/versions/{version_id}/questions/1/up", {}, page=edit)
    assert response.status_code == 302
    db.session.refresh(version)
    assert [q["key"] for q in version.definition["questions"]] == ["service", "q1"]

    response = post(client, f"/admin/versions/{version_id}/publish", {}, page=edit)
    assert response.status_code == 302
    db.session.refresh(version)
    assert version.status == "published"
    actions = set(db.session.scalars(db.select(AuditEvent.action)))
    assert {"questionnaire.create", "questionnaire.edit", "questionnaire.publish"} <= actions

    # Published: read-only; editing makes a new draft.
    assert client.get(edit).status_code == 302
    page = f"/admin/versions/{version_id}"
    response = post(client, f"/admin/versions/{version_id}/new-draft", {}, page=page)
    new_id = int(response.headers["Location"].split("/")[-2])
    assert new_id != version_id
    new = db.session.get(QuestionnaireVersion, new_id)
    assert new.number == 2 and new.status == "draft"


def test_an_invalid_question_lists_every_problem_and_saves_nothing(client, db):
    signed_in(client, db)
    version_id = draft_from_blank(client)
    before = db.session.get(QuestionnaireVersion, version_id).checksum
    bad = {
        **QUESTION,
        "key": "q1",  # duplicate
        "options": "yes | 满意 | lots\nno",  # unreadable score, missing label
    }
    response = post(client, f"/admin/versions/{version_id}/questions/new", bad)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "line 1: score &#39;lots&#39; is not a number" in page
    assert "line 2: write" in page

    bad = {**QUESTION, "key": "q1", "options": "yes | 满意 | 100"}
    response = post(client, f"/admin/versions/{version_id}/questions/new", bad)
    assert response.status_code == 400
    assert "questions[1](q1).key: duplicate question key" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(QuestionnaireVersion, version_id).checksum == before


def test_settings_edit_indicators_and_rater_group_weights(client, db):
    signed_in(client, db)
    version_id = draft_from_blank(client)
    url = f"/admin/versions/{version_id}/settings"
    edit = f"/admin/versions/{version_id}/edit"
    response = post(
        client,
        url,
        {
            "title_zh": "新标题",
            "indicators": "service | 服务 | 1",
            "rater_groups": "superior | 上级 | 0.6\npeer | 同级 | 0.6",
        },
        page=edit,
    )
    assert response.status_code == 400
    assert "group weights must sum to 1, not 1.2" in response.get_data(as_text=True)
    response = post(
        client,
        url,
        {
            "title_zh": "新标题",
            "indicators": "service | 服务 | 1",
            "rater_groups": "superior | 上级 | 0.4\npeer | 同级 | 0.6",
        },
        page=edit,
    )
    assert response.status_code == 302
    version = db.session.get(QuestionnaireVersion, version_id)
    db.session.refresh(version)
    assert version.definition["title"] == {"zh": "新标题"}
    assert [g["weight"] for g in version.definition["scoring"]["rater_groups"]] == [0.4, 0.6]


def test_start_from_a_template_and_from_the_indicator_bank(client, db):
    org = signed_in(client, db)
    unit = make_unit(org, type_="county")
    make_official(org, unit)
    make_official(org, unit, code="o2", name="李四", position="deputy")
    db.session.commit()
    response = post(
        client,
        "/admin/questionnaires/new",
        {"start": "template:social-satisfaction", "key": "ss-2026", "title": "满意度", "unit": "0"},
    )
    assert response.status_code == 302
    response = post(
        client,
        "/admin/questionnaires/new",
        {"start": "bank:political-quality", "key": "pq", "title": "政治素质", "unit": "0"},
    )
    assert response.status_code == 400
    assert "请选择" in response.get_data(as_text=True)
    response = post(
        client,
        "/admin/questionnaires/new",
        {"start": "bank:political-quality", "key": "pq", "title": "政治素质", "unit": str(unit.id)},
    )
    assert response.status_code == 302
    keys = set(db.session.scalars(db.select(Questionnaire.key)))
    assert keys == {"ss-2026", "pq"}


def test_previews_as_phone_screen_and_sms_with_segments(client, db):
    org = signed_in(client, db)
    version = make_version(org)
    db.session.commit()
    page = client.get(f"/admin/versions/{version.id}/preview").get_data(as_text=True)
    assert f"/admin/versions/{version.id}/phone/1" in page
    assert "满意吗？ 回复1满意 2不满意 3不了解" in page
    phone = client.get(f"/admin/versions/{version.id}/phone/1")
    assert phone.status_code == 200
    assert "frame-ancestors 'self'" in phone.headers["Content-Security-Policy"]
    assert phone.headers["X-Frame-Options"] == "SAMEORIGIN"
    html = phone.get_data(as_text=True)
    assert "满意吗？" in html and 'method="get"' in html and "/s/" not in html


def test_viewers_can_preview_but_not_edit(client, db):
    org = signed_in(client, db, role="viewer")
    version = make_version(org)
    db.session.commit()
    assert client.get(f"/admin/versions/{version.id}/preview").status_code == 200
    assert client.get(f"/admin/versions/{version.id}/questions/new").status_code == 403


def xlsx(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload_excel(client, raw, key="xl", scheme="satisfaction"):
    token = csrf_token(client, "/admin/questionnaires/import-excel")
    return client.post(
        "/admin/questionnaires/import-excel",
        data={
            "csrf_token": token,
            "key": key,
            "title": "表格问卷",
            "scheme": scheme,
            "file": (io.BytesIO(raw), "q.xlsx"),
        },
        content_type="multipart/form-data",
    )


HEADER = ["题号", "题型", "题目", "选项", "指标", "方向", "必答", "最小值", "最大值"]


def test_excel_sheet_imports_one_question_per_row(client, db):
    signed_in(client, db)
    raw = xlsx(
        [
            HEADER,
            [
                "jobs",
                "单选",
                "就业服务满意吗？",
                "满意=100; 一般=50; 不满意=0; 不了解",
                "jobs:就业",
            ],
            ["rate", "评分", "请打分", None, "services:政务服务", None, None, 1, 5],
            ["forms", "是否", "有形式主义吗？", None, "services", "反向"],
            ["why", "文本", "其他意见", None, None, None, "否"],
        ]
    )
    response = upload_excel(client, raw)
    assert response.status_code == 302, response.get_data(as_text=True)
    version = db.session.scalars(db.select(QuestionnaireVersion)).one()
    questions = version.definition["questions"]
    assert [q["key"] for q in questions] == ["jobs", "rate", "forms", "why"]
    assert questions[0]["options"][3] == {"value": "o4", "label": {"zh": "不了解"}, "scored": False}
    assert questions[2]["direction"] == "negative" and questions[3]["required"] is False
    assert {i["key"] for i in version.definition["indicators"]} == {"jobs", "services"}
    assert version.status == "draft"


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([HEADER, ["a", "滑块", "题"]], "row 2, kind: &#39;滑块&#39; is not a question type"),
        ([HEADER, ["a", "单选", "题", "满意=很多"]], "row 2, options: score &#39;很多&#39;"),
        ([HEADER, ["a", "单选", "题", "满意=1"], ["B", "文本", ""]], "row 3, key: &#39;B&#39;"),
        (
            [HEADER, ["a", "评分", "题", None, "x", None, None, 5, 1]],
            "row 2 (a), ",
        ),
        ([["x", "y"], ["a", "b"]], "row 1: the header needs the columns"),
    ],
)
def test_a_bad_excel_sheet_names_each_row_and_imports_nothing(client, db, rows, expected):
    signed_in(client, db)
    response = upload_excel(client, xlsx(rows))
    assert response.status_code == 400
    assert expected in response.get_data(as_text=True)
    assert db.session.scalars(db.select(Questionnaire)).all() == []


def test_a_file_that_is_not_a_workbook_is_refused(client, db):
    signed_in(client, db)
    response = upload_excel(client, b"PK\x03\x04 not really a zip")
    assert response.status_code == 400
    assert "not an Excel workbook" in response.get_data(as_text=True)
    response = upload_excel(client, b"x" * (2 * 1024 * 1024 + 10))
    assert response.status_code == 400
