"""The CSV importers on arbitrary bytes: clear errors, never another exception, never a partial write.

SMS contacts (start_contact_upload, then the processing job) and population margins
(set_margins) get random bytes, invalid UTF-8, NULs, huge lines, formula-like cells and
near-valid files with one line spoiled.
"""

import copy

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.extensions import db
from app.scores.service import MarginsInvalid, set_margins
from app.sms import service
from app.sms.models import SmsContact, SmsUpload
from tests.hostile.conftest import hostile
from tests.scores.builders import satisfaction_campaign

FORMULAS = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", '=HYPERLINK("http://x")', "\t=1"]
CELLS = st.one_of(
    st.sampled_from(
        ["13800138000", "+86 139 1234 5678", "１３６ ００１３ ６０００", "", " ", "男", "女", "X",
         "鼓楼区", "60+", "\x00", "a\x00b", '"', '""', "\r", "\n", "\ufeff", "\ud800", "x" * 200_000,
         *FORMULAS]
    ),
    st.text(max_size=20),
)  # fmt: skip
HEADERS = st.sampled_from(
    [
        "phone,district,age_band,sex",
        "手机号,性别",
        "phone",
        "name,age",
        "",
        "\ufeffphone,sex",
        "phone\x00",
    ]
)
LINES = st.lists(st.lists(CELLS, max_size=5).map(",".join), max_size=12)


def _text_file(header, lines, newline):
    return newline.join([header, *lines]) + newline


ENCODED = st.builds(_text_file, HEADERS, LINES, st.sampled_from(["\n", "\r\n", "\r"])).flatmap(
    lambda text: st.sampled_from(
        [
            text.encode("utf-8", "surrogatepass"),
            text.encode("gb18030", "replace"),
            ("\ufeff" + text).encode("utf-8", "surrogatepass"),
        ]
    )
)
RAW = st.one_of(
    st.binary(max_size=300),
    ENCODED,
    st.tuples(ENCODED, st.binary(max_size=8), st.integers(0, 400)).map(
        lambda t: t[0][: t[2]] + t[1] + t[0][t[2] :]  # stray bytes spliced in anywhere
    ),
)


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.usefixtures("sms")
def test_contact_uploads_of_any_bytes_import_whole_or_are_refused_clearly(
    dialogue_campaign, monkeypatch
):
    held = []
    monkeypatch.setattr(service, "enqueue", lambda job, *args: held.append(args))

    @hostile(100)
    @example(raw=b"phone,district\n13800138000," + b"x" * 200_000 + b"\n13900139000,a\n")
    @example(raw=b"phone" + b"x" * 200_000 + b"\n13800138000\n")
    @example(raw=b"phone,district\n13800138000,a\x00b\n13900139000,=cmd|' /C calc'!A0\n")
    @example(raw=b"\xff\xfe\x00p\x00h\x00o\x00n\x00e\x00\n")
    @given(raw=RAW)
    def check(raw):
        db.session.rollback()
        uploads, contacts = _count(SmsUpload), _count(SmsContact)
        try:
            upload = service.start_contact_upload(dialogue_campaign, "hostile.csv", raw)
        except service.ContactsInvalid as exc:
            db.session.rollback()
            assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
            assert (_count(SmsUpload), _count(SmsContact)) == (uploads, contacts)
            return
        db.session.commit()
        done = service.process_upload(upload.id)
        db.session.expire_all()
        done = db.session.get(SmsUpload, upload.id)
        assert done.status == "done", done.errors
        assert done.payload_encrypted is None
        # A line that is not CSV at all (e.g. a field over the csv module's 128 KiB limit) is
        # listed as an error and ends the reading: it counts as invalid, not as processed.
        assert done.accepted + done.duplicates + done.invalid <= done.processed_rows + 1
        assert _count(SmsContact) == contacts + done.accepted
        for error in done.errors:
            assert isinstance(error["line"], int) and error["message"]
            assert "1380013" not in error["message"]  # never the input itself

    check()


MARGINS_SETTINGS = {"weighting": {"method": "rake", "variables": ["sex", "unit"]}}
GOOD_MARGINS = ["variable,level,total", "sex,male,60", "sex,female,40", "unit,u1,70", "unit,u2,30"]
MARGIN_CELLS = st.one_of(
    st.sampled_from(
        ["sex", "unit", "male", "female", "u1", "u2", "60", "40", "1e309", "-1", "nan", "inf",
         "0x10", "٣", "\x00", "x" * 200_000, '"', *FORMULAS]
    ),
    st.text(max_size=10),
)  # fmt: skip
MARGIN_TEXTS = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=200).map(lambda b: b.decode("utf-8", "replace")),
    st.tuples(st.integers(0, 4), st.lists(MARGIN_CELLS, max_size=4).map(",".join)).map(
        lambda t: "\n".join(GOOD_MARGINS[: t[0] + 1] + [t[1]] + GOOD_MARGINS[t[0] + 1 :])
    ),
)


def test_margin_files_of_any_text_are_stored_whole_or_refused_by_line(db):
    org, campaign, *_ = satisfaction_campaign(settings=MARGINS_SETTINGS)
    db.session.commit()

    @hostile(150)
    @example(text="variable,level,total\nsex,male," + "9" * 200_000 + "\n")
    @example(text="variable,level,total\nsex,male,60\x00\n")
    @example(text="\n".join(GOOD_MARGINS))
    @given(text=MARGIN_TEXTS)
    def check(text):
        before = copy.deepcopy(campaign.settings)
        try:
            margins = set_margins(campaign, text)
        except MarginsInvalid as exc:
            assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
            assert campaign.settings == before  # nothing half-set
            return
        assert campaign.settings["weighting"]["margins"] == margins
        assert set(margins) == {"sex", "unit"}
        db.session.commit()
        db.session.refresh(campaign)
        assert campaign.settings["weighting"]["margins"] == margins

    check()
