"""Contacts CSV upload: line-numbered errors, E.164, dedupe, encryption, background progress."""

from sqlalchemy import func, select

from app.extensions import db as _db
from app.sms import service
from app.sms.models import SmsContact, SmsUpload
from tests.sms.conftest import PHONE

CSV = """phone,district,age_band,sex
13800138000,鼓楼区,60+,男
+86 139 1234 5678,玄武区,18-29,女
12345678901,鼓楼区,30-39,男

not a number,鼓楼区,30-39,女
008613800138000,鼓楼区,60+,男
"13700137000",秦淮区,40-49,X
,鼓楼区,40-49,男
１３６ ００１３ ６０００,秦淮区,40-49,F
"""


def upload(campaign, text, encoding="utf-8"):
    upload = service.start_contact_upload(campaign, "contacts.csv", text.encode(encoding))
    _db.session.commit()
    _db.session.expire_all()
    return _db.session.get(SmsUpload, upload.id)


def test_invalid_lines_are_reported_by_line_number(sms, dialogue_campaign):
    done = upload(dialogue_campaign, CSV)
    assert done.status == "done"
    assert done.errors == [
        {"line": 4, "message": "not a valid phone number"},
        {"line": 6, "message": "not a valid phone number"},
        {"line": 8, "message": "sex must be 男/女 (or M/F)"},
        {"line": 9, "message": "no phone number"},
    ]
    assert (done.accepted, done.duplicates, done.invalid) == (3, 1, 4)
    assert done.processed_rows == done.total_rows == 9
    assert done.payload_encrypted is None  # the file itself is gone once processed


def test_contacts_are_stored_only_encrypted_and_pseudonymized(sms, dialogue_campaign):
    upload(dialogue_campaign, CSV)
    contacts = _db.session.scalars(select(SmsContact).order_by(SmsContact.id)).all()
    assert [c.strata for c in contacts] == [
        {"district": "鼓楼区", "age_band": "60+", "sex": "male"},
        {"district": "玄武区", "age_band": "18-29", "sex": "female"},
        {"district": "秦淮区", "age_band": "40-49", "sex": "female"},
    ]
    decrypted = [service.cipher().decrypt(c.phone_encrypted) for c in contacts]
    assert decrypted == [PHONE, "+8613912345678", "+8613600136000"]
    assert all("138" not in c.phone_encrypted for c in contacts)
    assert contacts[0].respondent_key == service.pseudonym(dialogue_campaign.id, PHONE)


def test_a_second_upload_adds_only_new_numbers(sms, dialogue_campaign):
    upload(dialogue_campaign, CSV)
    again = upload(dialogue_campaign, "手机号\n13800138000\n13500135000\n")
    assert (again.accepted, again.duplicates) == (1, 1)


def test_gb18030_files_from_excel_are_read(sms, dialogue_campaign):
    done = upload(dialogue_campaign, "手机号,性别\n13800138000,女\n", encoding="gb18030")
    assert done.accepted == 1


def test_a_file_without_a_phone_column_is_refused_at_once(sms, dialogue_campaign):
    import pytest

    with pytest.raises(service.ContactsInvalid) as caught:
        service.start_contact_upload(dialogue_campaign, "x.csv", b"name,age\n\xe5\xbc\xa0,3\n")
    assert caught.value.problems[0].startswith("line 1: no phone column")
    with pytest.raises(service.ContactsInvalid):
        service.start_contact_upload(dialogue_campaign, "x.csv", b"")
    with pytest.raises(service.ContactsInvalid):
        service.start_contact_upload(dialogue_campaign, "x.bin", bytes(range(256)) * 4)


def test_a_garbage_file_gives_clear_results(sms, dialogue_campaign):
    import random

    rng = random.Random(5)
    lines = ["phone"] + [
        "".join(rng.choice("0123456789abc,\"'; ") for _ in range(12)) for _ in range(300)
    ]
    done = upload(dialogue_campaign, "\n".join(lines) + "\n")
    assert done.status == "done"
    assert done.invalid + done.accepted + done.duplicates <= 300


def test_a_big_upload_failing_part_way_stores_nothing_and_completes_on_a_rerun(
    sms, dialogue_campaign, monkeypatch
):
    rows = "\n".join(f"1380013{n:04d}" for n in range(2500))
    monkeypatch.setattr(service, "UPLOAD_CHUNK", 1000)
    monkeypatch.setattr(service, "enqueue", lambda *args: None)  # hold the background job
    item = service.start_contact_upload(dialogue_campaign, "big.csv", f"phone\n{rows}\n".encode())
    _db.session.commit()
    calls = []
    real = service._import_batch

    def dies_on_the_third_chunk(*args):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("worker died")
        return real(*args)

    monkeypatch.setattr(service, "_import_batch", dies_on_the_third_chunk)
    try:
        service.process_upload(item.id, chunk=1000)
    except RuntimeError:
        _db.session.rollback()
    failed = _db.session.get(SmsUpload, item.id)
    # All or nothing: the two chunks before the failure were rolled back with it.
    assert (failed.status, failed.processed_rows, failed.accepted) == ("failed", 0, 0)
    assert _db.session.scalar(select(func.count()).select_from(SmsContact)) == 0
    monkeypatch.setattr(service, "_import_batch", real)
    service.process_upload(item.id, chunk=1000)
    done = _db.session.get(SmsUpload, item.id)
    assert (done.status, done.processed_rows, done.accepted, done.duplicates) == (
        "done",
        2500,
        2500,
        0,
    )


def test_a_large_import_shows_its_progress_while_it_runs(sms, db, dialogue_campaign, monkeypatch):
    import os

    import pytest

    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip(
            "progress from a second connection needs PostgreSQL (CI sets TEST_DATABASE_URL)"
        )
    rows = "\n".join(f"1380013{n:04d}" for n in range(2500))
    monkeypatch.setattr(service, "enqueue", lambda *args: None)
    item = service.start_contact_upload(dialogue_campaign, "big.csv", f"phone\n{rows}\n".encode())
    _db.session.commit()
    seen = []
    real = service._import_batch

    def watching(*args):
        with _db.engine.connect() as other:  # what the progress page reads meanwhile
            seen.append(
                other.execute(
                    select(SmsUpload.processed_rows).where(SmsUpload.id == item.id)
                ).scalar()
            )
        return real(*args)

    monkeypatch.setattr(service, "_import_batch", watching)
    service.process_upload(item.id, chunk=1000)
    assert seen == [0, 1000, 2000]
    assert _db.session.scalar(select(func.count()).select_from(SmsContact)) == 2500
