"""The web survey pages under arbitrary form posts: never a 500, and nothing stored but whole responses."""

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.extensions import db
from app.responses.models import Answer, Response
from tests.hostile.conftest import hostile

FIELD_NAMES = st.sampled_from(
    ["value", "work", "clean", "restart", "website", "csrf_token", "value[]", "", "\x00"]
) | st.text(max_size=10)
FIELD_VALUES = st.one_of(
    st.sampled_from(
        ["good", "ok", "bad", "yes", "no", "partly", "web", "sms", "qr", "3", "5", "16", "120",
         "-1", "1e400", "nan", "inf", "٣", "４", "", " ", "\x00", "a\x00b", "x" * 3000, "🙂"]
    ),
    st.text(max_size=30),
)  # fmt: skip
FORMS = st.lists(st.tuples(FIELD_NAMES, FIELD_VALUES), max_size=6)
# A walk: (screen number, form) pairs posted one after the other, then maybe a submit.
# A valid walk through the all-kinds survey (choice, yes/no, rating, multiple, number, two
# officials of the matrix), so hostile edits also land on a draft that can be submitted.
VALID_WALK = [
    (1, [("value", "good")]),
    (2, [("value", "no")]),
    (3, [("value", "4")]),
    (4, []),
    (5, []),
    (6, [("work", "good"), ("clean", "ok")]),
    (7, [("work", "ok"), ("clean", "good")]),
]
STEPS = st.lists(st.tuples(st.integers(-1, 12), FORMS), max_size=6)
WALKS = st.one_of(
    STEPS.filter(bool),
    STEPS.map(lambda tail: VALID_WALK + tail),
    STEPS.map(lambda head: head + VALID_WALK),
)


def _counts():
    db.session.rollback()
    return (
        db.session.scalar(select(func.count()).select_from(Response)),
        db.session.scalar(select(func.count()).select_from(Answer)),
    )


def _multidict(pairs):
    from werkzeug.datastructures import MultiDict

    return MultiDict(pairs)


def test_arbitrary_form_posts_never_fail(app, campaign):
    @hostile(60)
    @given(walk=WALKS, submit=st.booleans(), honeypot=st.booleans())
    def check(walk, submit, honeypot):
        client = app.test_client()  # a fresh device each time: no draft, no "answered" cookie
        assert client.post("/s/hall/start").status_code == 302
        for number, pairs in walk:
            response = client.post(f"/s/hall/{number}", data=_multidict(pairs))
            assert response.status_code in (200, 302, 400, 404, 410), response.status_code
            if number >= 1:
                assert client.get(f"/s/hall/{number}").status_code in (200, 302, 410)
        assert client.get("/s/hall/review").status_code in (200, 302, 410)
        if submit:
            before = _counts()
            data = {"website": "http://spam"} if honeypot else {}
            response = client.post("/s/hall/submit", data=data)
            assert response.status_code in (200, 302, 400, 410), response.status_code
            after = _counts()
            stored = after[0] - before[0]
            assert stored in (0, 1)
            if stored == 0 or honeypot:
                assert after == before
            else:
                assert after[1] > before[1]  # a response never without its answers

    check()
    assert _counts()[0] > 0, "no generated walk reached a stored response"


def test_posts_without_a_draft_or_to_unknown_links_never_fail(client, campaign):
    @hostile(40)
    @given(
        code=st.sampled_from(["hall", "nope", "HALL", "h%00", "..%2f"])
        | st.text(min_size=1, max_size=12),
        number=st.integers(-5, 10**20),
        pairs=FORMS,
    )
    def check(code, number, pairs):
        from urllib.parse import quote

        path = f"/s/{quote(code, safe='')}/{number}"
        response = client.post(path, data=_multidict(pairs))
        assert response.status_code < 500
        response = client.post(f"/s/{quote(code, safe='')}/submit", data=_multidict(pairs))
        assert response.status_code < 500

    check()
