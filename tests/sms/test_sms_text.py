"""Pure SMS rules: segments, windows, keywords, lenient reply parsing, throttle (no app needed)."""

from datetime import time

import pytest

from app.core.questionnaire import parse_questions
from app.core.sms_text import (
    Throttle,
    chinese_number,
    classify_keyword,
    count_segments,
    estimate_cost,
    in_window,
    oversized_questions,
    parse_reply,
    parse_window,
    question_prompt,
)

DEFINITION = {
    "questions": [
        {
            "key": "sat",
            "kind": "single_choice",
            "text": {"zh": "满意吗？"},
            "options": [
                {"value": "good", "label": {"zh": "满意"}, "sms": "1"},
                {"value": "ok", "label": {"zh": "基本满意"}, "sms": "2"},
                {"value": "bad", "label": {"zh": "不满意"}, "sms": "3"},
                {"value": "dk", "label": {"zh": "不了解"}, "sms": "4"},
            ],
        },
        {"key": "solved", "kind": "yes_no", "text": {"zh": "解决了吗？"}},
        {"key": "rate", "kind": "rating", "text": {"zh": "打分"}, "min": 1, "max": 5},
        {
            "key": "fast",
            "kind": "single_choice",
            "text": {"zh": "及时吗？"},
            "options": [
                {"value": "yes", "label": {"zh": "及时"}},
                {"value": "no", "label": {"zh": "不及时"}},
            ],
        },
    ]
}
QUESTIONS = parse_questions(DEFINITION)


def parse(text, answers=None, questions=QUESTIONS):
    return parse_reply(text, questions, answers or {})


# --- segments ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "count"),
    [
        ("", "GSM-7", 1),
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),  # extension characters cost two septets
        ("€" * 81, "GSM-7", 2),
        ("满" * 70, "UCS-2", 1),
        ("满" * 71, "UCS-2", 2),
        ("满" * 134, "UCS-2", 2),
        ("满" * 135, "UCS-2", 3),
        ("It’s fine" + "a" * 61, "UCS-2", 1),  # one curly quote turns English into UCS-2
        ("It’s fine" + "a" * 62, "UCS-2", 2),
        ("😀" * 35, "UCS-2", 1),  # outside the BMP: two UTF-16 units each
        ("😀" * 36, "UCS-2", 2),
    ],
)
def test_segments_are_counted_per_encoding(text, encoding, count):
    segments = count_segments(text)
    assert (segments.encoding, segments.count) == (encoding, count)


def test_cost_is_price_times_segments():
    assert estimate_cost([1, 2, 3], 0.05) == 0.3
    assert estimate_cost(10, 0.045) == 0.45


def test_long_sms_questions_are_flagged():
    long = {"questions": [{**DEFINITION["questions"][1], "sms_text": {"zh": "很长" * 100}}]}
    assert oversized_questions(parse_questions(long), 2) == [("solved", 4)]
    assert oversized_questions(QUESTIONS, 1) == []


# --- windows -----------------------------------------------------------------------------------


def test_send_window_excludes_the_night():
    window = parse_window("08:00-21:00")
    assert in_window(time(8, 0), window) and in_window(time(20, 59), window)
    assert not in_window(time(21, 0), window) and not in_window(time(7, 59), window)
    overnight = parse_window("22:00-06:00")
    assert in_window(time(23, 0), overnight) and not in_window(time(12, 0), overnight)
    assert in_window(time(3, 0), parse_window("00:00-00:00"))
    with pytest.raises(ValueError):
        parse_window("8-21")


# --- keywords ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["STOP", "stop", " Stop ", "退订", "TD", "td", "T", "t", "Ｔ", "ＴＤ", "退订。", "UNSUBSCRIBE"],
)
def test_every_opt_out_keyword_is_recognized(text):
    assert classify_keyword(text) == "stop"


@pytest.mark.parametrize(
    ("text", "kind"),
    [("START", "start"), ("start", "start"), ("HELP", "help"), ("帮助", "help"), ("help?", "help")],
)
def test_start_and_help_keywords(text, kind):
    assert classify_keyword(text) == kind


