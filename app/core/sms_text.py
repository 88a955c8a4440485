"""SMS text rules: segment counting, cost estimates, send windows and lenient reply parsing.

Pure: no Flask, SQLAlchemy, Twilio or I/O. Everything here works on plain strings, numbers and
the Question objects of app.core.questionnaire.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import time

from .questionnaire import Question, is_shown

# ---------------------------------------------------------------------------------------------
# Segments
# ---------------------------------------------------------------------------------------------

# GSM 03.38 basic character set (one septet each) and its extension table (escape + char = two).
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")

GSM7_SINGLE, GSM7_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67


@dataclass(frozen=True)
class Segments:
    """How a text travels: its encoding, length in encoding units, and number of segments."""

    encoding: str  # "GSM-7" or "UCS-2"
    units: int
    count: int


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM-7 basic or extension table."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)


def count_segments(text: str) -> Segments:
    """Segments of one SMS: GSM-7 160 septets single / 153 per part; UCS-2 70 / 67 UTF-16 units.

    Extension characters (€, [, ] …) cost two septets; one character outside GSM-7 (a Chinese
    character, a curly quote, an emoji) turns the whole text into UCS-2, where characters outside
    the BMP (most emoji) take two units. The empty text is one segment.
    """
    if is_gsm7(text):
        units = sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
        single, multi, encoding = GSM7_SINGLE, GSM7_MULTI, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = UCS2_SINGLE, UCS2_MULTI, "UCS-2"
    count = 1 if units <= single else math.ceil(units / multi)
    return Segments(encoding, units, count)


def estimate_cost(segment_counts: list[int] | int, price_per_segment: float) -> float:
    """Total cost = price × Σ segments (one entry per message), rounded to 1/10000."""
    total = segment_counts if isinstance(segment_counts, int) else sum(segment_counts)
    return round(total * price_per_segment, 4)


# ---------------------------------------------------------------------------------------------
# Send windows
# ---------------------------------------------------------------------------------------------


def parse_window(spec: str) -> tuple[time, time]:
    """'08:00-21:00' → (08:00, 21:00); ValueError on anything else. Start == end means always."""
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", spec or "")
    if not match:
        raise ValueError("a send window looks like 08:00-21:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError("a send window needs times between 00:00 and 24:00")
    end = time(0, 0) if h2 == 24 else time(h2, m2)
    return time(h1, m1), end


def in_window(local: time, window: tuple[time, time]) -> bool:
    """Whether a local wall-clock time is in [start, end); a window may wrap past midnight."""
    start, end = window
    if start == end:
        return True
    if start < end:
        return start <= local < end
    return local >= start or local < end


# ---------------------------------------------------------------------------------------------
# Keywords
# ---------------------------------------------------------------------------------------------

STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "TD", "T", "退订", "退订短信"}
)
START_WORDS = frozenset({"START", "UNSTOP", "YES START", "恢复", "恢复订阅"})
HELP_WORDS = frozenset({"HELP", "INFO", "帮助", "?"})

_TRIM = " \t\r\n.。!！,，、;；:：~～'\"“”‘’()（）[]【】"


def normalize_reply(text: str) -> str:
    """NFKC (full-width digits, letters and punctuation become ASCII), trimmed, spaces collapsed."""
    # NUL goes: PostgreSQL cannot store it in a text answer or a dialogue's JSON state.
    folded = unicodedata.normalize("NFKC", text or "").replace("\x00", "")
    return re.sub(r"\s+", " ", folded).strip()


def classify_keyword(text: str) -> str | None:
    """'stop', 'start' or 'help' when the whole message is such a keyword (any case), else None."""
    normalized = normalize_reply(text)
    if normalized in ("?", "？"):
        return "help"
    word = normalized.strip(_TRIM + "?").upper()
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    if word in HELP_WORDS:
        return "help"
    return None


# ---------------------------------------------------------------------------------------------
# Reply parsing
# ---------------------------------------------------------------------------------------------

SMS_KINDS = ("single_choice", "yes_no", "rating", "number", "text")

_CN_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "三": 3, "叁": 3, "四": 4,
    "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9,
    "玖": 9,
}  # fmt: skip
_CN_TEN = ("十", "拾")
_YES_WORDS = frozenset({"是", "对", "是的", "对的", "有", "好", "Y", "YES", "OK", "嗯", "行"})
_NO_WORDS = frozenset({"否", "不", "不是", "不对", "没有", "无", "N", "NO", "没"})
_PARTLY_WORDS = frozenset({"部分", "一部分", "部分是", "P"})
# Separators between several answers in one message: spaces, commas (ASCII after NFKC), 、;/.
_SEPARATOR = re.compile(r"[\s,、;/|]+")


def chinese_number(token: str) -> int | None:
    """Chinese numerals 0..99: 四 → 4, 十 → 10, 十二 → 12, 二十 → 20, 九十九 → 99; else None."""
    if not token:
        return None
    if len(token) == 1 and token in _CN_DIGITS:
        return _CN_DIGITS[token]
    if all(ch in _CN_DIGITS for ch in token) and len(token) <= 3:
        # 一二 read digit by digit is ambiguous with a run of answers; only "一〇" style years
        # would need it, so multi-character digit strings are not numbers.
        return None
    match = re.fullmatch(r"(.)?([十拾])(.)?", token)
    if not match:
        return None
    tens, _, units = match.groups()
    if tens is not None and tens not in _CN_DIGITS:
        return None
    if units is not None and units not in _CN_DIGITS:
        return None
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[units] if units else 0)


def _as_number(token: str) -> float | None:
    token = token.strip(_TRIM)
    if re.fullmatch(r"[+-]?\d+(\.\d+)?", token):
        return float(token)
    cn = chinese_number(token)
    return float(cn) if cn is not None else None


def _digit_token(token: str) -> str:
    """A lone Chinese numeral as its ASCII digits (四 → '4'), other tokens unchanged."""
    cn = chinese_number(token)
    return str(cn) if cn is not None else token


def sms_compatible(question: Question) -> bool:
    """Whether a question can be asked by SMS (single choice, yes/no, rating, number, short text)."""
    return question.kind in SMS_KINDS and not question.items


def single_digit(question: Question) -> bool:
    """Whether every answer to the question is one digit, so '3452' can be split digit by digit."""
    if question.kind in ("single_choice", "yes_no"):
        return bool(question.options) and all(
            len(o.sms) == 1 and o.sms.isdigit() for o in question.options
        )
    if question.kind == "rating":
        return question.minimum is not None and question.minimum >= 0 and question.maximum <= 9
    return False


def parse_answer(question: Question, token: str):
    """The stored value for one reply token to one question, or None when it does not fit."""
    raw = token.strip(_TRIM)
    if not raw:
        return None
    upper = raw.upper()
    if question.kind in ("single_choice", "yes_no"):
        key = _digit_token(raw).upper()
        for option in question.options:
            if key == option.sms.upper():
                return option.value
        for option in question.options:
            labels = {str(v).strip().upper() for v in (option.label or {}).values()}
            if upper in labels or upper == option.value.upper():
                return option.value
        if question.kind == "yes_no" or _looks_yes_no(question):
            wanted = (
                "yes"
                if upper in _YES_WORDS
                else "no"
                if upper in _NO_WORDS
                else "partly"
                if upper in _PARTLY_WORDS
                else None
            )
            if wanted and question.option(wanted):
                return wanted
        return None
    if question.kind in ("rating", "number"):
        number = _as_number(raw)
        if number is None:
            return None
        if (question.integer or question.kind == "rating") and number != int(number):
            return None
        if question.minimum is not None and number < question.minimum:
            return None
        if question.maximum is not None and number > question.maximum:
            return None
        return int(number) if question.integer or question.kind == "rating" else number
    if question.kind == "text":
        return raw[: question.max_length]
    return None


def _looks_yes_no(question: Question) -> bool:
    values = {o.value for o in question.options}
    return {"yes", "no"} <= values


@dataclass
class ReplyResult:
    """What one message did: answers taken (in order) and the question it failed on, if any."""

    answers: dict = field(default_factory=dict)
    failed: Question | None = None


def next_question(questions: list[Question], answers: dict) -> Question | None:
    """The first SMS-compatible question that is shown and not yet answered, or None when done."""
    for question in questions:
        if not sms_compatible(question) or question.key in answers:
            continue
        if is_shown(question, answers):
            return question
    return None


def parse_reply(text: str, questions: list[Question], answers: dict) -> ReplyResult:
    """Apply one message to a dialogue: several answers separated by spaces/commas, or a digit run.

    Each token answers the next pending question in turn. A run of digits ('3452') is split digit
    by digit when the current question and each following one are single-digit choices; a run
    that does not fit a number question whole is refused. A text question takes the rest of the
    message. Parsing stops at the first token that does not fit; the answers before it are kept
    and `failed` names the question to re-ask. Tokens left over after the last question are ignored.
    """
    result = ReplyResult()
    state = dict(answers)
    message = normalize_reply(text)
    position = 0
    while position < len(message):
        question = next_question(questions, state)
        if question is None:
            break
        rest = message[position:].lstrip(" ,、;/|")
        if not rest:
            break
        if question.kind == "text":
            value = parse_answer(question, rest)
            if value is None:
                result.failed = question
                break
            state[question.key] = result.answers[question.key] = value
            break
        match = _SEPARATOR.search(rest)
        token = rest[: match.start()] if match else rest
        consumed = len(message) - len(rest) + len(token)
        value = parse_answer(question, token)
        if value is None and token.isdigit() and len(token) > 1 and single_digit(question):
            taken = _digit_run(token, questions, state)
            if taken is None:
                result.failed = question
                break
            result.answers.update(taken)
            state.update(taken)
            position = consumed
            continue
        if value is None:
            result.failed = question
            break
        state[question.key] = result.answers[question.key] = value
        position = consumed
    return result


def _digit_run(run: str, questions: list[Question], answers: dict) -> dict | None:
    """Split '3452' over the following single-digit questions, or None when one does not fit."""
    state = dict(answers)
    taken: dict = {}
    for digit in run:
        question = next_question(questions, state)
        if question is None or not single_digit(question):
            return None
        value = parse_answer(question, digit)
        if value is None:
            return None
        state[question.key] = taken[question.key] = value
    return taken


# ---------------------------------------------------------------------------------------------
# Prompts
# ---------------------------------------------------------------------------------------------


def localized(text: dict | str | None, lang: str) -> str:
    """The text in lang, falling back to Chinese, then any language."""
    if isinstance(text, str):
        return text
    text = text or {}
    return str(text.get(lang) or text.get("zh") or next(iter(text.values()), ""))


def question_prompt(question: Question, lang: str = "zh") -> str:
    """A question as one SMS: its sms_text (or text) and the reply choices, e.g. '… 回复1满意 2不满意'."""
    text = localized(question.raw.get("sms_text") or question.text, lang)
    if question.kind in ("single_choice", "yes_no"):
        choices = " ".join(f"{o.sms}{localized(o.label, lang)}" for o in question.options)
        lead = "回复" if lang == "zh" else "Reply "
        return f"{text} {lead}{choices}"
    if question.kind == "rating":
        if lang == "zh":
            return f"{text} 请回复{question.minimum:g}-{question.maximum:g}的数字"
        return f"{text} Reply a number {question.minimum:g}-{question.maximum:g}"
    return text


def oversized_questions(
    questions: list[Question], max_segments: int, lang: str = "zh"
) -> list[tuple[str, int]]:
    """(question key, segments) of SMS-compatible questions whose prompt exceeds max_segments."""
    flagged = []
    for question in questions:
        if not sms_compatible(question):
            continue
        count = count_segments(question_prompt(question, lang)).count
        if count > max_segments:
            flagged.append((question.key, count))
    return flagged


# ---------------------------------------------------------------------------------------------
# Throttle
# ---------------------------------------------------------------------------------------------


class Throttle:
    """At most `rate` calls of wait() per second: the n-th call returns no earlier than n/rate s.

    The clock and sleep are injected (time.monotonic and time.sleep in production) so tests can
    check the pacing without waiting. A rate of 0 or less means no limit.
    """

    def __init__(self, rate: float, clock, sleep):
        self.interval = 1.0 / rate if rate and rate > 0 else 0.0
        self.clock = clock
        self.sleep = sleep
        self.next_at: float | None = None

    def wait(self) -> None:
        """Sleep until the next call is allowed, then book the slot after it."""
        now = self.clock()
        at = now if self.next_at is None else max(self.next_at, now)
        if at > now:
            self.sleep(at - now)
        self.next_at = at + self.interval
