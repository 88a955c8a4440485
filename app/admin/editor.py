"""Questionnaire editor: new drafts, questions, settings, checks, previews and publishing."""

import copy

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.accounts.roles import DESIGN, READ, own, require_role
from app.admin.base import MAX_UPLOAD, bp, own_version
from app.admin.editing import (
    LinesInvalid,
    blank_definition,
    groups_to_text,
    indicators_to_text,
    items_to_text,
    move,
    options_to_text,
    text_to_groups,
    text_to_indicators,
    text_to_items,
    text_to_options,
)
from app.admin.excel import ExcelInvalid, read_questionnaire_sheet
from app.admin.forms import ExcelImportForm, NewQuestionnaireForm, QuestionForm, SettingsForm
from app.audit.service import record
from app.core.generator import generate_definition
from app.core.questionnaire import parse_questions
from app.core.steps import Step
from app.extensions import db
from app.questionnaires.definitions import DefinitionInvalid, checksum, load_definition
from app.questionnaires.models import QuestionnaireVersion
from app.questionnaires.service import add_version, get_questionnaire, publish_version, team_targets
from app.questionnaires.templates import all_templates, load_bank, load_template
from app.targets.models import Unit

try:  # the SMS engineer's segment rules; the editor falls back to a plain count without them
    from app.core.sms_text import count_segments, question_prompt, sms_compatible
except ImportError:  # pragma: no cover
    count_segments = question_prompt = sms_compatible = None

PREVIEW_CODE = "editor-preview"
SAMPLE_TARGETS = [
    {"key": "sample_principal", "label": {"zh": "示例：正职", "en": "Example: principal"}},
    {"key": "sample_deputy", "label": {"zh": "示例：副职", "en": "Example: deputy"}},
]


def _banks() -> list[dict]:
    from app.questionnaires.definitions import load_file
    from app.questionnaires.templates import bank_paths

    return [b for kind, b in (load_file(p) for p in bank_paths()) if kind == "bank"]


# --- starting a questionnaire ------------------------------------------------------------------


@bp.route("/questionnaires/new", methods=["GET", "POST"])
@require_role(*DESIGN)
def new_questionnaire():
    form = NewQuestionnaireForm()
    form.start.choices = (
        [("blank", _("An empty questionnaire"))]
        + [
            (f"template:{t['key']}", _("Template: %(title)s", title=t["title"]["zh"]))
            for t in all_templates()
        ]
        + [
            (f"bank:{b['bank']}", _("Indicator bank: %(title)s", title=b["title"]["zh"]))
            for b in _banks()
        ]
    )
    units = db.session.scalars(
        select(Unit).where(Unit.org_id == current_user.org_id).order_by(Unit.code)
    ).all()
    form.unit.choices = [(0, "—")] + [(u.id, f"{u.name} ({u.code})") for u in units]
    problems: list[str] = []
    if form.validate_on_submit():
        key, title = _s(form.key), _s(form.title)
        if get_questionnaire(current_user.org_id, key) is not None:
            form.key.errors = [_("A questionnaire with this key exists; edit it instead.")]
        else:
            try:
                definition = _start_definition(form.start.data, key, title, form.unit.data, units)
                version = add_version(current_user.org_id, definition, "editor")
                db.session.flush()
                record(
                    "questionnaire.create",
                    "questionnaire_version",
                    version.id,
                    user=current_user,
                    key=key,
                    start=form.start.data,
                )
                db.session.commit()
            except DefinitionInvalid as exc:
                db.session.rollback()
                problems = exc.lines()
            except ValueError as exc:
                db.session.rollback()
                problems = [str(exc)]
            else:
                flash(_("Draft created. Edit it, then publish it."), "success")
                return redirect(url_for("admin.edit_version", version_id=version.id))
    status = 400 if problems or form.errors else 200
    return render_template("admin/new_questionnaire.html", form=form, problems=problems), status