@pytest.mark.parametrize("text", ["1", "3 4 5 2", "是", "Stop the noise", "TDX", ""])
def test_answers_are_not_keywords(text):
    assert classify_keyword(text) is None


# --- replies -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", "good"),
        ("４", "dk"),  # full-width digit
        ("四", "dk"),  # Chinese numeral
        ("叁", "bad"),
        ("满意", "good"),  # option word
        ("不满意", "bad"),
        ("基本满意", "ok"),
        (" 2。", "ok"),
    ],
)
def test_single_choice_replies(text, expected):
    assert parse(text).answers == {"sat": expected}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("是", "yes"),
        ("对", "yes"),
        ("Y", "yes"),
        ("y", "yes"),
        ("yes", "yes"),
        ("否", "no"),
        ("不", "no"),
        ("N", "no"),
        ("no", "no"),
        ("部分", "partly"),
        ("1", "yes"),
        ("3", "no"),
    ],
)
def test_yes_no_replies(text, expected):
    assert parse(text, {"sat": "good"}).answers == {"solved": expected}


@pytest.mark.parametrize(
    "text", ["3 1 5 2", "3，1，5，2", "3,1,5,2", "3、1、5、2", "3452"[:0] + "3152", "３１５２"]
)
def test_several_answers_in_one_message(text):
    assert parse(text).answers == {"sat": "bad", "solved": "yes", "rate": 5, "fast": "no"}


def test_a_digit_run_is_split_only_over_single_digit_questions():
    questions = parse_questions(
        {
            "questions": [
                DEFINITION["questions"][0],
                {"key": "age", "kind": "number", "text": {"zh": "年龄"}, "min": 0, "max": 120},
            ]
        }
    )
    result = parse("12", questions=questions)
    assert result.answers == {} and result.failed.key == "sat"
    assert parse("1 67", questions=questions).answers == {"sat": "good", "age": 67}


def test_a_bad_token_keeps_the_answers_before_it_and_names_the_question_to_reask():
    result = parse("1 maybe 4")
    assert result.answers == {"sat": "good"}
    assert result.failed.key == "solved"


@pytest.mark.parametrize("text", ["9", "hello", "５５", "六"])
def test_unparseable_replies_fail(text):
    result = parse(text)
    assert result.answers == {} and result.failed.key == "sat"


def test_rating_accepts_chinese_and_full_width_numbers():
    answers = {"sat": "good", "solved": "yes"}
    assert parse("五", answers).answers == {"rate": 5}
    assert parse("３", answers).answers == {"rate": 3}
    assert parse("6", answers).failed.key == "rate"


def test_skip_rules_are_followed():
    definition = {
        "questions": [
            DEFINITION["questions"][1],
            {
                "key": "why",
                "kind": "single_choice",
                "text": {"zh": "为什么？"},
                "show_if": {"question": "solved", "equals": "no"},
                "options": [
                    {"value": "slow", "label": {"zh": "慢"}},
                    {"value": "rude", "label": {"zh": "态度"}},
                ],
            },
            DEFINITION["questions"][2],
        ]
    }
    questions = parse_questions(definition)
    assert parse("1 4", questions=questions).answers == {"solved": "yes", "rate": 4}
    assert parse("3 2 4", questions=questions).answers == {"solved": "no", "why": "rude", "rate": 4}


def test_chinese_numbers():
    assert [chinese_number(t) for t in ("四", "十", "十二", "二十", "九十九", "两")] == [
        4,
        10,
        12,
        20,
        99,
        2,
    ]
    assert chinese_number("一二") is None and chinese_number("好") is None


def test_prompts_list_the_reply_choices():
    assert question_prompt(QUESTIONS[0]) == "满意吗？ 回复1满意 2基本满意 3不满意 4不了解"
    assert "1-5" in question_prompt(QUESTIONS[2])


# --- throttle ----------------------------------------------------------------------------------


def test_throttle_paces_calls_with_an_injected_clock():
    now = [100.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    throttle = Throttle(4, lambda: now[0], sleep)
    for _ in range(9):
        throttle.wait()
    assert now[0] == pytest.approx(102.0)  # 9 calls at 4/s span 2 seconds
    assert all(s == pytest.approx(0.25) for s in slept)
