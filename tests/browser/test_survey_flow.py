import re
import subprocess

import pytest

from app.responses.models import Answer, Response
from tests.browser.conftest import VIEWPORTS


@pytest.fixture(params=[True, False], ids=["js", "no-js"])
def phone(request, browser, db):
    context = browser.new_context(
        locale="zh-CN", java_script_enabled=request.param, **VIEWPORTS["phone"]
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def scanned_url(client, app, tmp_path, live_server) -> str:
    png = tmp_path / "poster.png"
    png.write_bytes(client.get("/s/hall/qr.png").get_data())
    decoded = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(png)], capture_output=True, text=True, check=True
    ).stdout.strip()
    # The QR code carries PUBLIC_BASE_URL; the test server listens on its own port.
    return decoded.replace(app.config["PUBLIC_BASE_URL"], live_server)


def choose(page, label):
    page.get_by_label(label, exact=True).check()
    page.get_by_role("button", name="下一题").click()


def test_scan_answer_every_kind_go_back_and_get_a_receipt(
    phone, live_server, client, app, db, campaign, tmp_path
):
    page = phone
    page.goto(scanned_url(client, app, tmp_path, live_server))
    page.get_by_role("button", name="开始作答").click()

    page.get_by_text("第 1 题，共").wait_for()
    choose(page, "不满意")
    choose(page, "部分")  # yes/no/partly; "partly" shows the follow-up question
    page.get_by_label("您的回答").fill("会议太多，电话 13912345678")
    page.get_by_role("button", name="下一题").click()
    choose(page, "4")  # rating
    page.get_by_label("网页").check()
    page.get_by_label("短信").check()
    page.get_by_role("button", name="下一题").click()
    page.get_by_label("您的回答").fill("abc")  # number: invalid first
    page.get_by_role("button", name="下一题").click()
    page.get_by_text("请填写 16 到 120 之间的数字。").wait_for()
    page.get_by_label("您的回答").fill("67")
    page.get_by_role("button", name="下一题").click()

    for _ in range(2):  # the matrix: one screen per official
        for group in page.locator("fieldset").all():
            group.get_by_label("满意", exact=True).check()
        page.get_by_role("button", name="下一题").click()

    page.get_by_role("heading", name="核对并提交回答").wait_for()
    page.get_by_role("link", name=re.compile("满意吗")).click()  # back to question 1
    assert page.get_by_label("不满意", exact=True).is_checked()
    choose(page, "满意")
    page.goto(page.url.rsplit("/", 1)[0] + "/review")
    page.get_by_role("button", name="提交回答").click()

    receipt = page.locator(".receipt").inner_text()
    assert re.fullmatch(r"[0-9A-F]{10}", receipt)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    response = db.session.scalars(db.select(Response)).one()
    answers = {(a.question_key, a.target_key, a.item_key): a for a in response.answers}
    assert answers[("choice", "", "")].value == "good"
    assert answers[("why", "", "")].value == "会议太多，电话 [手机号]"
    assert answers[("multi", "", "")].value == ["sms", "web"]
    assert answers[("team", "d1", "clean")].score == 100
    assert db.session.scalar(db.select(db.func.count()).select_from(Answer)) == len(answers)


def test_tap_targets_are_at_least_44_px(phone, live_server, db, campaign):
    phone.goto(live_server + "/s/hall")
    phone.get_by_role("button", name="开始作答").click()
    # Measure the question screen once it is there, not the landing page mid-navigation.
    phone.get_by_text("第 1 题，共").wait_for()
    sizes = phone.eval_on_selector_all(
        "label.choice, button, a.button",
        "els => els.map(e => [e.getBoundingClientRect().width, e.getBoundingClientRect().height])",
    )
    assert sizes and all(w >= 44 and h >= 44 for w, h in sizes)