def _start_definition(start: str, key: str, title: str, unit_id: int, units) -> dict:
    if start == "blank":
        return blank_definition(key, title)
    kind, _sep, name = start.partition(":")
    if kind == "template":
        definition = copy.deepcopy(load_template(name))
        definition["key"], definition["title"] = key, {"zh": title}
        return definition
    bank = load_bank(name)
    unit = next((u for u in units if u.id == unit_id), None)
    if unit is None:
        raise ValueError(_("Choose the unit whose team the questionnaire evaluates."))
    targets = team_targets(unit)
    if not targets:
        raise ValueError(_("The unit %(unit)s has no active officials.", unit=unit.name))
    return generate_definition(bank, unit.type, targets, key, {"zh": title})


# --- the editor -----------------------------------------------------------------------------


def _save(version: QuestionnaireVersion, definition: dict, change: str, **details) -> list[str]:
    """Validate and store a draft's new definition; every problem, or [] after the commit."""
    try:
        normalized = load_definition(definition)
    except DefinitionInvalid as exc:
        db.session.rollback()
        return exc.lines()
    version.definition = normalized
    version.checksum = checksum(normalized)
    version.questionnaire.title = normalized["title"]
    record(
        "questionnaire.edit",
        "questionnaire_version",
        version.id,
        user=current_user,
        change=change,
        **details,
    )
    db.session.commit()
    return []


def _read_only(version):
    flash(_("A published version is read-only: make a new draft to change it."), "error")
    return redirect(url_for("admin.version", version_id=version.id))


