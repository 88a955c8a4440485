def test_home_page_is_chinese_by_default(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "民意：群众满意度调查与测评" in html
    assert 'lang="zh-CN"' in html
    assert "/privacy" in html and "/login" in html


def test_home_page_switches_to_english_and_remembers(client):
    page = client.get("/?lang=en")
    assert "Minyi: public satisfaction and evaluation surveys" in page.get_data(as_text=True)
    again = client.get("/")
    assert 'lang="en"' in again.get_data(as_text=True)


def test_privacy_summary_is_public(client):
    page = client.get("/privacy")
    assert page.status_code == 200
    assert "我们如何保护您的隐私" in page.get_data(as_text=True)


def test_pages_carry_a_strict_content_security_policy(client):
    headers = client.get("/").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_every_message_has_a_chinese_translation():
    from pathlib import Path

    from babel.messages.pofile import read_po

    po = Path(__file__).resolve().parents[1] / "app/translations/zh/LC_MESSAGES/messages.po"
    with po.open("rb") as handle:
        catalog = read_po(handle)
    untranslated = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    assert untranslated == []
