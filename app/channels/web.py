"""Mobile survey pages at /s/<code>: one screen per question, no JavaScript needed."""

import time

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from app.campaigns.privacy import privacy_summary
from app.channels.drafts import (
    answered_here,
    clear_draft,
    mark_done,
    new_draft,
    read_draft,
    write_draft,
)
from app.channels.qr import qr_png, qr_svg
from app.channels.senders import SendError, get_sender
from app.core.phones import InvalidPhone
from app.core.questionnaire import AnswersInvalid
from app.core.steps import prune, read_step, steps
from app.extensions import db, limiter
from app.links.models import Link
from app.links.otp import ClaimRefused, request_code, use_claim, verify_code
from app.links.service import (
    LinkGone,
    QuotaFull,
    check_link,
    find_link,
    public_url,
    quota_cell,
    quota_full,
    receipt_code,
    submit,
)
from app.responses.service import resolve_definition

bp = Blueprint("survey", __name__, url_prefix="/s")
# Per client address, for the whole blueprint (a shared hall may sit behind one address).
limiter.limit(
    lambda: current_app.config.get("SURVEY_RATE_LIMIT", "120 per minute"), methods=["POST"]
)(bp)

HONEYPOT = "website"


def _link_or_404(code: str) -> Link:
    link = find_link(code)
    if link is None:
        abort(404)
    return link


def _gone(exc: LinkGone):
    campaign = exc.campaign
    return render_template("survey/gone.html", reason=exc.reason, campaign=campaign), 410


def _definition(link: Link) -> dict:
    return resolve_definition(link.campaign, link.unit)


def _staff_test(link: Link, draft: dict | None = None) -> bool:
    """A signed-in staff member of the campaign's organization trying the survey (?test=1)."""
    wanted = request.args.get("test") == "1" or bool(draft and draft.get("test"))
    return wanted and current_user.is_authenticated and current_user.org_id == link.campaign.org_id


def _phone_check_on(link: Link) -> bool:
    """Open links of a campaign whose duplicate control is one answer per phone (SMS code)."""
    anonymity = link.campaign.settings.get("anonymity") or {}
    return link.kind == "open" and anonymity.get("duplicates") == "sms_otp"


def _needs_phone_check(link: Link, draft: dict | None, test: bool) -> bool:
    return _phone_check_on(link) and not test and not (draft or {}).get("claim")


def _usable(link: Link, test: bool = False, quota: bool = True):
    """None when the link can be answered, else the response to send instead.

    The quota is counted on arrival (and decided under a lock at submission), not on every
    screen in between: a COUNT per page view would sit on the hottest path of a campaign.
    """
    if test:
        return None
    try:
        check_link(link)
    except LinkGone as exc:
        return _gone(exc)
    campaign = link.campaign
    duplicates = (campaign.settings.get("anonymity") or {}).get("duplicates", "device")
    if link.kind == "open" and duplicates == "device" and answered_here(request, campaign.id):
        return _gone(LinkGone("answered", campaign))
    cell = quota_cell(campaign, link, {}) if quota else None
    if cell is not None and quota_full(campaign, cell):
        return render_template("survey/quota_full.html", campaign=campaign), 200
    return None


@bp.get("/<code>")
def landing(code):
    link = _link_or_404(code)
    draft = read_draft(request, code)
    test = _staff_test(link, draft)
    refusal = _usable(link, test)
    if refusal is not None:
        return refusal
    if _needs_phone_check(link, draft, test):
        return render_template("survey/otp.html", code=code, campaign=link.campaign, stage="phone")
    return render_template(
        "survey/landing.html",
        test=test,
        link=link,
        code=code,
        campaign=link.campaign,
        definition=link.campaign.version.definition,
        resume=bool(draft and draft["answers"]),
        total=len(steps(_definition(link), (draft or {}).get("answers", {}))),
    )


@bp.post("/<code>/start")
def start(code):
    link = _link_or_404(code)
    draft = read_draft(request, code)
    test = _staff_test(link, draft)
    refusal = _usable(link, test)
    if refusal is not None:
        return refusal
    if _needs_phone_check(link, draft, test):
        return redirect(url_for("survey.landing", code=code))
    if draft is None or request.form.get("restart") or test != bool(draft.get("test")):
        claim = (draft or {}).get("claim")
        draft = new_draft()
        draft["test"] = test
        if claim:
            draft["claim"] = claim
    response = redirect(url_for("survey.step", code=code, number=1))
    write_draft(response, code, draft)
    return response


