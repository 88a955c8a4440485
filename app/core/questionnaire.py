"""Questionnaire definitions: semantic checks, resolved questions, answer validation and item scores."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

KINDS = ("single_choice", "yes_no", "rating", "multiple_choice", "number", "text", "matrix")
CHOICE_KINDS = ("single_choice", "yes_no", "multiple_choice", "matrix")
SCHEMES = ("satisfaction", "positive_negative", "democratic", "hotline", "none")
SYMBOLIC_TARGETS = ("team", "units")
DEFAULT_YES_NO = (
    {"value": "yes", "label": {"zh": "是", "en": "Yes"}, "score": 100},
    {"value": "partly", "label": {"zh": "部分", "en": "Partly"}, "score": 50},
    {"value": "no", "label": {"zh": "否", "en": "No"}, "score": 0},
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong, at a key path such as questions[3](employment).options[1].score."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class AnswersInvalid(ValueError):
    """A set of answers does not fit the questionnaire; .problems lists each reason."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


@dataclass(frozen=True)
class Option:
    value: str
    label: dict
    score: float | None
    scored: bool
    satisfied: bool
    sms: str


@dataclass(frozen=True)
class Item:
    key: str
    text: dict
    indicator: str | None
    direction: str


@dataclass(frozen=True)
class Question:
    key: str
    kind: str
    text: dict
    options: tuple[Option, ...] = ()
    indicator: str | None = None
    direction: str = "positive"
    required: bool = True
    show_if: dict | None = None
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    max_length: int = 500
    min_choices: int | None = None
    max_choices: int | None = None
    items: tuple[Item, ...] = ()
    targets: tuple[dict, ...] | str = ()
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    def option(self, value: str) -> Option | None:
        """The option with this value, or None."""
        return next((o for o in self.options if o.value == value), None)


@dataclass(frozen=True)
class AnswerRow:
    """One stored answer: a question (or matrix cell) with its value and 0..scale score."""

    question_key: str
    value: object
    score: float | None = None
    indicator: str | None = None
    item_key: str | None = None
    target_key: str | None = None


def _q_path(index: int, key: str | None) -> str:
    return f"questions[{index}]({key})" if key else f"questions[{index}]"


def _option_list(definition: dict, options, default=None) -> list[dict] | None:
    if isinstance(options, str):
        return (definition.get("option_sets") or {}).get(options)
    if options is None:
        return list(default) if default is not None else None
    return options


def resolve_options(definition: dict, question: dict) -> list[dict]:
    """The option dicts of a question: a named set, an inline list, or yes/no defaults."""
    kind = question.get("kind")
    default = None
    if kind == "yes_no":
        default = [
            o
            for o in DEFAULT_YES_NO
            if o["value"] != "partly" or question.get("allow_partly", True)
        ]
    return _option_list(definition, question.get("options"), default) or []


def scale_of(definition: dict) -> float:
    """The score scale (default 100)."""
    return float((definition.get("scoring") or {}).get("scale", 100))


def is_scored(definition: dict) -> bool:
    """True when the questionnaire has a scoring scheme other than none."""
    return (definition.get("scoring") or {}).get("scheme", "none") != "none"


def check_definition(definition: dict) -> list[Problem]:
    """Semantic checks a structural schema cannot make; [] when the definition is sound."""
    problems: list[Problem] = []
    problems += _check_option_sets(definition)
    indicator_keys = _check_indicators(definition, problems)
    seen: dict[str, dict] = {}
    for index, question in enumerate(definition.get("questions") or []):
        path = _q_path(index, question.get("key"))
        key = question.get("key")
        if key in seen:
            problems.append(Problem(path + ".key", f"duplicate question key '{key}'"))
        problems += _check_question(definition, question, path, indicator_keys, seen)
        seen[key] = question
    if not definition.get("questions"):
        problems.append(Problem("questions", "a questionnaire needs at least one question"))
    problems += _check_scoring(definition, seen)
    return problems


