"""Questionnaires from an Excel sheet laid out one question per row (staff live in Excel).

The first sheet's first row names the columns (Chinese or English headers); every later non-empty
row is a question. Parsing is all or nothing: every problem is reported with its row and column,
and nothing is returned until the sheet is clean. The workbook is read in openpyxl's read-only,
values-only mode (no formulas evaluated, no macros, no external links) with bounded rows/columns.
"""

import io
import re
import zipfile

from app.questionnaires.definitions import DefinitionInvalid, load_definition

MAX_ROWS = 500
MAX_COLUMNS = 20

COLUMNS = {
    "key": ("key", "题号", "编号", "键"),
    "kind": ("kind", "type", "题型"),
    "text": ("text", "text_zh", "question", "题目", "问题"),
    "text_en": ("text_en", "english", "英文题目", "英文"),
    "options": ("options", "选项"),
    "indicator": ("indicator", "指标"),
    "direction": ("direction", "方向"),
    "required": ("required", "必答"),
    "min": ("min", "最小值"),
    "max": ("max", "最大值"),
}
KINDS = {
    "single_choice": "single_choice",
    "单选": "single_choice",
    "单选题": "single_choice",
    "yes_no": "yes_no",
    "是否": "yes_no",
    "是否题": "yes_no",
    "rating": "rating",
    "评分": "rating",
    "打分": "rating",
    "multiple_choice": "multiple_choice",
    "多选": "multiple_choice",
    "多选题": "multiple_choice",
    "number": "number",
    "数字": "number",
    "数值": "number",
    "text": "text",
    "文本": "text",
    "填空": "text",
    "问答": "text",
}
YES = {"y", "yes", "true", "1", "是", "必答"}
NO = {"n", "no", "false", "0", "否", "选答"}
NEGATIVE = {"negative", "反向", "负向"}
POSITIVE = {"", "positive", "正向"}
_OPTION_SPLIT = re.compile(r"[;\n；]+")
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


