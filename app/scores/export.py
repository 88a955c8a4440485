"""A snapshot as a file: CSV (UTF-8 with BOM, so Excel reads Chinese) or XLSX, same suppression as the API.

Cells whose text starts with = + - @ (or a tab or carriage return) get a leading apostrophe, so
a spreadsheet never runs a name typed by someone as a formula. Numbers stay numbers.
"""

import csv
import io
import json

from app.scores.feed import aware, snapshot_items
from app.scores.models import ScoreSnapshot

COLUMNS = [
    ("campaign_id", "活动编号 campaign"),
    ("snapshot_version", "快照版本 snapshot version"),
    ("published_at", "发布时间 published"),
    ("target_type", "对象类型 target type"),
    ("target_id", "对象编号 target id"),
    ("target_code", "对象代码 code"),
    ("target_name", "对象名称 name"),
    ("category", "类别 category"),
    ("parent", "上级/所在单位 parent"),
    ("kind", "得分类型 kind"),
    ("period", "期间 period"),
    ("suppressed", "样本过少不予显示 suppressed"),
    ("suppression_reason", "原因 reason"),
    ("score", "得分 score"),
    ("grade", "等次 grade"),
    ("ci_low", "95%置信区间下限 CI low"),
    ("ci_high", "95%置信区间上限 CI high"),
    ("n", "样本量 n"),
    ("n_effective", "有效样本量 effective n"),
    ("rank", "排名 rank"),
    ("percentile", "百分位 percentile"),
    ("peer_group", "比较组 peer group"),
    ("indicators", "分项指标 indicators"),
    ("quality_flags", "质量标记 quality flags"),
    ("method", "方法 method"),
]
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """Text that a spreadsheet would read as a formula, with a leading apostrophe; others unchanged."""
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value


def _json(value) -> str | None:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else None


def export_rows(snapshot: ScoreSnapshot) -> list[list]:
    """Header and one row per target × kind × period; a suppressed row has no figure."""
    rows = [[label for _, label in COLUMNS]]
    for item in snapshot_items(snapshot):
        target = item["target"]
        ci = item.get("ci95") or {}
        values = {
            "campaign_id": item["campaign_id"],
            "snapshot_version": snapshot.version,
            "published_at": aware(snapshot.published_at).isoformat(),
            "target_type": target["type"],
            "target_id": target["id"],
            "target_code": target["code"],
            "target_name": target["name"],
            "category": target["category"],
            "parent": (target.get("parent") or {}).get("name"),
            "kind": item["kind"],
            "period": item["period"],
            "suppressed": "yes" if item["suppressed"] else "no",
            "suppression_reason": item.get("suppression_reason"),
            "score": item.get("score"),
            "grade": item.get("grade"),
            "ci_low": ci.get("low"),
            "ci_high": ci.get("high"),
            "n": item.get("n"),
            "n_effective": item.get("n_effective"),
            "rank": item.get("rank"),
            "percentile": item.get("percentile"),
            "peer_group": item.get("peer_group"),
            "indicators": _json(item.get("indicators")),
            "quality_flags": _json(item.get("quality_flags")),
            "method": _json(snapshot.method),
        }
        rows.append([neutralise(values[key]) for key, _ in COLUMNS])
    return rows


def snapshot_csv(snapshot: ScoreSnapshot) -> bytes:
    """The snapshot as CSV, UTF-8 with a byte-order mark."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in export_rows(snapshot):
        writer.writerow(["" if v is None else v for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def snapshot_xlsx(snapshot: ScoreSnapshot) -> bytes:
    """The snapshot as an XLSX workbook with one sheet."""
    from openpyxl import Workbook  # imported here: only staff downloads need it

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(f"scores v{snapshot.version}")
    for row in export_rows(snapshot):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
