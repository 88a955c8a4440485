"""Anonymization: keyed respondent pseudonyms, free-text PII scrubbing, small-group suppression."""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from .phones import FULLWIDTH_TO_ASCII, normalize_phone

# ---------------------------------------------------------------------------------------------
# Pseudonyms
# ---------------------------------------------------------------------------------------------

# Domain-separation labels: the two key families can never produce the same HMAC input, even for
# a campaign whose id happens to be "optout".
_RESPONDENT_LABEL = b"minyi/respondent/v1"
_OPTOUT_LABEL = b"minyi/optout/v1"
# ASCII unit separator: it cannot occur in an E.164 number, and the phone is always the last
# field, so no (campaign id, phone) pair can be re-split into another one.
_FIELD_SEPARATOR = b"\x1f"


def respondent_key(secret: bytes, campaign_id: int | str, e164: str) -> str:
    """Hex HMAC-SHA256(secret, label | campaign id | E.164 phone): stable in a campaign, unlinkable across campaigns."""
    campaign = str(campaign_id) if campaign_id is not None else ""
    if not campaign:
        raise ValueError("campaign id is required for a respondent key")
    return _keyed_digest(
        secret, _RESPONDENT_LABEL, campaign.encode(), normalize_phone(e164).encode()
    )


def optout_key(secret: bytes, e164: str) -> str:
    """Hex HMAC-SHA256(secret, opt-out label | E.164 phone): the same in every campaign, so STOP holds for later surveys."""
    return _keyed_digest(secret, _OPTOUT_LABEL, normalize_phone(e164).encode())


