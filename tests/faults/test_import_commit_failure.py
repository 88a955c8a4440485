"""A failed commit (or statement) during a contacts CSV import: the import is all or nothing.

The failure is injected into the import's own unit of work: the session's commit raising on its
Nth call (as when PostgreSQL goes away at COMMIT), or the database refusing the Nth INSERT of
contact rows part-way through the file. Afterwards no contact of that file is stored, the upload
says it failed and why (the class of error only, never the file's content), and running the job
again imports the file exactly once.
"""

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from app.extensions import db as _db
from app.sms import service
from app.sms.jobs import process_contact_upload
from app.sms.models import SmsContact, SmsUpload
from tests.factories import login, make_user
from tests.sms.conftest import dialogue_campaign, sms  # noqa: F401 - fixtures

UNIQUE = 450
# 450 distinct numbers, 30 repeated, 20 unreadable lines: five chunks of 100.
LINES = (
    ["手机号,性别"]
    + [f"1380013{n:04d},{'男' if n % 2 else '女'}" for n in range(UNIQUE)]
    + [f"1380013{n:04d},男" for n in range(30)]
    + ["not a phone,女"] * 20
)
CSV = ("\n".join(LINES) + "\n").encode()


def run(upload_id: int):
    """What the processing job does, in chunks of 100 lines (five for this file)."""
    return service.process_upload(upload_id, chunk=100)


def contacts() -> int:
    return _db.session.scalar(select(func.count()).select_from(SmsContact))


@pytest.fixture
def held_upload(sms, dialogue_campaign, monkeypatch):  # noqa: F811
    """An upload stored and committed, its processing job held back for the test to run."""
    monkeypatch.setattr(service, "enqueue", lambda *args: None)
    upload = service.start_contact_upload(dialogue_campaign, "contacts.csv", CSV)
    _db.session.commit()
    return upload.id


def fail_commit(monkeypatch, n: int):
    """Make the Nth commit of the session raise as a lost connection would (nothing committed)."""
    real = _db.session.commit
    calls = []

    def commit():
        calls.append(1)
        if len(calls) == n:
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))
        return real()

    monkeypatch.setattr(_db.session, "commit", commit)
    return calls


def fail_insert(n: int):
    """Make the database refuse the Nth INSERT of contact rows (a constraint, a full disk …)."""
    engine = _db.engine
    seen = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO SMS_CONTACTS"):
            seen.append(1)
            if len(seen) == n:
                raise OperationalError(statement, {}, Exception("could not extend file"))

    event.listen(engine, "before_cursor_execute", before)
    return lambda: event.remove(engine, "before_cursor_execute", before)


def assert_failed_and_empty(upload_id):
    _db.session.rollback()
    _db.session.expire_all()
    upload = _db.session.get(SmsUpload, upload_id)
    assert upload.status == "failed"
    assert (upload.processed_rows, upload.accepted, upload.duplicates, upload.invalid) == (0,) * 4
    [error] = upload.errors
    assert "OperationalError" in error["message"] and "no contact" in error["message"]
    assert "1380013" not in error["message"]  # never the file's content
    assert upload.payload_encrypted  # kept, encrypted, for the retry
    assert contacts() == 0


def assert_imported_once(upload_id):
    _db.session.expire_all()
    upload = _db.session.get(SmsUpload, upload_id)
    assert upload.status == "done"
    assert (upload.accepted, upload.duplicates, upload.invalid) == (UNIQUE, 30, 20)
    assert upload.processed_rows == upload.total_rows == len(LINES) - 1
    assert upload.payload_encrypted is None
    assert contacts() == UNIQUE
    keys = _db.session.scalars(select(SmsContact.respondent_key)).all()
    assert len(set(keys)) == UNIQUE


def test_a_failed_final_commit_stores_no_contact_and_a_rerun_imports_once(held_upload, monkeypatch):
    calls = fail_commit(monkeypatch, n=2)  # 1: 'processing', 2: the file's one commit
    with pytest.raises(OperationalError):
        run(held_upload)
    assert len(calls) == 3  # the failure itself was recorded in a commit of its own
    monkeypatch.undo()
    assert_failed_and_empty(held_upload)

    process_contact_upload(held_upload)  # the worker's retry: the job itself, one chunk
    assert_imported_once(held_upload)
    process_contact_upload(held_upload)  # a redelivered job changes nothing
    assert_imported_once(held_upload)


@pytest.mark.parametrize("n", [1, 3, 5])
def test_a_statement_failing_part_way_rolls_back_every_chunk(held_upload, monkeypatch, n):
    remove = fail_insert(n)
    try:
        with pytest.raises(OperationalError):
            run(held_upload)
    finally:
        remove()
    assert_failed_and_empty(held_upload)
    run(held_upload)
    assert_imported_once(held_upload)


def test_when_even_recording_the_failure_fails_the_upload_waits_for_the_retry(
    held_upload, monkeypatch
):
    # The database is gone for good: the final commit and the failure record both fail.
    real = _db.session.commit
    calls = []

    def commit():
        calls.append(1)
        if len(calls) >= 2:
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))
        return real()

    monkeypatch.setattr(_db.session, "commit", commit)
    with pytest.raises(OperationalError):
        run(held_upload)
    monkeypatch.undo()
    _db.session.rollback()
    upload = _db.session.get(SmsUpload, held_upload)
    assert (upload.status, upload.accepted) == ("processing", 0)
    assert contacts() == 0
    run(held_upload)
    assert_imported_once(held_upload)


def test_the_campaign_page_says_the_import_failed(client, held_upload, monkeypatch):
    fail_commit(monkeypatch, n=2)
    with pytest.raises(OperationalError):
        run(held_upload)
    monkeypatch.undo()
    upload = _db.session.get(SmsUpload, held_upload)
    from app.accounts.models import Organization
    from app.campaigns.models import Campaign

    campaign = _db.session.get(Campaign, upload.campaign_id)
    make_user(_db.session.get(Organization, campaign.org_id))
    _db.session.commit()
    login(client)
    html = client.get(f"/admin/sms/campaigns/{campaign.id}").get_data(as_text=True)
    assert "<td>contacts.csv</td><td>failed</td><td>0 / " in html
