from tests.factories import PASSWORD, make_org, make_unit, make_user


def test_staff_logs_in_and_creates_a_campaign_from_a_template(page, live_server, db, tmp_path):
    org = make_org()
    make_user(org)
    make_unit(org, code="gl", name="鼓楼区")
    db.session.commit()

    page.goto(live_server + "/")
    page.get_by_role("link", name="工作人员登录").click()
    page.get_by_label("邮箱").fill("staff@example.org")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("heading", name="调查活动").wait_for()

    page.get_by_role("link", name="新建调查活动").click()
    page.get_by_label("问卷").select_option("social-satisfaction")
    page.get_by_label("调查活动名称").fill("第四季度社会满意度")
    page.get_by_label("周期").fill("2026-Q4")
    page.get_by_label("二维码海报").check()
    page.get_by_label("考核对象单位").select_option(label="鼓楼区 (gl)")
    page.get_by_role("button", name="创建调查活动").click()

    page.get_by_role("heading", name="第四季度社会满意度").wait_for()
    assert "2026-Q4" in page.content()
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    page.screenshot(path=str(tmp_path / f"campaign-{page.viewport_name}.png"), full_page=True)


def test_wrong_password_shows_the_generic_message(page, live_server, db):
    make_user(make_org())
    db.session.commit()
    page.goto(live_server + "/login")
    page.get_by_label("邮箱").fill("staff@example.org")
    page.get_by_label("密码").fill("not the password")
    page.get_by_role("button", name="登录").click()
    page.get_by_text("邮箱或密码错误。").wait_for()
