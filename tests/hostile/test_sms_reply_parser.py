"""The SMS reply parser on arbitrary text: it never raises, and whatever it takes is a valid answer."""

from hypothesis import given
from hypothesis import strategies as st

from app.core.questionnaire import parse_questions, validate_answers
from app.core.sms_text import (
    classify_keyword,
    count_segments,
    next_question,
    normalize_reply,
    parse_reply,
    sms_compatible,
)
from tests.factories import ALL_KINDS
from tests.hostile.conftest import hostile
from tests.sms.conftest import DIALOGUE

# Replies people (and attackers) send: digits in every width and script, Chinese numerals,
# separators, keywords, emoji, control characters, surrogate-free arbitrary text.
PIECES = st.sampled_from(
    [
        "1", "2", "3", "4", "5", "9", "0", "10", "-1", "3.5", "1e9", "４", "四", "十二", "九十九",
        "是", "否", "不", "Y", "n", "部分", "满意", "STOP", "T", "帮助", "?", "，", ",", "、", " ",
        "/", "|", ";", "\n", "\t", "\u3000", "。", "!", "😀", "\x00", "\u202e", "ﾟ", "٣", "३",
        "3452", "1111111111111111111111", "𝟗", "①", "Ⅳ", "\ufeff",
    ]
)  # fmt: skip
REPLIES = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(PIECES, st.text(max_size=5)), max_size=30).map("".join),
)
DEFINITIONS = [DIALOGUE, ALL_KINDS]


def _sms_questions(definition):
    return [q for q in parse_questions(definition) if sms_compatible(q)]


@hostile(200)
@given(text=REPLIES, which=st.integers(0, len(DEFINITIONS) - 1), start=st.integers(0, 3))
def test_any_reply_parses_to_valid_answers_or_names_the_question_to_reask(text, which, start):
    definition = DEFINITIONS[which]
    questions = _sms_questions(definition)
    # Some answers already given by earlier messages (taken from a reply that is always valid).
    answers = parse_reply(" ".join(["1"] * start), questions, {}).answers
    result = parse_reply(text, questions, answers)
    assert set(result.answers).isdisjoint(answers)
    assert {q.key for q in questions} >= set(result.answers)
    combined = {**answers, **result.answers}
    # Every value taken must pass the same validation the web and JSON channels use (required
    # questions not yet answered are expected; nothing else may be wrong).
    rows_or_problems = _problems(definition, combined)
    assert all("required" in p.message for p in rows_or_problems), rows_or_problems
    if result.failed is not None:
        assert result.failed is next_question(questions, combined)


def _problems(definition, answers):
    from app.core.questionnaire import AnswersInvalid

    try:
        validate_answers(definition, answers)
    except AnswersInvalid as exc:
        return exc.problems
    return []


@hostile(200)
@given(text=st.text(max_size=300))
def test_keywords_and_segments_never_fail_on_any_text(text):
    assert classify_keyword(text) in (None, "stop", "start", "help")
    assert normalize_reply(normalize_reply(text)) == normalize_reply(text)
    assert "\x00" not in normalize_reply(text + "\x00")  # unstorable in PostgreSQL
    segments = count_segments(text)
    assert segments.count >= 1
    assert segments.units >= 0