def _check_option_sets(definition: dict) -> list[Problem]:
    problems = []
    for name, options in (definition.get("option_sets") or {}).items():
        problems += _check_option_values(options or [], f"option_sets.{name}")
    return problems


def _check_option_values(options: list[dict], path: str) -> list[Problem]:
    problems, values = [], set()
    if not options:
        problems.append(Problem(path, "an option list needs at least one option"))
    for i, option in enumerate(options):
        value = option.get("value")
        if value in values:
            problems.append(Problem(f"{path}[{i}].value", f"duplicate option value '{value}'"))
        values.add(value)
    return problems


def _check_indicators(definition: dict, problems: list[Problem]) -> set[str]:
    keys: set[str] = set()
    for i, indicator in enumerate(definition.get("indicators") or []):
        key = indicator.get("key")
        if key in keys:
            problems.append(Problem(f"indicators[{i}].key", f"duplicate indicator key '{key}'"))
        keys.add(key)
    if is_scored(definition) and not keys:
        problems.append(
            Problem("indicators", "a scored questionnaire needs at least one indicator")
        )
    return keys


def _check_question(definition, question, path, indicator_keys, earlier) -> list[Problem]:
    problems: list[Problem] = []
    kind = question.get("kind")
    options_ref = question.get("options")
    if isinstance(options_ref, str) and options_ref not in (definition.get("option_sets") or {}):
        problems.append(Problem(path + ".options", f"no option set named '{options_ref}'"))
        options = []
    else:
        options = resolve_options(definition, question)
        if kind in CHOICE_KINDS and kind != "yes_no" and not options:
            problems.append(Problem(path + ".options", f"a {kind} question needs options"))
        if isinstance(options_ref, list):
            problems += _check_option_values(options_ref, path + ".options")
    if kind in ("rating", "number"):
        lo, hi = question.get("min"), question.get("max")
        if kind == "rating":
            lo, hi = question.get("min", 1), question.get("max", 5)
        if lo is not None and hi is not None and lo >= hi:
            problems.append(Problem(path + ".max", f"max ({hi}) must be greater than min ({lo})"))
    indicators = _question_indicators(question)
    for sub_path, indicator in indicators:
        if indicator not in indicator_keys:
            problems.append(Problem(path + sub_path, f"unknown indicator '{indicator}'"))
    if indicators and kind in ("multiple_choice", "number", "text"):
        problems.append(Problem(path + ".indicator", f"a {kind} question cannot be scored"))
    if is_scored(definition) and indicators and kind in CHOICE_KINDS:
        problems += _check_option_scores(options, path + ".options", scale_of(definition))
    if kind == "matrix":
        problems += _check_matrix(question, path)
    if question.get("show_if"):
        problems += _check_show_if(definition, question["show_if"], path + ".show_if", earlier)
    return problems


def _question_indicators(question: dict) -> list[tuple[str, str]]:
    found = []
    if question.get("indicator"):
        found.append((".indicator", question["indicator"]))
    for i, item in enumerate(question.get("items") or []):
        if item.get("indicator"):
            found.append((f".items[{i}].indicator", item["indicator"]))
    return found


def _check_option_scores(options: list[dict], path: str, scale: float) -> list[Problem]:
    problems = []
    for i, option in enumerate(options):
        score = option.get("score")
        if option.get("scored", True) and score is None:
            problems.append(
                Problem(f"{path}[{i}]({option.get('value')})", "needs a score, or scored: false")
            )
        elif score is not None and not 0 <= score <= scale:
            problems.append(Problem(f"{path}[{i}].score", f"must be between 0 and {scale:g}"))
    return problems


