"""Campaign targets from a CSV or Excel list of units or officials: checked whole, then applied."""

from sqlalchemy import select

from app.admin.excel import ExcelInvalid, read_table
from app.extensions import db
from app.targets.models import LEVELS, Official, Unit

UNIT_COLUMNS = {
    "code": ("code", "代码", "编码", "单位代码"),
    "name": ("name", "名称", "单位名称"),
    "level": ("level", "层级", "级别"),
    "type": ("type", "类型", "单位类型"),
    "parent": ("parent", "parent_code", "上级", "上级代码"),
}
OFFICIAL_COLUMNS = {
    "unit": ("unit", "unit_code", "所在单位代码"),
    "code": ("code", "编号", "代码"),
    "name": ("name", "姓名"),
    "title": ("title", "职务"),
    "position": ("position", "正副职"),
}
LEVEL_WORDS = {
    "省": "province",
    "市": "city",
    "县": "county",
    "区县": "county",
    "乡镇": "township",
    "街道": "township",
    "街乡": "township",
    "部门": "department",
    "其他": "other",
}
POSITION_WORDS = {"正职": "principal", "副职": "deputy", "成员": "member"}


def _columns(header: list[str], spec: dict) -> dict[str, int]:
    found = {}
    for index, cell in enumerate(header):
        for name, aliases in spec.items():
            if cell.strip().lower() in aliases and name not in found:
                found[name] = index
    return found


def import_targets(org_id: int, raw: bytes, filename: str) -> tuple[str, list[Unit]]:
    """('units' | 'officials', the units to target); ExcelInvalid lists every row problem, nothing changed."""
    rows = read_table(raw, filename)
    if len(rows) < 2:
        raise ExcelInvalid(["the file needs a header row and at least one row"])
    header = rows[0][1]
    officials = _columns(header, OFFICIAL_COLUMNS)
    if "unit" in officials and "name" in officials:
        return "officials", _officials(org_id, rows, officials)
    units = _columns(header, UNIT_COLUMNS)
    missing = [n for n in ("code", "name", "level", "type") if n not in units]
    if missing:
        raise ExcelInvalid(
            [
                "row 1: a unit list needs the columns code, name, level, type (代码, 名称, 层级, 类型) "
                "and may have parent (上级代码); an official list needs unit, code, name, title, "
                "position (所在单位代码, 编号, 姓名, 职务, 正副职)"
            ]
        )
    return "units", _units(org_id, rows, units)


def _get(cells, columns, name) -> str:
    index = columns.get(name)
    return cells[index].strip() if index is not None and index < len(cells) else ""


def _existing_units(org_id: int) -> dict[str, Unit]:
    return {u.code: u for u in db.session.scalars(select(Unit).where(Unit.org_id == org_id))}


def _units(org_id, rows, columns) -> list[Unit]:
    existing = _existing_units(org_id)
    problems, parsed, seen = [], [], set()
    for number, cells in rows[1:]:
        code, name = _get(cells, columns, "code"), _get(cells, columns, "name")
        level = _get(cells, columns, "level")
        level = LEVEL_WORDS.get(level, level.lower())
        type_, parent = _get(cells, columns, "type"), _get(cells, columns, "parent")
        if not code or len(code) > 60:
            problems.append(f"row {number}, code: required, at most 60 characters")
        elif code in seen:
            problems.append(f"row {number}, code: '{code}' appears twice")
        if not name or len(name) > 200:
            problems.append(f"row {number}, name: required, at most 200 characters")
        if level not in LEVELS:
            problems.append(
                f"row {number}, level: '{level}' is not one of {', '.join(LEVELS)} (省/市/县/乡镇/部门)"
            )
        if not type_ or len(type_) > 60:
            problems.append(f"row {number}, type: required, at most 60 characters")
        seen.add(code)
        parsed.append((number, code, name, level, type_, parent))
    for number, code, _name, _level, _type, parent in parsed:
        if parent and parent not in seen and parent not in existing:
            problems.append(f"row {number}, parent: no unit with code '{parent}'")
        if parent and parent == code:
            problems.append(f"row {number}, parent: a unit cannot be its own parent")
    if problems:
        raise ExcelInvalid(problems)
    result = []
    for _number, code, name, level, type_, _parent in parsed:
        unit = existing.get(code)
        if unit is None:
            unit = Unit(org_id=org_id, code=code, name=name, level=level, type=type_)
            db.session.add(unit)
            existing[code] = unit
        else:
            unit.name, unit.level, unit.type = name, level, type_
        result.append(unit)
    for _number, code, *_rest, parent in parsed:
        if parent:
            existing[code].parent = existing[parent]
    db.session.flush()
    return result


def _officials(org_id, rows, columns) -> list[Unit]:
    units = _existing_units(org_id)
    existing = {
        o.code: o for o in db.session.scalars(select(Official).where(Official.org_id == org_id))
    }
    problems, parsed, seen = [], [], set()
    for number, cells in rows[1:]:
        unit_code, code = _get(cells, columns, "unit"), _get(cells, columns, "code")
        name, title = _get(cells, columns, "name"), _get(cells, columns, "title")
        position = _get(cells, columns, "position")
        position = POSITION_WORDS.get(position, position.lower() or "member")
        if unit_code not in units:
            problems.append(
                f"row {number}, unit: no unit with code '{unit_code}'; import units first"
            )
        if not code or len(code) > 60:
            problems.append(f"row {number}, code: required, at most 60 characters")
        elif code in seen:
            problems.append(f"row {number}, code: '{code}' appears twice")
        if not name or len(name) > 100:
            problems.append(f"row {number}, name: required, at most 100 characters")
        if position not in ("principal", "deputy", "member"):
            problems.append(f"row {number}, position: '{position}' is not 正职, 副职 or 成员")
        seen.add(code)
        parsed.append((unit_code, code, name, title[:200], position))
    if problems:
        raise ExcelInvalid(problems)
    touched: dict[str, Unit] = {}
    for unit_code, code, name, title, position in parsed:
        unit = units[unit_code]
        official = existing.get(code)
        if official is None:
            official = Official(org_id=org_id, code=code)
            db.session.add(official)
        official.unit_id, official.name, official.title = unit.id, name, title
        official.position, official.active = position, True
        touched[unit_code] = unit
    db.session.flush()
    return list(touched.values())
