"""In a real browser at desktop size: design a question in the editor, preview it, publish."""

import pytest

from app.questionnaires.models import QuestionnaireVersion
from tests.factories import PASSWORD, make_org, make_user


@pytest.fixture
def desktop(browser, db):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_designer_designs_a_question_and_publishes(desktop, live_server, db, tmp_path):
    page = desktop
    make_user(make_org(), role="designer")
    db.session.commit()
    page.goto(live_server + "/login")
    page.get_by_label("邮箱").fill("staff@example.org")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("heading", name="调查活动").wait_for()

    page.get_by_role("link", name="问卷", exact=True).click()
    page.get_by_role("link", name="新建问卷").click()
    page.get_by_label("起点").select_option("blank")
    page.get_by_label("标识（小写字母").fill("gulou-hall")
    page.get_by_label("标题", exact=True).fill("鼓楼区政务大厅满意度")
    page.get_by_role("button", name="创建草稿").click()

    page.get_by_role("link", name="添加题目").click()
    page.get_by_label("题目标识").fill("hall")
    page.get_by_label("题型").select_option("single_choice")
    page.get_by_label("题目（中文）").fill("您对政务大厅的服务满意吗？")
    page.get_by_label("自定义选项").fill("yes | 满意 | 100 | satisfied\nno | 不满意 | 0")
    page.get_by_role("button", name="保存题目").click()
    page.get_by_text("题目 hall 已保存。").wait_for()

    page.get_by_role("link", name="预览").first.click()
    frame = page.frame_locator("iframe.phone")
    frame.get_by_text("请填写您的意见").wait_for()
    frame.get_by_role("button", name="下一题").click()
    frame.get_by_text("您对政务大厅的服务满意吗？").wait_for()
    assert "回复1满意 2不满意" in page.content()
    page.screenshot(path=str(tmp_path / "preview.png"), full_page=True)

    page.get_by_role("link", name="← 鼓楼区政务大厅满意度 v1").click()
    page.get_by_role("button", name="发布此版本").click()
    page.get_by_text("第 1 版已发布").wait_for()
    version = db.session.scalars(db.select(QuestionnaireVersion)).one()
    db.session.refresh(version)
    assert version.status == "published"
    assert [q["key"] for q in version.definition["questions"]] == ["q1", "hall"]
