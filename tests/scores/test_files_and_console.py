"""Snapshot files (CSV with BOM, XLSX) with the API's suppression, the console and the CLI."""

import csv
import io

from openpyxl import load_workbook

from app.extensions import db
from app.scores.export import neutralise, snapshot_csv, snapshot_xlsx
from app.scores.models import ScoreSnapshot
from app.scores.service import publish_snapshot
from tests.factories import login, make_user
from tests.scores.builders import satisfaction_campaign


def _published(name='=HYPERLINK("http://x")'):
    org, campaign, u1, u2 = satisfaction_campaign(unit_name=name)
    snapshot = publish_snapshot(campaign, "first", "r1")
    db.session.commit()
    return org, campaign, snapshot, u1, u2


def _by_code(rows):
    header = rows[0]
    return header, {row[header.index("对象代码 code")]: row for row in rows[1:]}


def test_csv_has_a_bom_neutralises_formulas_and_suppresses_small_groups(db):
    org, campaign, snapshot, u1, u2 = _published()
    data = snapshot_csv(snapshot)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    header, by_code = _by_code(rows)
    assert by_code["u1"][header.index("对象名称 name")] == '\'=HYPERLINK("http://x")'
    assert float(by_code["u1"][header.index("得分 score")]) == round(400 / 6, 6)
    small = by_code["u2"]
    assert small[header.index("样本过少不予显示 suppressed")] == "yes"
    for column in ("得分 score", "样本量 n", "95%置信区间下限 CI low", "分项指标 indicators"):
        assert small[header.index(column)] == ""


def test_xlsx_has_the_same_rows_and_suppression(db):
    org, campaign, snapshot, u1, u2 = _published("@SUM(A1)")
    sheet = load_workbook(io.BytesIO(snapshot_xlsx(snapshot))).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header, by_code = _by_code(rows)
    assert by_code["u1"][header.index("对象名称 name")] == "'@SUM(A1)"
    assert by_code["u1"][header.index("得分 score")] == round(400 / 6, 6)
    assert by_code["u2"][header.index("得分 score")] is None
    assert by_code["u2"][header.index("样本过少不予显示 suppressed")] == "yes"


def test_neutralise_touches_only_text_that_starts_a_formula():
    assert [neutralise(v) for v in ("=1+1", "+1", "-1", "@x", "\tx", "ok", -1.5, None)] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@x",
        "'\tx",
        "ok",
        -1.5,
        None,
    ]


def test_staff_download_files_and_publish_from_the_console(client, db):
    org, campaign, snapshot, u1, u2 = _published("鼓楼区")
    make_user(org, email="analyst@example.org", role="analyst")
    db.session.commit()
    login(client, email="analyst@example.org")
    page = client.get(f"/admin/scores/campaigns/{campaign.id}")
    assert page.status_code == 200 and "鼓楼区" in page.get_data(as_text=True)
    csv_file = client.get(f"/admin/scores/campaigns/{campaign.id}/export?format=csv")
    assert csv_file.status_code == 200 and csv_file.data.startswith(b"\xef\xbb\xbf")
    xlsx = client.get(f"/admin/scores/campaigns/{campaign.id}/export?format=xlsx&version=1")
    assert xlsx.status_code == 200 and xlsx.data.startswith(b"PK")
    assert client.get(f"/admin/scores/campaigns/{campaign.id}/export?version=7").status_code == 404
    from tests.factories import csrf_token

    token = csrf_token(client, f"/admin/scores/campaigns/{campaign.id}")
    form = {"csrf_token": token, "reason": "重新计算", "request_id": "form-1"}
    for _ in range(2):  # a double submission publishes once
        response = client.post(f"/admin/scores/campaigns/{campaign.id}/publish", data=form)
        assert response.status_code == 302
    versions = db.session.scalars(db.select(ScoreSnapshot.version)).all()
    assert sorted(versions) == [1, 2]


def test_cli_publishes_and_sets_margins(runner, db, tmp_path):
    org, campaign, u1, u2 = satisfaction_campaign(
        settings={"weighting": {"method": "poststratify", "variables": ["sex"]}}
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("variable,level,total\nsex,alien,3\n", encoding="utf-8")
    result = runner.invoke(args=["scores", "margins", "--campaign", str(campaign.id), str(bad)])
    assert result.exit_code != 0 and "line 2: 'alien' is not a level of sex" in result.output
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("variable,level,total\nsex,男,3\n".encode("gbk"))
    result = runner.invoke(args=["scores", "margins", "--campaign", str(campaign.id), str(gbk)])
    assert result.exit_code == 1 and "is not UTF-8 text" in result.output
    good = tmp_path / "good.csv"
    good.write_text("variable,level,total\nsex,male,50\nsex,female,50\n", encoding="utf-8")
    result = runner.invoke(args=["scores", "margins", "--campaign", str(campaign.id), str(good)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        args=["scores", "publish", "--campaign", str(campaign.id), "--reason", "quarterly"]
    )
    assert result.exit_code == 0, result.output
    assert "snapshot version 1 published (2 scores, 1 suppressed)" in result.output
    snapshot = db.session.scalars(db.select(ScoreSnapshot)).one()
    assert (
        snapshot.reason == "quarterly" and snapshot.method["weighting"]["method"] == "poststratify"
    )