def _problem_text(question, message: str) -> str:
    """A respondent-friendly, translated version of a validation message."""
    if "required" in message:
        return _("Please answer this question.")
    if question.kind in ("number", "rating"):
        low, high = question.minimum, question.maximum
        if low is not None and high is not None:
            return _(
                "Please enter a number from %(low)s to %(high)s.", low=f"{low:g}", high=f"{high:g}"
            )
        return _("Please enter a number.")
    if "characters" in message:
        return _("Please shorten your answer to %(count)s characters.", count=question.max_length)
    if "choose at most" in message:
        return _("Please choose at most %(count)s.", count=question.max_choices)
    if "choose at least" in message:
        return _("Please choose at least %(count)s.", count=question.min_choices)
    return _("Please choose one of the answers shown.")


def _step_page(link, code, draft, number, problems=None, value=None, status=200, definition=None):
    definition = definition or _definition(link)
    screens = steps(definition, draft["answers"])
    if not 1 <= number <= len(screens):
        return redirect(url_for("survey.review", code=code))
    screen = screens[number - 1]
    if value is None:
        stored = draft["answers"].get(screen.question.key)
        value = (
            stored.get(screen.target["key"])
            if screen.target and isinstance(stored, dict)
            else stored
        )
    return (
        render_template(
            "survey/step.html",
            code=code,
            campaign=link.campaign,
            step=screen,
            number=number,
            total=len(screens),
            value=value,
            problems={p.path: _problem_text(screen.question, p.message) for p in problems or []},
        ),
        status,
    )


def _under_way(code: str):
    """(link, draft, None) for a survey being answered, else (…, the response to send instead)."""
    link = _link_or_404(code)
    draft = read_draft(request, code)
    refusal = _usable(link, _staff_test(link, draft), quota=False)
    if refusal is None and draft is None:
        refusal = redirect(url_for("survey.landing", code=code))
    return link, draft, refusal


@bp.get("/<code>/<int:number>")
def step(code, number):
    link, draft, refusal = _under_way(code)
    if refusal is not None:
        return refusal
    return _step_page(link, code, draft, number)


@bp.post("/<code>/<int:number>")
def answer(code, number):
    link, draft, refusal = _under_way(code)
    if refusal is not None:
        return refusal
    definition = _definition(link)
    screens = steps(definition, draft["answers"])
    if not 1 <= number <= len(screens):
        return redirect(url_for("survey.review", code=code))
    screen = screens[number - 1]
    form = {key: request.form.getlist(key) for key in request.form}
    value, problems = read_step(definition, screen, form)
    if problems:
        return _step_page(
            link, code, draft, number, problems, value=value, status=400, definition=definition
        )
    answers = dict(draft["answers"])
    key = screen.question.key
    if screen.target:
        cells = dict(answers.get(key) or {})
        if value is None:
            cells.pop(screen.target["key"], None)
        else:
            cells[screen.target["key"]] = value
        answers[key] = cells
    elif value is None:
        answers.pop(key, None)
    else:
        answers[key] = value
    draft["answers"] = prune(definition, answers)
    following = steps(definition, draft["answers"])
    target = (
        url_for("survey.step", code=code, number=number + 1)
        if number < len(following)
        else url_for("survey.review", code=code)
    )
    response = redirect(target)
    write_draft(response, code, draft)
    return response


@bp.get("/<code>/review")
def review(code):
    link, draft, refusal = _under_way(code)
    if refusal is not None:
        return refusal
    screens = steps(_definition(link), draft["answers"])
    return render_template(
        "survey/review.html",
        code=code,
        campaign=link.campaign,
        screens=screens,
        answers=draft["answers"],
        honeypot=HONEYPOT,
    )


