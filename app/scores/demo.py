"""Simulated responses for the demo organization, and a first published snapshot of each campaign.

DEMO DATA ONLY: the answers are drawn from a seeded random generator, recorded through
record_response like any channel's (not as test responses, so they count in the scores), and
every campaign that holds them is marked settings["demo"] = true.
"""

import json
import random

from app.campaigns.models import Campaign
from app.core.questionnaire import Question, is_shown, parse_questions
from app.extensions import db
from app.responses.service import record_response, resolve_definition
from app.scores.service import publish_snapshot, set_margins
from app.targets.models import Unit

SEED = 20261128
DEMO_REASON = "演示数据：首次发布（模拟答卷）"

# Respondents per district; Jiangbei's 4 are under the anonymity threshold (k = 5), so the demo
# shows a suppressed score too.
SATISFACTION = {"gl": (82, 60), "cg": (70, 45), "jb": (60, 4)}  # unit: (mean score, respondents)
SEXES = ("male", "female")
AGES = ("age_18_29", "age_30_39", "age_40_49", "age_50_59", "age_60_69", "age_70_plus")
# Census-like population margins of the three districts (people aged 18 and over).
MARGINS_CSV = "variable,level,total\n" + "".join(
    [f"sex,{s},{t}\n" for s, t in zip(SEXES, (412000, 398000), strict=True)]
    + [
        f"age_band,{a},{t}\n"
        for a, t in zip(AGES, (150000, 160000, 150000, 140000, 120000, 90000), strict=True)
    ]
)
# Raters per group; the 2 service recipients are under rater_k (3), so that group is dropped.
RATERS = {"superior": 4, "peer": 6, "subordinate": 8, "service_recipient": 2}
OFFICIAL_MEANS = {"gl-1": 92, "gl-2": 86, "gl-3": 78, "gl-4": 83}
# Hotline cases per street; the last street's 3 are suppressed.
HOTLINE = {"gl-hm": (85, 30), "gl-dq": (70, 24), "cg-xy": (78, 14), "jb-hx": (60, 3)}


def _pick(question: Question, rng: random.Random, mean: float, direction: str = "positive"):
    scored = [o for o in question.options if o.scored and o.score is not None]
    unscored = [o for o in question.options if not o.scored]
    if unscored and rng.random() < 0.04:
        return unscored[0].value
    wanted = min(100.0, max(0.0, rng.gauss(mean, 14)))
    if direction == "negative":
        wanted = 100 - wanted

    def distance(option):
        return abs(option.score - wanted)

    return min(scored, key=distance).value


def _answers(definition: dict, rng: random.Random, mean: float, target_means: dict) -> dict:
    answers: dict = {}
    for question in parse_questions(definition):
        if not is_shown(question, answers) or question.kind == "text":
            continue
        if question.kind == "matrix":
            answers[question.key] = {
                t["key"]: {
                    item.key: _pick(question, rng, target_means.get(t["key"], mean), item.direction)
                    for item in question.items
                }
                for t in question.targets
            }
        elif question.indicator:
            answers[question.key] = _pick(question, rng, mean, question.direction)
        elif question.key == "sex":
            answers[question.key] = rng.choice(SEXES)
        elif question.key == "age_band":
            answers[question.key] = rng.choice(AGES)
        elif question.options:
            answers[question.key] = rng.choice(question.options).value
    return answers


def _mark_demo(campaign: Campaign, **settings) -> None:
    updated = json.loads(json.dumps(campaign.settings or {}))
    updated.update(settings, demo=True)
    campaign.settings = updated


def _record(campaign, unit, rng, mean, count, channel, rater_group=None, target_means=None):
    definition = resolve_definition(campaign, unit)
    for i in range(count):
        record_response(
            campaign,
            _answers(definition, rng, mean, target_means or {}),
            channel=channel,
            idempotency_key=f"demo-{campaign.id}-{unit.code}-{rater_group or 'public'}-{i}",
            unit=unit,
            rater_group=rater_group,
            duration_seconds=rng.randint(90, 420),
        )


def load_demo_scores(campaigns: dict[str, Campaign], units: dict[str, Unit]) -> None:
    """Record simulated responses in the demo campaigns and publish their first snapshots; the caller commits."""
    rng = random.Random(SEED)
    social = campaigns["social-satisfaction"]
    _mark_demo(social, weighting={"method": "rake", "variables": ["sex", "age_band"]})
    set_margins(social, MARGINS_CSV)
    for code, (mean, count) in SATISFACTION.items():
        _record(social, units[code], rng, mean, count, "web")
    for template in ("political-quality", "democratic-evaluation"):
        campaign = campaigns[template]
        _mark_demo(campaign)
        for group, count in RATERS.items():
            _record(campaign, units["gl"], rng, 82, count, "web", group, OFFICIAL_MEANS)
    hotline = campaigns["hotline-followup"]
    _mark_demo(hotline)
    for code, (mean, count) in HOTLINE.items():
        _record(hotline, units[code], rng, mean, count, "hotline")
    db.session.flush()
    for campaign in campaigns.values():
        publish_snapshot(campaign, DEMO_REASON, "demo-initial")