def _check_matrix(question: dict, path: str) -> list[Problem]:
    problems = []
    if not question.get("items"):
        problems.append(Problem(path + ".items", "a matrix needs at least one item"))
    keys: set[str] = set()
    for i, item in enumerate(question.get("items") or []):
        if item.get("key") in keys:
            problems.append(
                Problem(f"{path}.items[{i}].key", f"duplicate item key '{item.get('key')}'")
            )
        keys.add(item.get("key"))
    targets = question.get("targets")
    if not targets:
        problems.append(
            Problem(path + ".targets", "a matrix needs targets (a list, 'team' or 'units')")
        )
    elif isinstance(targets, str):
        if targets not in SYMBOLIC_TARGETS:
            problems.append(
                Problem(path + ".targets", f"must be a list, 'team' or 'units', not '{targets}'")
            )
    else:
        target_keys: set[str] = set()
        for i, target in enumerate(targets):
            if target.get("key") in target_keys:
                problems.append(
                    Problem(f"{path}.targets[{i}].key", f"duplicate target '{target.get('key')}'")
                )
            target_keys.add(target.get("key"))
    return problems


def _check_show_if(definition, condition, path, earlier) -> list[Problem]:
    ref = condition.get("question")
    if ref not in earlier:
        return [Problem(path + ".question", f"'{ref}' is not an earlier question")]
    target = earlier[ref]
    values = condition.get("in") or ([condition["equals"]] if "equals" in condition else [])
    if not values:
        return [Problem(path, "needs 'equals' or 'in'")]
    if target.get("kind") not in ("single_choice", "yes_no", "multiple_choice"):
        return [
            Problem(
                path + ".question",
                f"'{ref}' is a {target.get('kind')} question; conditions need a choice question",
            )
        ]
    allowed = {o["value"] for o in resolve_options(definition, target)}
    return [Problem(path, f"'{v}' is not an option of '{ref}'") for v in values if v not in allowed]


def _check_scoring(definition: dict, questions: dict) -> list[Problem]:
    scoring = definition.get("scoring") or {}
    problems = []
    scale = scale_of(definition)
    problems += check_bands(scoring.get("bands") or [], scale)
    groups = scoring.get("rater_groups") or []
    keys = [g.get("key") for g in groups]
    for key in {k for k in keys if keys.count(k) > 1}:
        problems.append(Problem("scoring.rater_groups", f"duplicate rater group '{key}'"))
    if groups:
        total = sum(float(g.get("weight", 0)) for g in groups)
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            problems.append(
                Problem("scoring.rater_groups", f"group weights must sum to 1, not {total:g}")
            )
    small = scoring.get("small_group", "drop")
    if small != "drop":
        into = small.split(":", 1)[1] if small.startswith("merge:") else None
        if into is None or into not in keys:
            problems.append(
                Problem(
                    "scoring.small_group", f"must be 'drop' or 'merge:<rater group>', not '{small}'"
                )
            )
    for key in scoring.get("components") or {}:
        if key not in questions:
            problems.append(Problem(f"scoring.components.{key}", f"no question '{key}'"))
    return problems


def check_bands(bands: list[dict], scale: float = 100) -> list[Problem]:
    """Bands are [min, max) ranges that cover 0..scale exactly once (the top includes scale)."""
    if not bands:
        return []
    problems = []
    grades = [b.get("grade") for b in bands]
    for grade in {g for g in grades if grades.count(g) > 1}:
        problems.append(Problem("scoring.bands", f"duplicate grade '{grade}'"))
    ordered = sorted(bands, key=lambda b: b.get("min", 0))
    for band in ordered:
        if band.get("min", 0) >= band.get("max", 0):
            problems.append(
                Problem("scoring.bands", f"band '{band.get('grade')}' is empty (min ≥ max)")
            )
    if ordered[0].get("min") != 0:
        problems.append(Problem("scoring.bands", "the lowest band must start at 0"))
    if ordered[-1].get("max") != scale:
        problems.append(Problem("scoring.bands", f"the highest band must end at {scale:g}"))
    for low, high in zip(ordered, ordered[1:], strict=False):
        if high["min"] < low["max"]:
            problems.append(
                Problem("scoring.bands", f"bands '{low['grade']}' and '{high['grade']}' overlap")
            )
        elif high["min"] > low["max"]:
            problems.append(
                Problem(
                    "scoring.bands", f"gap between bands '{low['grade']}' and '{high['grade']}'"
                )
            )
    return problems


