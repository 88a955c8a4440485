"""Responses -> published snapshot: hand-checked figures, exclusions, suppression, versions."""

import math

import pytest

from app.core.estimates import Z95
from app.extensions import db
from app.scores.jobs import compute_and_publish_snapshot
from app.scores.models import PublishedSnapshotIsReadOnly, ScoreRow, ScoreSnapshot
from app.scores.service import ScoresError, current_snapshot, publish_snapshot, set_margins
from tests.scores.builders import answer, political_quality_campaign, satisfaction_campaign


def _rows(snapshot):
    return {(r.target_type, r.unit_id or r.official_id): r for r in snapshot.rows}


def test_satisfaction_scores_are_hand_checked_and_exclude_void_and_test_responses(db):
    org, campaign, u1, u2 = satisfaction_campaign()
    snapshot = publish_snapshot(campaign, "first", "r1")
    db.session.commit()
    row = _rows(snapshot)[("unit", u1.id)]
    # 4 × 100 and 2 × 0: the void and the test response (both 'no') count nowhere
    assert row.score == pytest.approx(400 / 6, abs=1e-5)
    assert row.n == 6
    assert row.extra["satisfaction_rate"]["value"] == pytest.approx(400 / 6, abs=1e-5)
    # domain mean over all 9 respondents: Var = n/(n-1) Σ z², z = (x - mean)/N_d in the domain
    squares = 4 * (100 - 400 / 6) ** 2 + 2 * (400 / 6) ** 2
    se = math.sqrt(9 / 8 * squares / 36)
    assert row.ci_low == pytest.approx(400 / 6 - Z95 * se, abs=1e-4)
    assert row.ci_high == 100.0  # clipped
    assert row.grade is None or isinstance(row.grade, str)
    assert row.indicators["service"]["score"] == pytest.approx(400 / 6, abs=1e-5)
    assert snapshot.method["questionnaire"]["version"] == campaign.version.label
    assert snapshot.method["questionnaire"]["checksum"] == campaign.version.checksum
    assert snapshot.method["scheme"]["rule"] == "satisfaction@1"
    assert snapshot.method["weighting"]["method"] == "unweighted"
    assert snapshot.summary["responses"] == 9


def test_a_group_under_k_is_suppressed_with_no_figure(db):
    org, campaign, u1, u2 = satisfaction_campaign()
    snapshot = publish_snapshot(campaign, "first", "r1")
    row = _rows(snapshot)[("unit", u2.id)]
    assert row.suppressed
    assert "fewer than 5" in row.suppression_reason
    assert (row.score, row.n, row.ci_low, row.ci_high, row.n_effective) == (None,) * 5
    assert row.indicators == {} and row.extra == {} and row.rank is None
    # u1 is then alone among the shown units of its type: ranked first, no percentile
    shown = _rows(snapshot)[("unit", u1.id)]
    assert shown.rank == 1 and shown.n_peers == 1 and shown.percentile is None


def test_rater_groups_follow_the_scheme_weights_and_small_groups_are_dropped(db):
    org, campaign, official = political_quality_campaign()
    snapshot = publish_snapshot(campaign, "first", "r1")
    row = _rows(snapshot)[("official", official.id)]
    # superior 0.3 (100) and peer 0.3 (50) re-normalised to 0.5 each; subordinates (2 < 3) dropped
    assert row.score == pytest.approx(75.0)
    assert row.grade == "needs_review"
    assert row.n == 6
    groups = {g["group"]: g for g in row.extra["rater_groups"]}
    assert groups["subordinate"]["status"] == "suppressed"
    assert groups["subordinate"]["n"] is None and groups["subordinate"]["score"] is None
    assert groups["superior"]["weight"] == pytest.approx(0.5)
    assert set(row.indicators) == {
        "loyalty",
        "steadfastness",
        "responsibility",
        "capability",
        "self_discipline",
    }
    assert all(v["score"] == pytest.approx(75.0) for v in row.indicators.values())
    assert row.peer_group == "principal:district" and row.rank == 1


def test_an_evaluation_with_every_group_under_rater_k_is_suppressed(db):
    org, campaign, official = political_quality_campaign()
    campaign.settings = {**campaign.settings, "anonymity": {"k": 5, "rater_k": 4}}
    snapshot = publish_snapshot(campaign, "first", "r1")
    row = _rows(snapshot)[("official", official.id)]
    assert row.suppressed and row.score is None and row.n is None
    assert "fewer than 4 raters" in row.suppression_reason


