"""Every text the SMS channel sends on its own behalf, in Chinese first and English.

Question texts come from the questionnaire (sms_text, else text); the words around them live
here, in one place, so that translators and reviewers see all of what a citizen can receive.
Placeholders: {org}, {title}, {link}, {hint}, {prompt}, {intro}.
"""

MESSAGES: dict[str, dict[str, str]] = {
    "invite": {
        "zh": "【{org}】{title}：诚邀您参加匿名调查，请点击 {link} 填写。{hint}",
        "en": "[{org}] {title}: please take our anonymous survey at {link} {hint}",
    },
    "invite_reminder": {
        "zh": "【{org}】提醒：{title}还在进行，欢迎点击 {link} 填写。{hint}",
        "en": "[{org}] Reminder: {title} is still open at {link} {hint}",
    },
    "dialogue_start": {
        "zh": "【{org}】{intro}{prompt} {hint}",
        "en": "[{org}] {intro} {prompt} {hint}",
    },
    "dialogue_reminder": {
        "zh": "【{org}】提醒：您的回复对我们很重要。{prompt} {hint}",
        "en": "[{org}] Reminder: your answer matters to us. {prompt} {hint}",
    },
    "dialogue_intro": {
        "zh": "{title}，回复数字即可作答，匿名统计。",
        "en": "{title}. Reply with a number; answers are anonymous.",
    },
    "not_understood": {
        "zh": "抱歉，没有看懂您的回复。",
        "en": "Sorry, we did not understand your reply.",
    },
    "gave_up": {
        "zh": "抱歉，未能识别您的回复，本次调查结束。感谢您的参与！",
        "en": "Sorry, we could not understand your replies; the survey has ended. Thank you!",
    },
    "thanks": {"zh": "感谢您的回复！", "en": "Thank you for your reply!"},
    "stopped": {
        "zh": "您已退订，今后不会再收到调查短信。回复START可恢复。",
        "en": "You are unsubscribed and will get no more survey texts. Reply START to resubscribe.",
    },
    "started": {
        "zh": "您已恢复接收调查短信。回T退订。",
        "en": "You will receive survey texts again. Reply T to unsubscribe.",
    },
    "help": {
        "zh": "这是{org}发送的匿名调查短信，回复数字即可作答；回T退订。",
        "en": "This anonymous survey text is sent by {org}. Reply with a number to answer; reply T to unsubscribe.",
    },
    "no_survey": {
        "zh": "您好，目前没有需要您回复的调查。回T退订。",
        "en": "Hello, there is no survey waiting for your reply. Reply T to unsubscribe.",
    },
    "closed": {
        "zh": "本次调查已结束，感谢您的关注！",
        "en": "This survey has closed. Thank you for your interest!",
    },
    "expired": {
        "zh": "本次回访已过期，感谢您的关注！",
        "en": "This follow-up has expired. Thank you for your interest!",
    },
    "already_done": {
        "zh": "您已完成本次调查，感谢您的参与！",
        "en": "You have already completed this survey. Thank you!",
    },
    "failed": {
        "zh": "抱歉，系统未能记录您的回复，感谢您的参与！",
        "en": "Sorry, we could not record your reply. Thank you for taking part!",
    },
}

DEFAULT_ORG = {"zh": "民意调查", "en": "Minyi survey"}


def message(name: str, lang: str = "zh", **values) -> str:
    """A message in lang (falling back to Chinese) with its placeholders filled in."""
    texts = MESSAGES[name]
    return texts.get(lang, texts["zh"]).format(**values).strip()