@bp.post("/<code>/submit")
def finish(code):
    link = _link_or_404(code)
    draft = read_draft(request, code)
    if draft is None:
        return redirect(url_for("survey.landing", code=code))
    if request.form.get(HONEYPOT):
        # A bot filled the hidden field: thank it and store nothing.
        return render_template("survey/thanks.html", campaign=link.campaign, receipt=None)
    test = _staff_test(link, draft)
    if _needs_phone_check(link, draft, test):
        return redirect(url_for("survey.landing", code=code))
    try:
        if _phone_check_on(link) and not test and not use_claim(draft["claim"]):
            raise LinkGone("answered", link.campaign)
        recorded = submit(
            link,
            draft["answers"],
            idempotency_key=draft["key"],
            channel="web",
            duration_seconds=int(time.time()) - int(draft.get("started", time.time())),
            is_test=test,
        )
        db.session.commit()
    except LinkGone as exc:
        db.session.rollback()
        return _gone(exc)
    except QuotaFull:
        db.session.rollback()
        return render_template("survey/quota_full.html", campaign=link.campaign), 200
    except AnswersInvalid as exc:
        db.session.rollback()
        return render_template(
            "survey/review.html",
            code=code,
            campaign=link.campaign,
            screens=steps(_definition(link), draft["answers"]),
            answers=draft["answers"],
            honeypot=HONEYPOT,
            problems=[str(p) for p in exc.problems],
        ), 400
    response = make_response(
        render_template(
            "survey/thanks.html", campaign=link.campaign, receipt=receipt_code(recorded.response)
        )
    )
    clear_draft(response, code)
    if link.kind == "open" and not recorded.response.is_test:
        mark_done(response, link.campaign_id)
    return response


def _qr_image(code: str, body, mimetype: str):
    _link_or_404(code)
    response = make_response(body(public_url(code)))
    response.headers["Content-Type"] = mimetype
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.get("/<code>/qr.png")
def qr_image_png(code):
    return _qr_image(code, qr_png, "image/png")


@bp.get("/<code>/qr.svg")
def qr_image_svg(code):
    return _qr_image(code, qr_svg, "image/svg+xml")


@bp.get("/<code>/privacy")
def privacy(code):
    link = _link_or_404(code)
    return render_template(
        "survey/privacy.html", campaign=link.campaign, lines=privacy_summary(link.campaign)
    )


@bp.post("/<code>/phone")
def phone(code):
    """Text a one-time code to the respondent's phone (kept only as a keyed pseudonym)."""
    link = _link_or_404(code)
    refusal = _usable(link)
    if refusal is not None:
        return refusal
    if not _phone_check_on(link):
        return redirect(url_for("survey.landing", code=code))
    try:
        claim, one_time, e164 = request_code(link.campaign, request.form.get("phone", ""))
        db.session.commit()
    except InvalidPhone:
        db.session.rollback()
        return _otp_page(code, link, "phone", _("Please enter a valid mobile number."), 400)
    except ClaimRefused as exc:
        db.session.rollback()
        if exc.reason == "used":
            return _gone(LinkGone("answered", link.campaign))
        return _otp_page(
            code, link, "phone", _("Too many codes were requested for this number."), 429
        )
    text = _("Your survey code is %(code)s (valid for 10 minutes). Do not share it.", code=one_time)
    try:
        get_sender(current_app).send(e164, text)
    except SendError:
        return _otp_page(
            code, link, "phone", _("The text could not be sent. Please try again later."), 503
        )
    draft = read_draft(request, code) or new_draft()
    draft["pending_claim"] = claim.id
    response = make_response(_otp_page(code, link, "code", None, 200))
    write_draft(response, code, draft)
    return response


@bp.post("/<code>/phone/verify")
def verify(code):
    link = _link_or_404(code)
    draft = read_draft(request, code)
    if draft is None or not draft.get("pending_claim"):
        return redirect(url_for("survey.landing", code=code))
    ok = verify_code(draft["pending_claim"], request.form.get("otp", ""))
    db.session.commit()
    if not ok:
        return _otp_page(code, link, "code", _("The code is wrong or has expired."), 400)
    draft["claim"] = draft.pop("pending_claim")
    response = redirect(url_for("survey.landing", code=code))
    write_draft(response, code, draft)
    return response


def _otp_page(code, link, stage, error, status):
    page = render_template(
        "survey/otp.html", code=code, campaign=link.campaign, stage=stage, error=error
    )
    return page, status