class ExcelInvalid(ValueError):
    """The sheet cannot be imported; .problems lists every reason with its row."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _rows(raw: bytes) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(raw), read_only=True, data_only=True, keep_links=False)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise ExcelInvalid(
            [f"not an Excel workbook (.xlsx) that can be read ({exc.__class__.__name__})"]
        ) from None
    except Exception as exc:  # openpyxl raises its own types for malformed parts
        raise ExcelInvalid(
            [f"not an Excel workbook (.xlsx) that can be read ({exc.__class__.__name__})"]
        ) from None
    try:
        sheet = workbook.worksheets[0]
        rows = []
        for number, row in enumerate(
            sheet.iter_rows(max_row=MAX_ROWS + 2, max_col=MAX_COLUMNS, values_only=True), start=1
        ):
            rows.append((number, [_cell(v) for v in row]))
    finally:
        workbook.close()
    rows = [(n, cells) for n, cells in rows if any(cells)]
    if len(rows) > MAX_ROWS + 1:
        raise ExcelInvalid([f"more than {MAX_ROWS} questions; split the sheet"])
    return rows


def _header(cells: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        name = cell.lower().strip()
        for column, aliases in COLUMNS.items():
            if name in aliases and column not in found:
                found[column] = index
    missing = [c for c in ("kind", "text") if c not in found]
    if missing:
        names = " / ".join(f"{COLUMNS[c][0]} ({COLUMNS[c][-1]})" for c in missing)
        raise ExcelInvalid([f"row 1: the header needs the columns {names}"])
    return found


def _options(text: str, row: int, problems: list[str]) -> list[dict]:
    """'非常满意=100; 满意=80; 不了解' (a line or ';' per option; no score: not scored)."""
    options = []
    for position, part in enumerate(p.strip() for p in _OPTION_SPLIT.split(text) if p.strip()):
        label, sep, score = part.rpartition("=") if "=" in part else (part, "", "")
        option = {"value": f"o{position + 1}", "label": {"zh": label.strip() or part}}
        if sep:
            try:
                number = float(score)
            except ValueError:
                problems.append(f"row {row}, options: score '{score}' of '{label}' is not a number")
                continue
            option["score"] = int(number) if number.is_integer() else number
        else:
            option["scored"] = False
        options.append(option)
    return options


def read_questionnaire_sheet(raw: bytes, key: str, title: str, scheme: str) -> dict:
    """A checked questionnaire definition from the sheet, or ExcelInvalid listing every problem."""
    rows = _rows(raw)
    if not rows:
        raise ExcelInvalid(["the sheet is empty"])
    columns = _header(rows[0][1])
    problems: list[str] = []
    questions, indicators, row_of = [], {}, {}

    def get(cells, name):
        index = columns.get(name)
        return cells[index] if index is not None and index < len(cells) else ""

    for number, cells in rows[1:]:
        position = len(questions) + 1
        q_key = get(cells, "key") or f"q{position}"
        if not _KEY.match(q_key):
            problems.append(
                f"row {number}, key: '{q_key}' must start with a letter and use a-z, 0-9 and _"
            )
        kind = KINDS.get(get(cells, "kind").lower())
        if kind is None:
            problems.append(
                f"row {number}, kind: '{get(cells, 'kind')}' is not a question type "
                f"(单选, 是否, 评分, 多选, 数字, 文本)"
            )
            continue
        text = get(cells, "text")
        if not text:
            problems.append(f"row {number}, text: the question text is empty")
        question = {"key": q_key, "kind": kind, "text": {"zh": text or "?"}}
        if get(cells, "text_en"):
            question["text"]["en"] = get(cells, "text_en")
        if kind in ("single_choice", "multiple_choice"):
            options = _options(get(cells, "options"), number, problems)
            if not options:
                problems.append(f"row {number}, options: a choice question needs options")
            question["options"] = options
        elif get(cells, "options") and kind == "yes_no":
            question["options"] = _options(get(cells, "options"), number, problems)
        indicator = get(cells, "indicator")
        if indicator and scheme != "none":
            ind_key, _sep, name = indicator.partition(":")
            ind_key = ind_key.strip()
            if not _KEY.match(ind_key):
                problems.append(
                    f"row {number}, indicator: '{ind_key}' must start with a letter and use a-z, 0-9 and _"
                )
            indicators.setdefault(
                ind_key, {"key": ind_key, "name": {"zh": name.strip() or ind_key}, "weight": 1}
            )
            question["indicator"] = ind_key
        direction = get(cells, "direction").lower()
        if direction in NEGATIVE:
            question["direction"] = "negative"
        elif direction not in POSITIVE:
            problems.append(f"row {number}, direction: '{direction}' is neither 正向 nor 反向")
        required = get(cells, "required").lower()
        if required in NO:
            question["required"] = False
        elif required and required not in YES:
            problems.append(f"row {number}, required: '{required}' is neither 是 nor 否")
        for name in ("min", "max"):
            value = get(cells, name)
            if value and kind in ("rating", "number"):
                try:
                    number_value = float(value)
                except ValueError:
                    problems.append(f"row {number}, {name}: '{value}' is not a number")
                else:
                    question[name] = (
                        int(number_value) if number_value.is_integer() else number_value
                    )
        row_of[len(questions)] = number
        questions.append(question)
    if not questions and not problems:
        problems.append("the sheet has a header but no question rows")
    if problems:
        raise ExcelInvalid(problems)
    definition = {
        "format": 1,
        "key": key,
        "kind": "social_satisfaction" if scheme == "satisfaction" else "custom",
        "title": {"zh": title},
        "questions": questions,
        "scoring": {"scheme": scheme},
    }
    if indicators:
        definition["indicators"] = list(indicators.values())
    try:
        return load_definition(definition)
    except DefinitionInvalid as exc:
        raise ExcelInvalid([_row_problem(str(p), row_of) for p in exc.problems]) from None


def _row_problem(text: str, row_of: dict[int, int]) -> str:
    """'questions[2](q3).options: …' → 'row 4 (q3), options: …'."""
    match = re.match(r"questions\[(\d+)\](?:\(([^)]*)\))?\.?(.*)", text)
    if not match:
        return text
    index, key, rest = int(match.group(1)), match.group(2), match.group(3)
    row = row_of.get(index)
    where = f"row {row}" + (f" ({key})" if key else "")
    return f"{where}, {rest}" if rest else where


def read_table(raw: bytes, filename: str) -> list[tuple[int, list[str]]]:
    """Non-empty rows (row number, cells) of a CSV (UTF-8) or .xlsx upload, header first."""
    import csv

    if (filename or "").lower().endswith(".xlsx") or raw[:2] == b"PK":
        return _rows(raw)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ExcelInvalid(["the file is neither an Excel workbook nor UTF-8 CSV text"]) from None
    rows = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in row[:MAX_COLUMNS]]
        if any(cells):
            rows.append((number, cells))
        if len(rows) > 20001:
            raise ExcelInvalid(["more than 20000 rows; split the file"])
    return rows