def test_republishing_makes_a_new_version_and_supersedes_the_old_with_its_reason(db):
    org, campaign, u1, u2 = satisfaction_campaign()
    first = publish_snapshot(campaign, "first", "r1")
    db.session.commit()
    for _ in range(2):
        answer(campaign, u2, "no", "female")
    second = publish_snapshot(campaign, "late answers from the letter drop", "r2")
    db.session.commit()
    db.session.refresh(first)
    assert (first.version, first.status, first.superseded_by_version) == (1, "superseded", 2)
    assert (second.version, second.status, second.reason) == (
        2,
        "published",
        "late answers from the letter drop",
    )
    assert second.seq > first.seq
    assert current_snapshot(campaign.id).id == second.id
    row = _rows(second)[("unit", u2.id)]
    assert not row.suppressed and row.score == pytest.approx(60.0) and row.n == 5


def test_a_target_that_loses_its_score_is_withdrawn_in_the_next_version(db):
    org, campaign, u1, u2 = satisfaction_campaign()
    publish_snapshot(campaign, "first", "r1")
    db.session.commit()
    for response in campaign_responses(campaign, u1):
        response.status = "void"
    second = publish_snapshot(campaign, "u1 answers voided", "r2")
    third = publish_snapshot(campaign, "again", "r3")
    for snapshot in (second, third):  # withdrawn again, so a client that skipped v2 learns it
        row = _rows(snapshot)[("unit", u1.id)]
        assert row.status == "withdrawn" and row.score is None


def campaign_responses(campaign, unit):
    from app.responses.models import Response

    return db.session.scalars(
        db.select(Response).where(Response.campaign_id == campaign.id, Response.unit_id == unit.id)
    ).all()


def test_a_published_snapshot_and_its_rows_cannot_change(db):
    org, campaign, u1, u2 = satisfaction_campaign()
    snapshot = publish_snapshot(campaign, "first", "r1")
    db.session.commit()
    row = _rows(snapshot)[("unit", u1.id)]
    row.score = 99.0
    with pytest.raises(PublishedSnapshotIsReadOnly):
        db.session.flush()
    db.session.rollback()
    snapshot = db.session.get(ScoreSnapshot, snapshot.id)
    snapshot.reason = "rewritten"
    with pytest.raises(PublishedSnapshotIsReadOnly):
        db.session.flush()
    db.session.rollback()
    snapshot = db.session.get(ScoreSnapshot, snapshot.id)
    snapshot.method = {}
    with pytest.raises(PublishedSnapshotIsReadOnly):
        db.session.flush()
    db.session.rollback()
    for doomed in (
        db.session.get(ScoreSnapshot, snapshot.id),
        db.session.scalars(db.select(ScoreRow)).first(),
    ):
        db.session.delete(doomed)
        with pytest.raises(PublishedSnapshotIsReadOnly):
            db.session.flush()
        db.session.rollback()


def test_the_job_run_twice_for_one_request_publishes_once(db, app):
    org, campaign, u1, u2 = satisfaction_campaign()
    compute_and_publish_snapshot(campaign.id, "monthly run", "req-1")
    compute_and_publish_snapshot(campaign.id, "monthly run", "req-1")
    snapshots = db.session.scalars(db.select(ScoreSnapshot)).all()
    assert [(s.version, s.status) for s in snapshots] == [(1, "published")]
    compute_and_publish_snapshot(campaign.id, "another request", "req-2")
    assert sorted(s.version for s in db.session.scalars(db.select(ScoreSnapshot))) == [1, 2]


def test_the_job_skips_a_campaign_that_no_longer_exists(db):
    compute_and_publish_snapshot(999999, "gone", "req")
    assert db.session.scalars(db.select(ScoreSnapshot)).all() == []


def test_publishing_needs_a_reason(db):
    org, campaign, u1, u2 = satisfaction_campaign()
    with pytest.raises(ScoresError, match="reason"):
        publish_snapshot(campaign, "  ", "r1")


def test_margins_weight_the_scores(db):
    org, campaign, u1, u2 = satisfaction_campaign(
        settings={"weighting": {"method": "poststratify", "variables": ["sex"]}}
    )
    set_margins(campaign, "variable,level,total\nsex,male,50\nsex,female,50\n")
    snapshot = publish_snapshot(campaign, "weighted", "r1")
    row = _rows(snapshot)[("unit", u1.id)]
    # 4 men (weight 50/4) answered 100, 2 of the 5 women (weight 50/5) answered 0
    assert row.score == pytest.approx(4 * 12.5 * 100 / (4 * 12.5 + 2 * 10), abs=1e-5)
    assert row.n_effective == pytest.approx(
        (4 * 12.5 + 2 * 10) ** 2 / (4 * 12.5**2 + 2 * 10**2), abs=1e-4
    )
    weighting = snapshot.method["weighting"]
    assert weighting["method"] == "poststratify" and weighting["variables"] == ["sex"]
    assert len(weighting["margins_sha256"]) == 64