def sms_preview(definition: dict, lang: str = "zh") -> list[dict]:
    """Each question as the SMS dialogue would send it, with its segments (None: not asked by SMS)."""
    rows = []
    for question in parse_questions(definition):
        if sms_compatible is None:
            text = question.text.get(lang) or question.text.get("zh", "")
            units = len(text)
            rows.append(
                {
                    "key": question.key,
                    "text": text,
                    "units": units,
                    "encoding": "UCS-2",
                    "segments": 1 if units <= 70 else -(-units // 67),
                }
            )
            continue
        if not sms_compatible(question):
            rows.append({"key": question.key, "text": None})
            continue
        text = question_prompt(question, lang)
        segments = count_segments(text)
        rows.append(
            {
                "key": question.key,
                "text": text,
                "units": segments.units,
                "encoding": segments.encoding,
                "segments": segments.count,
            }
        )
    return rows


def _editor_page(version, settings_form=None, problems=None, status=200):
    definition = version.definition
    settings_form = settings_form or SettingsForm(
        data={
            "title_zh": definition["title"].get("zh", ""),
            "title_en": definition["title"].get("en", ""),
            "indicators": indicators_to_text(definition.get("indicators")),
            "rater_groups": groups_to_text((definition.get("scoring") or {}).get("rater_groups")),
        }
    )
    max_segments = current_app.config.get("SMS_MAX_SEGMENTS", 3)
    return (
        render_template(
            "admin/editor.html",
            version=version,
            questions=parse_questions(definition),
            settings_form=settings_form,
            problems=problems or [],
            sms=sms_preview(definition),
            max_segments=max_segments,
        ),
        status,
    )


@bp.get("/versions/<int:version_id>/edit")
@require_role(*DESIGN)
def edit_version(version_id):
    version = own_version(version_id)
    if version.status != "draft":
        return _read_only(version)
    return _editor_page(version)[0]


@bp.post("/versions/<int:version_id>/settings")
@require_role(*DESIGN)
def edit_settings(version_id):
    version = own_version(version_id)
    if version.status != "draft":
        return _read_only(version)
    form = SettingsForm()
    if not form.validate_on_submit():
        return _editor_page(version, form, status=400)
    definition = copy.deepcopy(version.definition)
    definition["title"] = {"zh": _s(form.title_zh)}
    if _s(form.title_en):
        definition["title"]["en"] = _s(form.title_en)
    problems: list[str] = []
    try:
        indicators = text_to_indicators(form.indicators.data or "", definition.get("indicators"))
    except LinesInvalid as exc:
        form.indicators.errors = exc.problems
        problems += [f"indicators {p}" for p in exc.problems]
    else:
        if indicators:
            definition["indicators"] = indicators
        else:
            definition.pop("indicators", None)
    scoring = definition.get("scoring") or {}
    try:
        groups = text_to_groups(form.rater_groups.data or "", scoring.get("rater_groups"))
    except LinesInvalid as exc:
        form.rater_groups.errors = exc.problems
        problems += [f"rater groups {p}" for p in exc.problems]
    else:
        if groups:
            scoring["rater_groups"] = groups
        else:
            scoring.pop("rater_groups", None)
        if scoring:
            definition["scoring"] = scoring
    if not problems:
        problems = _save(version, definition, "settings")
    if problems:
        return _editor_page(version, form, problems, status=400)
    flash(_("Saved."), "success")
    return redirect(url_for("admin.edit_version", version_id=version.id))


def _question_form(definition: dict, question: dict | None, index: int | None) -> QuestionForm:
    sets = sorted((definition.get("option_sets") or {}).keys())
    if question is not None and request.method == "GET":
        options = question.get("options")
        form = QuestionForm(
            data={
                "key": question["key"],
                "kind": question["kind"],
                "text_zh": question["text"].get("zh", ""),
                "text_en": question["text"].get("en", ""),
                "sms_text_zh": (question.get("sms_text") or {}).get("zh", ""),
                "option_set": options if isinstance(options, str) else "",
                "options": options_to_text(options) if isinstance(options, list) else "",
                "indicator": question.get("indicator", ""),
                "direction": question.get("direction", "positive"),
                "required": question.get("required", True),
                "minimum": _num_text(question.get("min")),
                "maximum": _num_text(question.get("max")),
                "show_if_question": (question.get("show_if") or {}).get("question", ""),
                "show_if_values": ", ".join(
                    (question.get("show_if") or {}).get("in")
                    or [v for v in [(question.get("show_if") or {}).get("equals")] if v]
                ),
                "items": items_to_text(question.get("items")),
                "targets": question.get("targets")
                if isinstance(question.get("targets"), str)
                else ("keep" if question.get("targets") else "team"),
            }
        )
    else:
        form = QuestionForm()
    form.option_set.choices = [("", _("own options (below)"))] + [(s, s) for s in sets]
    form.indicator.choices = [("", _("none (not scored)"))] + [
        (i["key"], f"{i['name'].get('zh', '')} ({i['key']})")
        for i in definition.get("indicators") or []
    ]
    earlier = definition["questions"][
        : index if index is not None else len(definition["questions"])
    ]
    form.show_if_question.choices = [("", _("always ask"))] + [
        (q["key"], q["key"])
        for q in earlier
        if q["kind"] in ("single_choice", "yes_no", "multiple_choice")
    ]
    return form


def _s(field) -> str:
    return (field.data or "").strip()


def _num_text(value) -> str:
    return "" if value is None else f"{value:g}"


def _question_from_form(form: QuestionForm, previous: dict | None) -> dict:
    """The question dict the form describes; raises LinesInvalid with problems named by field."""
    question = copy.deepcopy(previous or {})
    problems: list[str] = []
    kind = form.kind.data
    question["key"] = _s(form.key)
    question["kind"] = kind
    question["text"] = {**question.get("text", {}), "zh": _s(form.text_zh)}
    if _s(form.text_en):
        question["text"]["en"] = _s(form.text_en)
    else:
        question["text"].pop("en", None)
    if _s(form.sms_text_zh):
        question["sms_text"] = {"zh": _s(form.sms_text_zh)}
    else:
        question.pop("sms_text", None)
    for name in ("options", "items", "targets", "min", "max", "show_if", "indicator", "direction"):
        question.pop(name, None)
    if kind in ("single_choice", "multiple_choice", "matrix", "yes_no"):
        if form.option_set.data:
            question["options"] = form.option_set.data
        elif _s(form.options):
            try:
                previous_options = (previous or {}).get("options")
                question["options"] = text_to_options(
                    form.options.data or "",
                    previous_options if isinstance(previous_options, list) else None,
                )
            except LinesInvalid as exc:
                form.options.errors = exc.problems
                problems += [f"{_('Own options')} {p}" for p in exc.problems]
    if kind == "matrix":
        try:
            question["items"] = text_to_items(form.items.data or "", (previous or {}).get("items"))
        except LinesInvalid as exc:
            form.items.errors = exc.problems
            problems += [f"{_('Matrix items')} {p}" for p in exc.problems]
        if form.targets.data == "keep" and isinstance((previous or {}).get("targets"), list):
            question["targets"] = previous["targets"]
        else:
            question["targets"] = "units" if form.targets.data == "units" else "team"
    for field, name in ((form.minimum, "min"), (form.maximum, "max")):
        text = _s(field)
        if text and kind in ("rating", "number"):
            try:
                value = float(text)
            except ValueError:
                field.errors = [_("Not a number.")]
                problems.append(f"{field.label.text}: {_('Not a number.')}")
            else:
                question[name] = int(value) if value.is_integer() else value
    if form.indicator.data:
        question["indicator"] = form.indicator.data
    if form.direction.data == "negative":
        question["direction"] = "negative"
    if form.required.data:
        question.pop("required", None)
    else:
        question["required"] = False
    if form.show_if_question.data:
        values = [
            v.strip()
            for v in (form.show_if_values.data or "").replace("，", ",").split(",")
            if v.strip()
        ]
        if not values:
            form.show_if_values.errors = [_("Name at least one option value.")]
            problems.append(
                f"{form.show_if_values.label.text}: {_('Name at least one option value.')}"
            )
        question["show_if"] = {"question": form.show_if_question.data, "in": values}
    if problems:
        raise LinesInvalid(problems)
    return question


@bp.route("/versions/<int:version_id>/questions/new", methods=["GET", "POST"])
@bp.route("/versions/<int:version_id>/questions/<int:index>", methods=["GET", "POST"])
@require_role(*DESIGN)
def edit_question(version_id, index=None):
    version = own_version(version_id)
    if version.status != "draft":
        return _read_only(version)
    definition = copy.deepcopy(version.definition)
    questions = definition["questions"]
    if index is not None and not 0 <= index < len(questions):
        own(None)
    previous = questions[index] if index is not None else None
    form = _question_form(definition, previous, index)
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            question = _question_from_form(form, previous)
        except LinesInvalid as exc:
            problems = exc.problems
        else:
            if index is None:
                questions.append(question)
            else:
                questions[index] = question
            problems = _save(
                version,
                definition,
                "question.add" if index is None else "question.edit",
                question=question["key"],
            )
            if not problems:
                flash(_("Question %(key)s saved.", key=question["key"]), "success")
                return redirect(url_for("admin.edit_version", version_id=version.id))
    status = 400 if problems or form.errors else 200
    return (
        render_template(
            "admin/question.html", version=version, form=form, index=index, problems=problems
        ),
        status,
    )


@bp.post("/versions/<int:version_id>/questions/<int:index>/<action>")
@require_role(*DESIGN)
def change_question(version_id, index, action):
    version = own_version(version_id)
    if version.status != "draft":
        return _read_only(version)
    definition = copy.deepcopy(version.definition)
    questions = definition["questions"]
    if not 0 <= index < len(questions) or action not in ("up", "down", "delete"):
        own(None)
    key = questions[index]["key"]
    if action == "delete":
        questions.pop(index)
    else:
        definition["questions"] = move(questions, index, -1 if action == "up" else 1)
    problems = _save(version, definition, f"question.{action}", question=key)
    if problems:
        return _editor_page(version, problems=problems, status=400)
    return redirect(url_for("admin.edit_version", version_id=version.id))


@bp.post("/versions/<int:version_id>/publish")
@require_role(*DESIGN)
def publish(version_id):
    version = own_version(version_id)
    if version.status == "draft":
        try:
            load_definition(version.definition)
        except DefinitionInvalid as exc:
            return _editor_page(version, problems=exc.lines(), status=400)
        publish_version(version)
        record(
            "questionnaire.publish",
            "questionnaire_version",
            version.id,
            user=current_user,
            key=version.questionnaire.key,
            number=version.number,
        )
        db.session.commit()
        flash(
            _("Version %(number)s published; it can no longer change.", number=version.number),
            "success",
        )
    return redirect(url_for("admin.version", version_id=version.id))


@bp.post("/versions/<int:version_id>/new-draft")
@require_role(*DESIGN)
def new_draft(version_id):
    version = own_version(version_id)
    draft = next(
        (
            v
            for v in version.questionnaire.versions
            if v.status == "draft" and v.number > version.number
        ),
        None,
    )
    if draft is None:
        draft = add_version(
            current_user.org_id, copy.deepcopy(version.definition), f"editor from v{version.number}"
        )
        db.session.flush()
        record(
            "questionnaire.new_draft",
            "questionnaire_version",
            draft.id,
            user=current_user,
            key=version.questionnaire.key,
            based_on=version.number,
        )
        db.session.commit()
    return redirect(url_for("admin.edit_version", version_id=draft.id))


# --- previews -------------------------------------------------------------------------------


@bp.get("/versions/<int:version_id>/preview")
@require_role(*READ)
def preview(version_id):
    version = own_version(version_id)
    return render_template(
        "admin/preview.html",
        version=version,
        sms=sms_preview(version.definition),
        max_segments=current_app.config.get("SMS_MAX_SEGMENTS", 3),
    )


def _preview_screens(definition: dict) -> list[Step]:
    # Every question, skip conditions ignored, symbolic matrix targets shown as two examples.
    screens = []
    for question in parse_questions(definition):
        if question.kind == "matrix":
            targets = question.targets if not isinstance(question.targets, str) else SAMPLE_TARGETS
            screens += [Step(question, target) for target in targets[:2]]
        else:
            screens.append(Step(question))
    return screens


class _PreviewCampaign:
    def __init__(self, version):
        self.version = version
        self.id = 0
        self.name = ""


@bp.get("/versions/<int:version_id>/phone/<int:number>")
@require_role(*READ)
def phone(version_id, number):
    """One respondent screen, rendered by the survey's own template, framable by the console only."""
    version = own_version(version_id)
    screens = _preview_screens(version.definition)
    number = max(1, min(number, len(screens)))
    html = render_template(
        "survey/step.html",
        code=PREVIEW_CODE,
        campaign=_PreviewCampaign(version),
        step=screens[number - 1],
        number=number,
        total=len(screens),
        value=None,
        problems={},
    )
    # The preview walks with plain links: the survey's own POST targets do not exist here.
    base = url_for("survey.step", code=PREVIEW_CODE, number=1)[: -len("/1")]
    here = url_for("admin.phone", version_id=version.id, number=1)[: -len("/1")]
    following = min(number + 1, len(screens))
    html = html.replace(
        f'method="post" action="{base}/{number}"', f'method="get" action="{here}/{following}"'
    ).replace(f'href="{base}/', f'href="{here}/')
    response = current_app.make_response(html)
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'self'; base-uri 'none'; object-src 'none'"
    )
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