def grade_for(score: float, bands: list[dict]) -> str | None:
    """The grade whose [min, max) range holds score; the top band includes its max."""
    ordered = sorted(bands, key=lambda b: b["min"])
    for i, band in enumerate(ordered):
        top = i == len(ordered) - 1
        if band["min"] <= score < band["max"] or (top and score == band["max"]):
            return band["grade"]
    return None


def _option(d: dict, index: int) -> Option:
    return Option(
        value=d["value"],
        label=d.get("label", {}),
        score=d.get("score"),
        scored=d.get("scored", True) and d.get("score") is not None,
        satisfied=bool(d.get("satisfied", False)),
        sms=str(d.get("sms", index + 1)),
    )


def parse_questions(definition: dict) -> list[Question]:
    """Resolve a checked definition into Question objects, in order."""
    questions = []
    for q in definition.get("questions") or []:
        options = tuple(_option(o, i) for i, o in enumerate(resolve_options(definition, q)))
        kind = q["kind"]
        questions.append(
            Question(
                key=q["key"],
                kind=kind,
                text=q.get("text", {}),
                options=options,
                indicator=q.get("indicator"),
                direction=q.get("direction", "positive"),
                required=q.get("required", True),
                show_if=q.get("show_if"),
                minimum=q.get("min", 1 if kind == "rating" else None),
                maximum=q.get("max", 5 if kind == "rating" else None),
                integer=q.get("integer", kind == "rating"),
                max_length=q.get("max_length", 500),
                min_choices=q.get("min_choices"),
                max_choices=q.get("max_choices"),
                items=tuple(
                    Item(
                        i["key"],
                        i.get("text", {}),
                        i.get("indicator"),
                        i.get("direction", "positive"),
                    )
                    for i in q.get("items") or []
                ),
                targets=q["targets"]
                if isinstance(q.get("targets"), str)
                else tuple(q.get("targets") or ()),
                raw=q,
            )
        )
    return questions


def is_shown(question: Question, answers: dict) -> bool:
    """Whether a question's skip condition lets it be asked, given earlier answers."""
    condition = question.show_if
    if not condition:
        return True
    values = condition.get("in") or [condition.get("equals")]
    answer = answers.get(condition["question"])
    if isinstance(answer, list):
        return any(a in values for a in answer)
    return answer in values


def directed(score: float | None, direction: str, scale: float) -> float | None:
    """Option scores are written in the positive sense; a negative item scores scale − score."""
    if score is None:
        return None
    return scale - score if direction == "negative" else float(score)


def validate_answers(definition: dict, answers: dict, text_cleaner=None) -> list[AnswerRow]:
    """Check a complete set of answers and return the rows to store; raises AnswersInvalid."""
    questions = parse_questions(definition)
    scale = scale_of(definition)
    known = {q.key for q in questions}
    problems = [Problem(f"answers.{k}", "no such question") for k in answers if k not in known]
    rows: list[AnswerRow] = []
    accepted: dict = {}
    for q in questions:
        path = f"answers.{q.key}"
        present = q.key in answers and answers[q.key] not in (None, "", [], {})
        if not is_shown(q, accepted):
            if present:
                problems.append(
                    Problem(
                        path, "this question is skipped by its condition and must not be answered"
                    )
                )
            continue
        if not present:
            if q.required:
                problems.append(Problem(path, "an answer is required"))
            continue
        new_rows, new_problems = answer_rows(q, answers[q.key], path, scale, text_cleaner)
        problems += new_problems
        if not new_problems:
            rows += new_rows
            accepted[q.key] = answers[q.key]
    if problems:
        raise AnswersInvalid(problems)
    return rows


