"""Plain conversions between the editor's form texts and a questionnaire definition.

The editor shows lists (options, matrix items, indicators, rater groups) as one line per entry,
fields separated by '|', because staff type and paste those faster than they fill nested forms.
Everything here works on plain values, so it is tested without a request.
"""

import copy

SEP = "|"


class LinesInvalid(ValueError):
    """A text area cannot be read; .problems lists 'line N: …' texts."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


def _rows(text: str) -> list[tuple[int, list[str]]]:
    rows = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if line.strip():
            rows.append((number, [cell.strip() for cell in line.split(SEP)]))
    return rows


def _number(cell: str, number: int, what: str, problems: list[str]):
    try:
        value = float(cell)
    except ValueError:
        problems.append(f"line {number}: {what} '{cell}' is not a number")
        return None
    return int(value) if value.is_integer() else value


def options_to_text(options: list[dict]) -> str:
    """value | 标签 | score | satisfied, one option a line (score '-' when not scored)."""
    lines = []
    for option in options or []:
        score = option.get("score")
        scored = option.get("scored", True) and score is not None
        cells = [option["value"], option["label"].get("zh", ""), f"{score:g}" if scored else "-"]
        if option.get("satisfied"):
            cells.append("satisfied")
        lines.append(" | ".join(cells))
    return "\n".join(lines)


def text_to_options(text: str, previous: list[dict] | None = None) -> list[dict]:
    """Options from lines; English labels and SMS keywords of unchanged values are kept."""
    kept = {o["value"]: o for o in previous or [] if isinstance(o, dict)}
    problems: list[str] = []
    options = []
    for number, cells in _rows(text):
        if len(cells) < 2 or not cells[0] or not cells[1]:
            problems.append(f"line {number}: write 'value | label | score'")
            continue
        value, label = cells[0], cells[1]
        option = copy.deepcopy(kept.get(value, {}))
        option["value"] = value
        option["label"] = {**option.get("label", {}), "zh": label}
        score_cell = cells[2] if len(cells) > 2 else "-"
        option.pop("score", None)
        option.pop("scored", None)
        if score_cell in ("", "-"):
            option["scored"] = False
        else:
            score = _number(score_cell, number, "score", problems)
            if score is not None:
                option["score"] = score
        flags = {c.lower() for c in cells[3:]}
        option.pop("satisfied", None)
        if flags & {"satisfied", "满意", "y", "yes"}:
            option["satisfied"] = True
        options.append(option)
    if problems:
        raise LinesInvalid(problems)
    return options


def items_to_text(items: list[dict]) -> str:
    """key | 文字 | indicator | negative, one matrix item a line."""
    lines = []
    for item in items or []:
        cells = [item["key"], item["text"].get("zh", ""), item.get("indicator", "")]
        if item.get("direction") == "negative":
            cells.append("negative")
        lines.append(" | ".join(cells).rstrip(" |"))
    return "\n".join(lines)


def text_to_items(text: str, previous: list[dict] | None = None) -> list[dict]:
    """Matrix items from lines; English texts of unchanged keys are kept."""
    kept = {i["key"]: i for i in previous or []}
    problems: list[str] = []
    items = []
    for number, cells in _rows(text):
        if len(cells) < 2 or not cells[0] or not cells[1]:
            problems.append(f"line {number}: write 'key | text | indicator'")
            continue
        item = copy.deepcopy(kept.get(cells[0], {}))
        item["key"] = cells[0]
        item["text"] = {**item.get("text", {}), "zh": cells[1]}
        item.pop("indicator", None)
        if len(cells) > 2 and cells[2]:
            item["indicator"] = cells[2]
        item.pop("direction", None)
        if len(cells) > 3 and cells[3].lower() in ("negative", "反向", "-"):
            item["direction"] = "negative"
        items.append(item)
    if problems:
        raise LinesInvalid(problems)
    return items


def indicators_to_text(indicators: list[dict]) -> str:
    """key | 名称 | weight, one indicator a line."""
    return "\n".join(
        f"{i['key']} | {i['name'].get('zh', '')} | {i.get('weight', 1):g}" for i in indicators or []
    )


def text_to_indicators(text: str, previous: list[dict] | None = None) -> list[dict]:
    """Indicators from lines; English names and areas of unchanged keys are kept."""
    kept = {i["key"]: i for i in previous or []}
    problems: list[str] = []
    indicators = []
    for number, cells in _rows(text):
        if len(cells) < 2 or not cells[0] or not cells[1]:
            problems.append(f"line {number}: write 'key | name | weight'")
            continue
        indicator = copy.deepcopy(kept.get(cells[0], {}))
        indicator["key"] = cells[0]
        indicator["name"] = {**indicator.get("name", {}), "zh": cells[1]}
        if len(cells) > 2 and cells[2]:
            weight = _number(cells[2], number, "weight", problems)
            if weight is not None:
                indicator["weight"] = weight
        indicators.append(indicator)
    if problems:
        raise LinesInvalid(problems)
    return indicators


def groups_to_text(groups: list[dict]) -> str:
    """key | 名称 | weight, one rater group a line."""
    return "\n".join(
        f"{g['key']} | {g['label'].get('zh', '')} | {g['weight']:g}" for g in groups or []
    )


def text_to_groups(text: str, previous: list[dict] | None = None) -> list[dict]:
    """Rater groups from lines; a weight is required, English labels of unchanged keys are kept."""
    kept = {g["key"]: g for g in previous or []}
    problems: list[str] = []
    groups = []
    for number, cells in _rows(text):
        if len(cells) < 3 or not all(cells[:3]):
            problems.append(f"line {number}: write 'key | name | weight'")
            continue
        group = copy.deepcopy(kept.get(cells[0], {}))
        group["key"] = cells[0]
        group["label"] = {**group.get("label", {}), "zh": cells[1]}
        weight = _number(cells[2], number, "weight", problems)
        if weight is not None:
            group["weight"] = weight
        groups.append(group)
    if problems:
        raise LinesInvalid(problems)
    return groups


def move(items: list, index: int, offset: int) -> list:
    """A copy of items with items[index] moved by offset (clamped to the ends)."""
    result = list(items)
    if not 0 <= index < len(result):
        return result
    target = max(0, min(len(result) - 1, index + offset))
    result.insert(target, result.pop(index))
    return result


def blank_definition(key: str, title: str) -> dict:
    """A questionnaire to start from nothing: one unscored question the designer replaces."""
    return {
        "format": 1,
        "key": key,
        "kind": "custom",
        "title": {"zh": title},
        "questions": [{"key": "q1", "kind": "text", "text": {"zh": "请填写您的意见"}}],
        "scoring": {"scheme": "none"},
    }
