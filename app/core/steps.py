"""One screen per question (and per target of a matrix): the order, and reading one screen's answer."""

from dataclasses import dataclass

from app.core.questionnaire import (
    Problem,
    Question,
    answer_rows,
    is_shown,
    parse_questions,
    scale_of,
)


@dataclass(frozen=True)
class Step:
    """A screen: a question, or one target of a matrix question."""

    question: Question
    target: dict | None = None

    @property
    def id(self) -> str:
        """A stable id for URLs and cookies: the question key, plus the target key for a matrix."""
        return self.question.key + (f"~{self.target['key']}" if self.target else "")


def steps(definition: dict, answers: dict) -> list[Step]:
    """The screens to show given the answers so far; skipped questions are left out."""
    result = []
    for question in parse_questions(definition):
        if not is_shown(question, answers):
            continue
        if question.kind == "matrix":
            result += [Step(question, target) for target in question.targets]
        else:
            result.append(Step(question))
    return result


def prune(definition: dict, answers: dict) -> dict:
    """Answers without those to questions that the other answers now skip."""
    kept: dict = {}
    for question in parse_questions(definition):
        if question.key in answers and is_shown(question, kept):
            kept[question.key] = answers[question.key]
    return kept


def read_step(
    definition: dict, step: Step, form: dict[str, list[str]]
) -> tuple[object, list[Problem]]:
    """The value one screen's form gives (None when left empty), or the problems with it."""
    question = step.question
    if question.kind == "matrix":
        cells = {}
        problems = []
        for item in question.items:
            value = (form.get(item.key) or [""])[0].strip()
            if not value:
                if question.required:
                    problems.append(Problem(item.key, "an answer is required"))
                continue
            if question.option(value) is None:
                problems.append(Problem(item.key, "not one of the choices"))
            cells[item.key] = value
        return (cells or None), problems
    raw = form.get("value") or []
    if question.kind == "multiple_choice":
        value = [v for v in raw if v]
    else:
        value = raw[0].strip() if raw else ""
    if value in ("", []):
        if question.required:
            return None, [Problem("value", "an answer is required")]
        return None, []
    if question.kind == "rating":
        value = int(value) if value.lstrip("-").isdigit() else value
    _, problems = answer_rows(question, value, "value", scale_of(definition), None)
    return value, problems