def answer_rows(q: Question, value, path, scale, text_cleaner):
    kind = q.kind
    if kind in ("single_choice", "yes_no"):
        option = q.option(value) if isinstance(value, str) else None
        if option is None:
            return [], [Problem(path, f"'{value}' is not one of {[o.value for o in q.options]}")]
        score = (
            directed(option.score, q.direction, scale) if q.indicator and option.scored else None
        )
        return [AnswerRow(q.key, value, score, q.indicator)], []
    if kind == "multiple_choice":
        return _multiple(q, value, path)
    if kind == "rating":
        return _rating(q, value, path, scale)
    if kind == "number":
        return _number(q, value, path)
    if kind == "text":
        if not isinstance(value, str):
            return [], [Problem(path, "must be text")]
        if len(value) > q.max_length:
            return [], [Problem(path, f"must be at most {q.max_length} characters")]
        return [AnswerRow(q.key, text_cleaner(value) if text_cleaner else value)], []
    return _matrix(q, value, path, scale)


def _multiple(q: Question, value, path):
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return [], [Problem(path, "must be a list of option values")]
    problems = [Problem(path, f"'{v}' is not an option") for v in value if q.option(v) is None]
    if len(set(value)) != len(value):
        problems.append(Problem(path, "an option is chosen twice"))
    if q.min_choices is not None and len(value) < q.min_choices:
        problems.append(Problem(path, f"choose at least {q.min_choices}"))
    if q.max_choices is not None and len(value) > q.max_choices:
        problems.append(Problem(path, f"choose at most {q.max_choices}"))
    return [AnswerRow(q.key, sorted(value))], problems


def _as_number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _rating(q: Question, value, path, scale):
    number = _as_number(value)
    if number is None or number != int(number) or not q.minimum <= number <= q.maximum:
        return [], [Problem(path, f"must be a whole number from {q.minimum:g} to {q.maximum:g}")]
    score = None
    if q.indicator:
        score = directed((number - q.minimum) / (q.maximum - q.minimum) * scale, q.direction, scale)
    return [AnswerRow(q.key, int(number), score, q.indicator)], []


def _number(q: Question, value, path):
    number = _as_number(value)
    if number is None:
        return [], [Problem(path, "must be a number")]
    problems = []
    if q.integer and number != int(number):
        problems.append(Problem(path, "must be a whole number"))
    if q.minimum is not None and number < q.minimum:
        problems.append(Problem(path, f"must be at least {q.minimum:g}"))
    if q.maximum is not None and number > q.maximum:
        problems.append(Problem(path, f"must be at most {q.maximum:g}"))
    return [AnswerRow(q.key, int(number) if q.integer else number)], problems


def _matrix(q: Question, value, path, scale):
    if isinstance(q.targets, str):
        return [], [Problem(path, f"the matrix targets ('{q.targets}') were never resolved")]
    if not isinstance(value, dict):
        return [], [Problem(path, "must map each target to its item answers")]
    target_keys = [t["key"] for t in q.targets]
    problems = [Problem(f"{path}.{t}", "no such target") for t in value if t not in target_keys]
    rows = []
    for target in target_keys:
        cells = value.get(target)
        if not isinstance(cells, dict):
            if q.required:
                problems.append(Problem(f"{path}.{target}", "answers for this target are required"))
            continue
        problems += [
            Problem(f"{path}.{target}.{k}", "no such item")
            for k in cells
            if k not in {i.key for i in q.items}
        ]
        for item in q.items:
            cell_path = f"{path}.{target}.{item.key}"
            answer = cells.get(item.key)
            if answer in (None, ""):
                if q.required:
                    problems.append(Problem(cell_path, "an answer is required"))
                continue
            option = q.option(answer) if isinstance(answer, str) else None
            if option is None:
                problems.append(
                    Problem(cell_path, f"'{answer}' is not one of {[o.value for o in q.options]}")
                )
                continue
            indicator = item.indicator or q.indicator
            score = (
                directed(option.score, item.direction, scale)
                if indicator and option.scored
                else None
            )
            rows.append(AnswerRow(q.key, answer, score, indicator, item.key, target))
    return rows, problems
