"""Build a questionnaire definition from an indicator bank (common + type-specific indicators)."""

import copy

from app.core.questionnaire import DEFAULT_YES_NO


def chosen_indicators(bank: dict, target_type: str) -> list[dict]:
    """Common indicators plus the specific ones whose target_types include target_type."""
    return [
        indicator
        for indicator in bank["indicators"]
        if indicator["scope"] == "common" or target_type in (indicator.get("target_types") or [])
    ]


def generate_definition(
    bank: dict, target_type: str, targets: list[dict], key: str, title: dict
) -> dict:
    """A questionnaire asking each chosen indicator's items: a matrix over targets, or single questions for one target."""
    if not targets:
        raise ValueError("the generator needs at least one target")
    indicators = chosen_indicators(bank, target_type)
    if not indicators:
        raise ValueError(f"the bank '{bank['bank']}' has no indicator for type '{target_type}'")
    questions = []
    for indicator in indicators:
        options = copy.deepcopy(indicator.get("options"))
        items = indicator["items"]
        if len(targets) == 1:
            for item in items:
                question = {
                    "key": f"{indicator['key']}__{item['key']}",
                    "kind": "yes_no" if options is None else "single_choice",
                    "text": item["text"],
                    "indicator": indicator["key"],
                    "direction": item.get("direction", "positive"),
                }
                if options is not None:
                    question["options"] = options
                questions.append(question)
        else:
            questions.append(
                {
                    "key": indicator["key"],
                    "kind": "matrix",
                    "text": indicator["name"],
                    "indicator": indicator["key"],
                    "options": options if options is not None else "yes_no",
                    "items": [
                        {
                            "key": item["key"],
                            "text": item["text"],
                            "direction": item.get("direction", "positive"),
                        }
                        for item in items
                    ],
                    "targets": copy.deepcopy(targets),
                }
            )
    option_sets = copy.deepcopy(bank.get("option_sets") or {})
    if any(q.get("options") == "yes_no" for q in questions) and "yes_no" not in option_sets:
        option_sets["yes_no"] = copy.deepcopy(list(DEFAULT_YES_NO))
    definition = {
        "format": 1,
        "key": key,
        "kind": bank["kind"],
        "title": title,
        "indicators": [
            {k: v for k, v in i.items() if k in ("key", "name", "weight", "area")}
            for i in indicators
        ],
        "questions": questions,
    }
    if option_sets:
        definition["option_sets"] = option_sets
    if bank.get("scoring"):
        definition["scoring"] = copy.deepcopy(bank["scoring"])
    return definition