def _keyed_digest(secret: bytes, *fields: bytes) -> str:
    """Hex HMAC-SHA256 of the fields joined by the unit separator."""
    # A keyed MAC, never a plain or salted hash: China has ~1.6 billion mobile numbers, so any
    # unkeyed digest of a phone is reversed by enumerating them.
    if not isinstance(secret, bytes | bytearray) or not secret:
        raise ValueError("pseudonym secret must be non-empty bytes")
    return hmac.new(bytes(secret), _FIELD_SEPARATOR.join(fields), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------------------------------------
# Free-text scrubbing
# ---------------------------------------------------------------------------------------------

PLACEHOLDER_MOBILE = "[手机号]"
PLACEHOLDER_LANDLINE = "[座机]"
PLACEHOLDER_ID_NUMBER = "[身份证号]"
PLACEHOLDER_BANK_CARD = "[银行卡号]"
PLACEHOLDER_EMAIL = "[邮箱]"
PLACEHOLDER_PLATE = "[车牌]"
PLACEHOLDER_STAFF = "[已隐去]"
PLACEHOLDERS = (
    PLACEHOLDER_MOBILE,
    PLACEHOLDER_LANDLINE,
    PLACEHOLDER_ID_NUMBER,
    PLACEHOLDER_BANK_CARD,
    PLACEHOLDER_EMAIL,
    PLACEHOLDER_PLATE,
    PLACEHOLDER_STAFF,
)

# Matching runs on a copy of the text where full-width and dash-like characters are folded to
# ASCII one character for one, so match offsets are valid in the original, which is kept as is.
_MATCHING_VIEW = FULLWIDTH_TO_ASCII | str.maketrans(
    {"\u00a0": " ", **{dash: "-" for dash in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"}}
)
# Replaced stretches are masked with a character no pattern matches, so later patterns cannot
# match across or inside them (it also acts as a boundary, like the placeholder will).
_MASK = "\x00"

# Placeholders already in the text (from an earlier scrub) are kept and never matched again.
_EXISTING_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS))

# re.ASCII: \d must mean 0-9 only (full-width digits are folded first); re.VERBOSE for comments.
_FLAGS = re.ASCII | re.VERBOSE

_EMAIL = re.compile(
    r"""
    [A-Za-z0-9._%+\-]+ @ [A-Za-z0-9\-]+ (?:\.[A-Za-z0-9\-]+)* \.[A-Za-z]{2,}
    """,
    _FLAGS,
)

# 18-digit resident ID: 6-digit area (first digit 1-8), birth date, 3-digit sequence, check char.
# Digit lookarounds instead of \b: Chinese characters count as \w, so "号码110...1234。" has no \b.
# Single spaces/dashes between the usual groups (6-8-4 or 6-4-4-4) are tolerated.
_ID_18 = re.compile(
    r"""
    (?<!\d)
    [1-8]\d{5} [\ \-]? (?:18|19|20)\d{2} [\ \-]? \d{4} [\ \-]? \d{3}[\dXx]
    (?!\d)
    """,
    _FLAGS,
)

# First-generation 15-digit ID: 6-digit area, YYMMDD (19YY), 3-digit sequence; no check digit.
_ID_15 = re.compile(r"(?<!\d) [1-8]\d{14} (?!\d)", _FLAGS)

# Mainland mobile: 1[3-9] + 9 digits in 3-4-4 groups, optionally after +86, (+86), 0086, 86 or a
# trunk 0; the digit lookbehind sits on the unprefixed branch so "+86" needs no boundary of its own.
_MOBILE = re.compile(
    r"""
    (?: \+86[\ \-.]?
      | \(\+?86\)\ ?
      | (?<!\d) (?:0086[\ \-.]? | 86-? | 0)?
    )
    1[3-9]\d [\ \-.]? \d{4} [\ \-.]? \d{4}
    (?!\d)
    """,
    _FLAGS,
)

# Bank card: 13-19 digits, contiguous or grouped (4-4-4-4-3 or 6-rest); Luhn is checked after.
# Not after "+": a number written with a country code is a phone. Not before X: 17 digits and
# an X are an ID-shaped string that failed its check, not a card.
_BANK_CARD = re.compile(
    r"""
    (?<![\d+])
    (?: \d{4} (?:[\ \-]?\d{4}){2,3} (?:[\ \-]?\d{1,3})?
      | \d{6} [\ \-] \d{7,13}
    )
    (?![\dXx])
    """,
    _FLAGS,
)

# Landline: area code 010, 02x or 0xxx (or without the 0 after +86/0086), then a 7-8 digit local
# number, possibly split 3-4 or 4-4.
_AREA_CODE = r"(?:10|2\d|[3-9]\d{2})"
_LANDLINE = re.compile(
    rf"""
    (?: \(0{_AREA_CODE}\) [\ \-]?
      | (?:\+|(?<!\d)00)86 [\ \-]? \(?0?{_AREA_CODE}\)? [\ \-]?
      | (?<!\d) 0{_AREA_CODE} [\ \-]?
    )
    \d{{3,4}} [\ \-]? \d{{4}}
    (?!\d)
    """,
    _FLAGS,
)

# Licence plate: province abbreviation, authority letter (no I/O), optional dot, then a new-energy
# serial (D/F + 5, or 5 digits + D/F), a special-use serial (4 + 学/警/...), or a 5-char serial.
_PLATE = re.compile(
    r"""
    [京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼]
    [A-HJ-NP-Z]
    [·•・.\ \-]?
    (?: [DF][A-HJ-NP-Z0-9]\d{4}
      | \d{5}[DF]
      | [A-HJ-NP-Z0-9]{4}[学警港澳挂领试超]
      | [A-HJ-NP-Z0-9]{5}
    )
    (?![A-Za-z0-9])
    """,
    _FLAGS | re.IGNORECASE,
)

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"  # indexed by (weighted sum mod 11), ISO 7064 MOD 11-2


def _digits(text: str) -> str:
    """Return text without the spaces and dashes between digit groups."""
    return text.replace(" ", "").replace("-", "")


def _is_date(year: int, month: int, day: int) -> bool:
    """Return whether the numbers form a calendar date."""
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def is_resident_id_18(candidate: str) -> bool:
    """Return whether 18 chars are a resident ID: valid birth date and ISO 7064 MOD 11-2 check char."""
    value = _digits(candidate).upper()
    if len(value) != 18 or not value[:17].isdigit():
        return False
    if not _is_date(int(value[6:10]), int(value[10:12]), int(value[12:14])):
        return False
    weighted = sum(
        int(digit) * weight for digit, weight in zip(value[:17], _ID_WEIGHTS, strict=True)
    )
    return value[17] == _ID_CHECK_CHARS[weighted % 11]


def is_resident_id_15(candidate: str) -> bool:
    """Return whether 15 digits are an old resident ID: positions 7-12 a valid 19YYMMDD date."""
    value = _digits(candidate)
    return (
        len(value) == 15
        and value.isdigit()
        and _is_date(1900 + int(value[6:8]), int(value[8:10]), int(value[10:12]))
    )


def is_luhn_valid(candidate: str) -> bool:
    """Return whether the digits pass the Luhn check (every second digit from the right doubled)."""
    value = _digits(candidate)
    if not value.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(value)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


# "8613800138000" and "008613800138000" have card lengths but are mobiles with a country code
# (no bank card number starts with 86); leave them to the mobile pattern.
_MOBILE_WITH_COUNTRY_CODE = re.compile(r"(?:00)?861[3-9]\d{9}", re.ASCII)


def _is_bank_card(candidate: str) -> bool:
    """Return whether a candidate has 13-19 digits, a valid Luhn check digit, and is no +86 mobile."""
    digits = _digits(candidate)
    return (
        13 <= len(digits) <= 19
        and is_luhn_valid(digits)
        and not _MOBILE_WITH_COUNTRY_CODE.fullmatch(digits)
    )


def _has_digit(candidate: str) -> bool:
    """Return whether a candidate contains a digit (every real plate serial does)."""
    return any(char.isdigit() for char in candidate)


def _always(_candidate: str) -> bool:
    """Accept every match of the pattern."""
    return True


@dataclass(frozen=True)
class _Detector:
    """A pattern, a check on each match, and the placeholder that replaces accepted matches."""

    pattern: re.Pattern[str]
    placeholder: str
    accepts: Callable[[str], bool] = _always


# Order matters where shapes overlap: an e-mail may start with a phone; an 18-digit string is an
# ID before it is a card; a card grouped 4-4-4-4 must be claimed before the mobile pattern reads
# its last three groups as a trunk-0 mobile ("6200 0130 0000 0008"); a landline's digits may
# look like a card's tail, so landlines come after cards too.
_BUILTIN_DETECTORS = (
    _Detector(_EMAIL, PLACEHOLDER_EMAIL),
    _Detector(_ID_18, PLACEHOLDER_ID_NUMBER, is_resident_id_18),
    _Detector(_ID_15, PLACEHOLDER_ID_NUMBER, is_resident_id_15),
    _Detector(_BANK_CARD, PLACEHOLDER_BANK_CARD, _is_bank_card),
    _Detector(_MOBILE, PLACEHOLDER_MOBILE),
    _Detector(_LANDLINE, PLACEHOLDER_LANDLINE),
    _Detector(_PLATE, PLACEHOLDER_PLATE, _has_digit),
)


def scrub(text: str, extra_patterns: Iterable[str | re.Pattern[str]] = ()) -> str:
    """Replace phones, landlines, ID numbers, bank cards, e-mails, plates and staff patterns with placeholders; idempotent."""
    detectors = (*_BUILTIN_DETECTORS, *_staff_detectors(extra_patterns))
    view = text.translate(_MATCHING_VIEW)
    existing = [(m.start(), m.end(), m.group()) for m in _EXISTING_PLACEHOLDER.finditer(view)]
    view = _masked(view, existing)
    replacements = existing + _find_replacements(view, detectors)
    parts: list[str] = []
    position = 0
    for start, end, placeholder in sorted(replacements):
        parts += [text[position:start], placeholder]
        position = end
    parts.append(text[position:])
    return "".join(parts)


def _staff_detectors(patterns: Iterable[str | re.Pattern[str]]) -> list[_Detector]:
    """Compile a campaign's extra patterns (regex source or compiled) into detectors."""
    if isinstance(patterns, str | re.Pattern):
        patterns = [patterns]  # one pattern passed bare would otherwise be split into characters
    detectors = []
    for pattern in patterns:
        if isinstance(pattern, re.Pattern):
            detectors.append(_Detector(pattern, PLACEHOLDER_STAFF))
            continue
        try:
            detectors.append(_Detector(re.compile(pattern), PLACEHOLDER_STAFF))
        except (re.error, TypeError) as error:
            raise ValueError(f"invalid scrub pattern {pattern!r}: {error}") from None
    return detectors


def _find_replacements(view: str, detectors: Sequence[_Detector]) -> list[tuple[int, int, str]]:
    """Return (start, end, placeholder) for every accepted match, masking each before the next pattern runs."""
    replacements: list[tuple[int, int, str]] = []
    # A replacement can turn its neighbour into a boundary that an earlier pattern needed (an ID
    # ending in X directly followed by a phone), so repeat until a full round finds nothing; this
    # is what makes scrub(scrub(x)) == scrub(x).
    found = True
    while found:
        found = False
        for detector in detectors:
            spans = [
                (match.start(), match.end(), detector.placeholder)
                for match in detector.pattern.finditer(view)
                if match.group() and _MASK not in match.group() and detector.accepts(match.group())
            ]
            if spans:
                replacements += spans
                view = _masked(view, spans)
                found = True
    return replacements


def _masked(view: str, spans: Iterable[tuple[int, int, str]]) -> str:
    """Return the view with each span overwritten by mask characters of the same length."""
    chars = list(view)
    for start, end, _ in spans:
        chars[start:end] = _MASK * (end - start)
    return "".join(chars)


# ---------------------------------------------------------------------------------------------
# Small-group suppression
# ---------------------------------------------------------------------------------------------

PRIMARY = "primary"  # the cell itself counts 0 < n < k respondents
COMPLEMENTARY = "complementary"  # hidden only so a primary cell cannot be derived from totals

Cell = tuple[Hashable, Hashable]


@dataclass(frozen=True)
class SuppressedTable:
    """A count table with totals as it may be shown: hidden cells are <NA>, with the reason for each."""

    table: pd.DataFrame  # interior counts plus a total row and column; dtype Int64
    suppressed: dict[Cell, str]  # (row label, column label) -> PRIMARY | COMPLEMENTARY


@dataclass(frozen=True)
class SuppressedGroups:
    """Group counts with their total as they may be shown: hidden counts are None."""

    counts: dict[str, int | None]
    total: int | None
    suppressed: dict[str, str]  # group name (or the total label) -> PRIMARY | COMPLEMENTARY


def suppress(table: pd.DataFrame, k: int, total_label: str = "total") -> SuppressedTable:
    """Hide cells and totals with 0 < n < k, then more cells until no hidden one is derivable from the totals."""
    _check_k(k)
    counts = _validated_counts(table, total_label)
    grid = np.zeros((counts.shape[0] + 1, counts.shape[1] + 1), dtype=np.int64)
    grid[:-1, :-1] = counts
    grid[:-1, -1] = counts.sum(axis=1)
    grid[-1, :-1] = counts.sum(axis=0)
    grid[-1, -1] = counts.sum()
    hidden = (grid > 0) & (grid < k)
    reasons = {(int(r), int(c)): PRIMARY for r, c in zip(*np.nonzero(hidden), strict=True)}
    while (cell := _next_complementary_cell(grid, hidden)) is not None:
        hidden[cell] = True
        reasons[cell] = COMPLEMENTARY
    rows = [*table.index, total_label]
    columns = [*table.columns, total_label]
    shown = pd.DataFrame(grid, index=rows, columns=columns).astype("Int64").mask(hidden)
    labelled = {(rows[r], columns[c]): why for (r, c), why in sorted(reasons.items())}
    return SuppressedTable(table=shown, suppressed=labelled)


def suppress_groups(
    counts: Mapping[str, int], k: int, total_label: str = "total"
) -> SuppressedGroups:
    """Hide groups (and the total) with 0 < n < k; if exactly one is hidden, hide the next smallest too."""
    _check_k(k)
    names = list(counts)
    values = [_count(counts[name], name) for name in names]
    line = [*values, sum(values)]
    hidden = [0 < value < k for value in line]
    reasons = {index: PRIMARY for index, is_hidden in enumerate(hidden) if is_hidden}
    extra = _line_complement(line, hidden)
    if extra is not None:
        hidden[extra] = True
        reasons[extra] = COMPLEMENTARY
    labels = [*names, total_label]
    return SuppressedGroups(
        counts={name: None if hidden[i] else values[i] for i, name in enumerate(names)},
        total=None if hidden[-1] else line[-1],
        suppressed={labels[index]: why for index, why in sorted(reasons.items())},
    )


def _check_k(k: int) -> None:
    """Reject a threshold that is not a positive integer."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError("k must be a positive integer")


def _count(value: object, where: object) -> int:
    """Return a count as int, rejecting negatives, fractions and missing values."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"count for {where!r} must be a number")
    if not math.isfinite(value) or value < 0 or value != int(value):
        raise ValueError(f"count for {where!r} must be a non-negative whole number")
    return int(value)


def _validated_counts(table: pd.DataFrame, total_label: str) -> np.ndarray:
    """Return the interior counts as an int64 array, rejecting empty, missing, negative or fractional cells."""
    if table.empty:
        raise ValueError("count table is empty")
    if total_label in table.index or total_label in table.columns:
        raise ValueError(f"{total_label!r} is reserved for the totals")
    try:
        values = table.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise ValueError("count table must contain only numbers") from None
    if not np.isfinite(values).all() or (values < 0).any() or (values != np.round(values)).any():
        raise ValueError("count table must contain non-negative whole numbers")
    return values.astype(np.int64)


def _lines(shape: tuple[int, int]) -> list[list[tuple[int, int]]]:
    """Return every row and column of the grid; in each, the interior entries sum to the last one."""
    n_rows, n_cols = shape
    rows = [[(r, c) for c in range(n_cols)] for r in range(n_rows)]
    columns = [[(r, c) for r in range(n_rows)] for c in range(n_cols)]
    return rows + columns


def _line_complement(
    values: Sequence[int], hidden: Sequence[bool], crossing_hidden: Sequence[int] | None = None
) -> int | None:
    """If exactly one entry of a line is hidden, return the index of the next-smallest visible entry to hide."""
    if sum(hidden) != 1:
        return None
    crossing = crossing_hidden or [0] * len(values)
    visible = [i for i, is_hidden in enumerate(hidden) if not is_hidden]
    # Prefer a non-zero entry: hiding a zero beside a small cell only shows that the pair is small.
    # Among equals prefer an entry whose crossing line already hides a cell: that closes a
    # rectangle instead of opening a new lone hidden cell, so fewer cells are lost overall.
    return min(
        visible, key=lambda i: (values[i] == 0, crossing[i] == 0, values[i], i), default=None
    )


def _next_complementary_cell(grid: np.ndarray, hidden: np.ndarray) -> tuple[int, int] | None:
    """Return the next cell to hide so that no hidden cell is derivable, or None when the grid is safe."""
    lines = _lines(grid.shape)
    n_rows = grid.shape[0]
    hidden_per_row, hidden_per_col = hidden.sum(axis=1), hidden.sum(axis=0)
    for index, line in enumerate(lines):
        crossing = [hidden_per_col[c] if index < n_rows else hidden_per_row[r] for r, c in line]
        choice = _line_complement(
            [grid[cell] for cell in line], [bool(hidden[cell]) for cell in line], crossing
        )
        if choice is not None:
            return line[choice]
    # Every line now has 0 or >= 2 hidden entries, but combining several lines can still pin a
    # cell down (two blocks of hidden cells joined by one cell); check the whole linear system.
    exposed = _derivable_hidden_cells(hidden, lines)
    if not exposed:
        return None
    row, col = exposed[0]
    candidates = [cell for cell in lines[row] + lines[n_rows + col] if not hidden[cell]]
    if not candidates:
        candidates = [(int(r), int(c)) for r, c in np.argwhere(~hidden)]
    return min(candidates, key=lambda cell: (grid[cell] == 0, grid[cell], cell))


def _derivable_hidden_cells(
    hidden: np.ndarray, lines: list[list[tuple[int, int]]]
) -> list[tuple[int, int]]:
    """Return hidden cells whose value follows from the visible ones (zero in every null-space vector)."""
    unknowns = [(int(r), int(c)) for r, c in np.argwhere(hidden)]
    if not unknowns:
        return []
    column_of = {cell: i for i, cell in enumerate(unknowns)}
    system = np.zeros((len(lines), len(unknowns)))
    for i, line in enumerate(lines):
        total = line[-1]
        for cell in line:
            if cell in column_of:
                system[i, column_of[cell]] = -1.0 if cell == total else 1.0
    _, singular, vt = np.linalg.svd(system, full_matrices=True)
    rank = int((singular > 1e-9).sum())
    null_space = vt[rank:]
    return [cell for i, cell in enumerate(unknowns) if np.all(np.abs(null_space[:, i]) < 1e-9)]


# ---------------------------------------------------------------------------------------------
# Rater-group weights
# ---------------------------------------------------------------------------------------------

NOTE_USED = "used"
NOTE_NO_RESPONDENTS = "dropped: no respondents"
NOTE_BELOW_K = "dropped: fewer than {k} raters; other weights re-normalized"
NOTE_MERGED = "merged into {group}"
NOTE_BELOW_K_AFTER_MERGE = (
    "dropped: fewer than {k} raters even after merging; other weights re-normalized"
)


@dataclass(frozen=True)
class RaterGroupWeights:
    """Weights for combining rater groups, and what happened to every group (never its count)."""

    weights: dict[str, float]  # reported group -> weight in the combined score; sums to 1, or empty
    members: dict[str, tuple[str, ...]]  # reported group -> rater groups whose answers it pools
    notes: dict[str, str]  # every input group -> one of the NOTE_* texts


def rater_group_weights(
    groups: Mapping[str, Mapping[str, float]],
    k: int,
    policy: str | tuple[str, str] = "drop",
) -> RaterGroupWeights:
    """Weights of groups with n >= k (own "k" overrides), re-normalized to sum 1; small groups dropped or merged."""
    _check_k(k)
    merge_into = _merge_target(policy, groups)
    pools: dict[str, list[str]] = {}
    notes: dict[str, str] = {}
    sizes: dict[str, int] = {}
    weights: dict[str, float] = {}
    for name, group in groups.items():
        sizes[name], weights[name] = _group_size_and_weight(name, group)
        if sizes[name] == 0:
            notes[name] = NOTE_NO_RESPONDENTS
        elif merge_into and name != merge_into and sizes[name] < _group_k(groups[name], k):
            notes[name] = NOTE_MERGED.format(group=merge_into)
            pools.setdefault(merge_into, []).append(name)
        else:
            pools.setdefault(name, []).insert(0, name)
    combined: dict[str, float] = {}
    for reported, members in pools.items():
        own_k = _group_k(groups[reported], k)
        if sum(sizes[m] for m in members) < own_k:
            for member in members:
                merged = member != reported or len(members) > 1
                notes[member] = (NOTE_BELOW_K_AFTER_MERGE if merged else NOTE_BELOW_K).format(
                    k=own_k
                )
            continue
        if reported in members:
            notes[reported] = NOTE_USED
        combined[reported] = sum(weights[m] for m in members)
    total = sum(combined.values())
    if combined and total <= 0:
        raise ValueError("the rater groups left have a total weight of zero")
    return RaterGroupWeights(
        weights={name: weight / total for name, weight in combined.items()},
        members={name: tuple(pools[name]) for name in combined},
        notes={name: notes[name] for name in groups},
    )


def _merge_target(policy: str | tuple[str, str], groups: Mapping[str, object]) -> str | None:
    """Return the group small groups merge into, or None for the "drop" policy."""
    if policy == "drop":
        return None
    if isinstance(policy, tuple) and len(policy) == 2 and policy[0] == "merge":
        if policy[1] not in groups:
            raise ValueError(f"merge target {policy[1]!r} is not one of the rater groups")
        return policy[1]
    raise ValueError(f"unknown small-group policy {policy!r}: use 'drop' or ('merge', group)")


def _group_size_and_weight(name: str, group: Mapping[str, float]) -> tuple[int, float]:
    """Return a group's respondent count and scheme weight, validated."""
    if "n" not in group or "weight" not in group:
        raise ValueError(f"rater group {name!r} needs 'n' and 'weight'")
    weight = group["weight"]
    if (
        isinstance(weight, bool)
        or not isinstance(weight, int | float | np.integer | np.floating)
        or not math.isfinite(weight)
    ):
        raise ValueError(f"weight of rater group {name!r} must be a finite number")
    if weight < 0:
        raise ValueError(f"weight of rater group {name!r} must not be negative")
    return _count(group["n"], name), float(weight)


def _group_k(group: Mapping[str, float], default_k: int) -> int:
    """Return the group's own minimum size if the scheme sets one, else the default."""
    own = group.get("k", default_k)
    _check_k(own)
    return int(own)