# --- Excel import ---------------------------------------------------------------------------


@bp.route("/questionnaires/import-excel", methods=["GET", "POST"])
@require_role(*DESIGN)
def import_excel():
    form = ExcelImportForm()
    problems: list[str] = []
    if form.validate_on_submit():
        raw = form.file.data.read(MAX_UPLOAD + 1)
        key = _s(form.key)
        try:
            if len(raw) > MAX_UPLOAD:
                raise ExcelInvalid([_("The file is larger than 2 MB.")])
            if get_questionnaire(current_user.org_id, key) is not None:
                raise ExcelInvalid([_("A questionnaire with this key exists; edit it instead.")])
            definition = read_questionnaire_sheet(raw, key, _s(form.title), form.scheme.data)
            version = add_version(
                current_user.org_id, definition, form.file.data.filename or "excel"
            )
            db.session.flush()
            record(
                "questionnaire.import_excel",
                "questionnaire_version",
                version.id,
                user=current_user,
                key=key,
                questions=len(definition["questions"]),
            )
            db.session.commit()
        except ExcelInvalid as exc:
            db.session.rollback()
            problems = exc.problems
        else:
            flash(
                _("Imported %(count)s questions as a draft.", count=len(definition["questions"])),
                "success",
            )
            return redirect(url_for("admin.edit_version", version_id=version.id))
    status = 400 if problems or form.errors else 200
    return render_template("admin/import_excel.html", form=form, problems=problems), status
