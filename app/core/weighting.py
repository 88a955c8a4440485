"""Survey designs and weighting: base weights, post-stratification, raking, trimming, diagnostics.

`Design` is R's svydesign with one stage of clusters; `rake`, `poststratify` and `trim` return a
`CalibratedDesign` whose standard errors account for the calibration as R's survey package does.
Choices worth knowing:
- No weights column means equal weights of 1 (not N/n from the fpc, as R would derive).
- Clusters are nested in strata (R's nest=TRUE): one cluster id in two strata is two PSUs.
- fpc as in R: when every value is ≤ 1 they are sampling fractions, otherwise PSU population counts.
- A stratum with one PSU that is not a census has no variance: estimates raise (R's default "fail").
- A missing value of the analysis variable makes its row leave that estimate but not the design: the
  rows with a value are a domain (R's na.rm=TRUE, which subsets the design).
- Raking iterates on the table of joint cells of the margins, not on the rows: a row's raked weight is
  its base weight times its cell's factor, so a sweep costs O(cells) whatever the sample size.
"""

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from app.core.estimates import (
    CalibrationStep,
    Estimate,
    PsuLayout,
    calibration_residuals,
    domain_means,
    domain_totals,
    domain_variances,
    group_sizes,
)

__all__ = [
    "CalibratedDesign",
    "Design",
    "Estimate",
    "WeightingError",
    "poststratify",
    "rake",
    "trim",
]

# Slack on trim bounds in the feasibility check, for totals given with rounding.
BOUND_TOLERANCE = 1e-9

# Newton steps per margin when solving for capped factors; a few suffice, the rest is a safeguard.
_CAP_SOLVER_STEPS = 100

# Joint cell tables up to this size are indexed densely; larger ones are hashed to occupied cells.
_DENSE_CELLS = 1 << 20

# Codes of integer columns are used as they are when they fall in [0, this).
_SMALL_INT_CODES = 1 << 16


class WeightingError(ValueError):
    """A design, margin or calibration that cannot be built or met; the message names the column, margin or category."""


# --- the design ---------------------------------------------------------------------------


class Design:
    """A sample as R's svydesign(id=~clusters, strata=~strata, weights=~weights, fpc=~fpc, nest=TRUE); every column optional."""

    def __init__(
        self,
        frame: pd.DataFrame,
        weights: str | None = None,
        strata: str | None = None,
        clusters: str | None = None,
        fpc: str | None = None,
    ):
        if not isinstance(frame, pd.DataFrame):
            raise TypeError("Design needs a pandas DataFrame")
        if len(frame) == 0:
            raise WeightingError("the frame has no rows")
        self.frame = frame
        self._weights = _base_weights(frame, weights)
        self._layout, self._lonely_strata = _psu_layout(frame, strata, clusters, fpc)
        self._steps: tuple[CalibrationStep, ...] = ()

    @property
    def weights(self) -> np.ndarray:
        """One weight per row of the frame, in frame order (a read-only view)."""
        view = self._weights.view()
        view.flags.writeable = False
        return view

    @property
    def n_effective(self) -> float:
        """Kish's effective sample size (Σw)²/Σw²."""
        w = self._weights
        return float(w.sum() ** 2 / (w @ w))

    @property
    def design_effect(self) -> float:
        """Kish's design effect of unequal weights, n / n_effective (1 for equal weights)."""
        return len(self._weights) / self.n_effective

    def mean(self, variable: str, by: str | None = None) -> Estimate | dict:
        """Ratio mean Σw·x/Σw of a numeric column, or {category: proportion} of another; by= gives {domain: ...} as R's svyby."""
        return self._estimate(variable, by, domain_means)

    def total(self, variable: str, by: str | None = None) -> Estimate | dict:
        """Total Σw·x of a numeric column, or {category: estimated count} of another; by= gives {domain: ...} as R's svyby."""
        return self._estimate(variable, by, domain_totals)

    def _estimate(self, variable: str, by: str | None, statistic: Callable) -> Estimate | dict:
        # without by= there is one domain, labelled None
        if self._lonely_strata:
            raise WeightingError(
                f"stratum {self._lonely_strata[0]!r} has only one PSU: its variance cannot be "
                "estimated"
            )
        series = _column(self.frame, variable, "analysis variable")
        domain, domain_labels = self._domains(by)
        if _is_numeric(series):
            x = series.to_numpy(dtype=float, na_value=np.nan)
            # rows without a value leave this estimate, not the design (R's na.rm=TRUE)
            found = self._domain_estimates(
                x, np.where(np.isnan(x), -1, domain), domain_labels, statistic
            )
            return found[None] if by is None else found
        codes, labels = _category_codes(
            self.frame, variable, "analysis variable", allow_missing=True
        )
        answered = np.where(codes >= 0, domain, -1)
        per_category = {
            labels[k]: self._domain_estimates(
                (codes == k).astype(float), answered, domain_labels, statistic
            )
            for k in _observed(codes, len(labels))
        }
        if by is None:
            return {category: found[None] for category, found in per_category.items()}
        return {
            label: {category: found[label] for category, found in per_category.items()}
            for label in domain_labels
        }

    def _domains(self, by: str | None) -> tuple[np.ndarray, list]:
        """Domain index per row (−1 outside every domain) and the observed domains in category order."""
        if by is None:
            return np.zeros(len(self.frame), dtype=np.intp), [None]
        codes, labels = _category_codes(self.frame, by, "by", allow_missing=True)
        observed = _observed(codes, len(labels))
        # appending −1 maps code −1 (missing) to −1 too
        renumber = np.full(len(labels) + 1, -1, dtype=np.intp)
        renumber[observed] = np.arange(len(observed))
        return renumber[codes], [labels[k] for k in observed]

    def _domain_estimates(
        self, x: np.ndarray, domain: np.ndarray, labels: list, statistic: Callable
    ) -> dict:
        n_domains = len(labels)
        values, influence = statistic(x, self._weights, domain, n_domains)
        counts = group_sizes(domain, n_domains)
        if not self._steps:
            variances = domain_variances(influence, domain, n_domains, self._layout)
        else:
            # the calibration residuals spread each domain's influence over every row: one pass each
            everywhere = np.zeros(len(x), dtype=np.intp)
            variances = [
                domain_variances(
                    calibration_residuals(
                        influence if n_domains == 1 else np.where(domain == d, influence, 0.0),
                        self._steps,
                    ),
                    everywhere,
                    1,
                    self._layout,
                )[0]
                for d in range(n_domains)
            ]
        return {
            label: _estimate(value, variance, count)
            for label, value, variance, count in zip(labels, values, variances, counts, strict=True)
        }


class CalibratedDesign(Design):
    """A design whose weights were raked or post-stratified to population totals, with the fit's diagnostics."""

    def __init__(
        self,
        source: Design,
        weights: np.ndarray,
        calibration: "_Calibration",
        iterations: int,
        max_margin_error: float,
    ):
        # no Design.__init__: the frame and the sampling layout are the source's, already checked
        self.frame = source.frame
        self.source = source
        self._layout = source._layout
        self._lonely_strata = source._lonely_strata
        self._weights = weights
        self._calibration = calibration
        cells = calibration.cells
        step = CalibrationStep(weights, cells.cell, cells.rows, cells.margins, calibration.raking)
        self._steps = (*source._steps, step)
        self.converged = True  # an unconverged fit raises instead of returning weights
        self.iterations = iterations
        self.max_margin_error = max_margin_error


# --- calibration --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Margin:
    name: str  # the variable(s), for messages
    labels: list  # category of each code
    codes: np.ndarray  # code per row
    targets: np.ndarray  # population total per code


@dataclass(frozen=True)
class _Cells:
    cell: np.ndarray  # joint cell per row (occupied cells only)
    rows: np.ndarray  # rows per cell
    margins: tuple[np.ndarray, ...]  # per margin, the code of each cell


@dataclass(frozen=True)
class _Calibration:
    margins: tuple[_Margin, ...]
    cells: _Cells
    raking: bool


def rake(
    design: Design,
    margins: Mapping[str, Mapping[Hashable, float]],
    tol: float = 1e-10,
    max_iter: int = 1000,
) -> CalibratedDesign:
    """Iterative proportional fitting to each margin's totals until the largest relative margin error ≤ tol; raises after max_iter sweeps."""
    _check_fit_options(tol, max_iter)
    if not isinstance(margins, Mapping) or not margins:
        raise WeightingError("rake needs margins: {variable: {category: population total}}")
    coded = [_category_codes(design.frame, variable, "margin variable") for variable in margins]
    cells = _cells(coded)
    fitted = tuple(
        _with_targets(variable, codes, labels, totals, _rows_per_code(cell_codes, cells, labels))
        for (variable, totals), (codes, labels), cell_codes in zip(
            margins.items(), coded, cells.margins, strict=True
        )
    )
    _check_totals_agree(fitted, tol)
    calibration = _Calibration(fitted, cells, raking=True)
    weights, iterations, error = _fit(design._weights, calibration, tol, max_iter)
    return CalibratedDesign(design, weights, calibration, iterations, error)


def poststratify(
    design: Design,
    by: str | Sequence[str],
    totals: Mapping[Hashable, float],
) -> CalibratedDesign:
    """Scale weights within each cell c of `by` to its population total: w·T_c/Σ_c w; several variables key totals by tuples."""
    columns = [by] if isinstance(by, str) else list(by)
    if not columns:
        raise WeightingError("poststratify needs at least one variable in by")
    if not isinstance(totals, Mapping) or not totals:
        raise WeightingError("poststratify needs totals: {category: population total}")
    coded = [_category_codes(design.frame, c, "post-stratification variable") for c in columns]
    cells = _cells(coded)
    if len(columns) == 1:
        (codes, labels), cell_codes = coded[0], cells.margins[0]
        plain = {k[0] if isinstance(k, tuple) and len(k) == 1 else k: v for k, v in totals.items()}
        rows = _rows_per_code(cell_codes, cells, labels)
        margin = _with_targets(columns[0], codes, labels, plain, rows)
    else:
        # one margin whose categories are the joint cells, labelled by tuples of values
        labels = _cell_labels(coded, cells)
        margin = _with_targets(" × ".join(columns), cells.cell, labels, totals, cells.rows)
        cells = _Cells(cells.cell, cells.rows, (np.arange(len(labels)),))
    calibration = _Calibration((margin,), cells, raking=False)
    weights, iterations, error = _fit(design._weights, calibration, math.inf, 1)
    return CalibratedDesign(design, weights, calibration, iterations, error)


def trim(
    result: CalibratedDesign,
    lower: float | None = None,
    upper: float | None = None,
    *,
    tol: float = 1e-10,
    max_iter: int = 1000,
) -> CalibratedDesign:
    """Weights capped to [lower, upper] and re-raked to the result's totals: w = clip(u, lower, upper), each category's factor a solving Σ clip(a·u) = T; raises naming the margin."""
    if not isinstance(result, CalibratedDesign):
        raise WeightingError("trim needs the result of rake() or poststratify()")
    _check_fit_options(tol, max_iter)
    low, high = _bounds(lower, upper)
    calibration = result._calibration
    _check_bounds_reachable(calibration, low, high)
    weights, iterations, error = _capped_fit(result._weights, calibration, low, high, tol, max_iter)
    return CalibratedDesign(result.source, weights, calibration, iterations, error)


def _capped_fit(
    start: np.ndarray,
    calibration: _Calibration,
    low: float,
    high: float,
    tol: float,
    max_iter: int,
) -> tuple[np.ndarray, int, float]:
    """Capping and raking alternating margin by margin until the capped weights meet every margin within tol."""
    # Capping all weights, then raking all of them, lets each undo the other: that converges only
    # linearly (by 0.96 a round on apiclus1) and cycles silently when the bounds cannot be met.
    # Capping inside each margin's step converges like raking itself, to the capped weights
    # closest to the raked ones (bounded raking), and never settles when margins and bounds clash.
    uncapped = start.copy()
    weights = np.clip(uncapped, low, high)
    error = _max_margin_error(weights, calibration)
    for iteration in range(max_iter + 1):
        if error <= tol:
            return weights, iteration, error
        for margin in calibration.margins:
            uncapped *= _capped_factors(uncapped, margin, low, high)[margin.codes]
        weights = np.clip(uncapped, low, high)
        error = _max_margin_error(weights, calibration)
    margin = max(calibration.margins, key=lambda m: _margin_errors(weights, m).max())
    errors = _margin_errors(weights, margin)
    raise WeightingError(
        f"weights in [{low:g}, {high:g}] cannot also meet margin {margin.name!r}: category "
        f"{margin.labels[int(errors.argmax())]!r} is still {errors.max():.3g} off its total "
        f"after {max_iter} iterations of capping and raking"
    )


def _capped_factors(uncapped: np.ndarray, margin: _Margin, low: float, high: float) -> np.ndarray:
    """Per category k the factor a with Σ_k clip(a·u, low, high) = T_k, by Newton steps kept inside a bracket."""
    n = len(margin.targets)
    mass = np.bincount(margin.codes, uncapped, minlength=n)
    _adjustment(mass, margin)  # raises for a category left with no weight
    factor = np.ones(n)
    below, above = np.zeros(n), np.full(n, np.inf)
    # well inside the fit's tolerance, yet above the rounding of sums over many rows
    close_enough = 1e-12 * np.where(margin.targets > 0, margin.targets, margin.targets.sum())
    for _ in range(_CAP_SOLVER_STEPS):
        scaled = factor[margin.codes] * uncapped
        gap = np.bincount(margin.codes, np.clip(scaled, low, high), minlength=n) - margin.targets
        if (np.abs(gap) <= close_enough).all():
            break
        below = np.where(gap < 0, factor, below)
        above = np.where(gap > 0, factor, above)
        free = (scaled > low) & (scaled < high)
        slope = np.bincount(margin.codes, np.where(free, uncapped, 0.0), minlength=n)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = factor - gap / slope
        # the sum is piecewise linear in a: Newton is exact once in the right piece; else bisect
        bisect = np.where(np.isinf(above), 2 * factor, (below + above) / 2)
        inside = (slope > 0) & (newton > below) & (newton < above)
        updated = np.where(gap == 0, factor, np.where(inside, newton, bisect))
        if (updated == factor).all():  # rounding: no step can do better
            break
        factor = updated
    return factor


def _fit(
    base: np.ndarray, calibration: _Calibration, tol: float, max_iter: int
) -> tuple[np.ndarray, int, float]:
    """Raked weights base·factor[cell], the sweeps it took and the largest relative margin error left."""
    cells = calibration.cells
    cell_weights = np.bincount(cells.cell, base, minlength=len(cells.rows))
    factor, iterations, error = _fit_cells(
        cell_weights, cells.margins, calibration.margins, tol, max_iter
    )
    return base * factor[cells.cell], iterations, error


def _fit_cells(
    cell_weights: np.ndarray,
    cell_margins: tuple[np.ndarray, ...],
    margins: tuple[_Margin, ...],
    tol: float,
    max_iter: int,
) -> tuple[np.ndarray, int, float]:
    """Iterative proportional fitting on the joint cell table: one factor per cell."""
    factor = np.ones(len(cell_weights))
    for iteration in range(1, max_iter + 1):
        for codes, margin in zip(cell_margins, margins, strict=True):
            achieved = np.bincount(codes, cell_weights * factor, minlength=len(margin.targets))
            factor *= _adjustment(achieved, margin)[codes]
        errors = [
            _relative_errors(np.bincount(codes, cell_weights * factor, minlength=len(m.targets)), m)
            for codes, m in zip(cell_margins, margins, strict=True)
        ]
        worst = max(float(e.max()) for e in errors)
        if worst <= tol:
            return factor, iteration, worst
    margin, errors = max(zip(margins, errors, strict=True), key=lambda pair: pair[1].max())
    category = margin.labels[int(errors.argmax())]
    raise WeightingError(
        f"raking did not converge in {max_iter} iterations: margin {margin.name!r} category "
        f"{category!r} is still {errors.max():.3g} off its total (relative; tol {tol:g})"
    )


def _adjustment(achieved: np.ndarray, margin: _Margin) -> np.ndarray:
    """Factor target/achieved per category; a category left with no weight cannot be reached."""
    starved = (achieved <= 0) & (margin.targets > 0)
    if starved.any():
        k = int(np.flatnonzero(starved)[0])
        raise WeightingError(
            f"margin {margin.name!r} category {margin.labels[k]!r} needs a total of "
            f"{margin.targets[k]:g} but its respondents have no weight left (other margins "
            "gave their categories a zero total)"
        )
    return np.divide(margin.targets, achieved, out=np.ones(len(achieved)), where=achieved > 0)


def _relative_errors(achieved: np.ndarray, margin: _Margin) -> np.ndarray:
    """|achieved − T|/T per category; against the margin's grand total where T = 0."""
    scale = np.where(margin.targets > 0, margin.targets, margin.targets.sum())
    return np.abs(achieved - margin.targets) / scale


def _margin_errors(weights: np.ndarray, margin: _Margin) -> np.ndarray:
    return _relative_errors(
        np.bincount(margin.codes, weights, minlength=len(margin.targets)), margin
    )


def _max_margin_error(weights: np.ndarray, calibration: _Calibration) -> float:
    return max(float(_margin_errors(weights, m).max()) for m in calibration.margins)


def _bounds(lower: float | None, upper: float | None) -> tuple[float, float]:
    low = 0.0 if lower is None else float(lower)
    high = math.inf if upper is None else float(upper)
    if math.isnan(low) or math.isnan(high) or low < 0 or low > high:
        raise WeightingError(f"trim bounds must satisfy 0 ≤ lower ≤ upper, got [{lower}, {upper}]")
    return low, high


def _check_bounds_reachable(calibration: _Calibration, low: float, high: float) -> None:
    """n_k·lower ≤ T_k ≤ n_k·upper for every category k: else no bounded weights can meet T_k."""
    for margin in calibration.margins:
        rows = np.bincount(margin.codes, minlength=len(margin.targets))
        with np.errstate(invalid="ignore"):
            unreachable = (rows * low > margin.targets * (1 + BOUND_TOLERANCE)) | (
                rows * high < margin.targets * (1 - BOUND_TOLERANCE)
            )
        if unreachable.any():
            k = int(np.flatnonzero(unreachable)[0])
            raise WeightingError(
                f"margin {margin.name!r} category {margin.labels[k]!r}: {rows[k]} respondents "
                f"cannot carry a total of {margin.targets[k]:g} with weights in [{low:g}, {high:g}]"
            )


def _check_fit_options(tol: float, max_iter: int) -> None:
    if not tol > 0:
        raise WeightingError(f"tol must be positive, got {tol}")
    if max_iter < 1:
        raise WeightingError(f"max_iter must be at least 1, got {max_iter}")


def _check_totals_agree(margins: tuple[_Margin, ...], tol: float) -> None:
    """Every margin must sum to the same population: otherwise raking can never meet them all."""
    first = margins[0]
    for margin in margins[1:]:
        if abs(margin.targets.sum() - first.targets.sum()) > tol * first.targets.sum():
            raise WeightingError(
                f"margin totals disagree: {first.name!r} sums to {first.targets.sum():g}, "
                f"{margin.name!r} to {margin.targets.sum():g}"
            )


# --- margins and cells --------------------------------------------------------------------


def _cells(coded: list[tuple[np.ndarray, list]]) -> _Cells:
    """The joint cells of (codes, labels) codings."""
    cell, cell_codes, rows = _joint_cells(
        [c for c, _ in coded], [len(labels) for _, labels in coded]
    )
    return _Cells(cell, rows, tuple(cell_codes))


def _rows_per_code(cell_codes: np.ndarray, cells: _Cells, labels: list) -> np.ndarray:
    """Respondents per category of one coding, from the cell table rather than the rows."""
    return np.bincount(cell_codes, cells.rows, minlength=len(labels))


def _cell_labels(coded: list[tuple[np.ndarray, list]], cells: _Cells) -> list[tuple]:
    """Each joint cell as the tuple of its categories."""
    per_cell = zip(*(codes.tolist() for codes in cells.margins), strict=True)
    return [tuple(labels[k] for (_, labels), k in zip(coded, key, strict=True)) for key in per_cell]


def _with_targets(
    name: str, codes: np.ndarray, labels: list, totals: Mapping, rows: np.ndarray
) -> _Margin:
    """The margin with its population total per code; every category with respondents needs one."""
    if not isinstance(totals, Mapping) or not totals:
        raise WeightingError(f"margin {name!r} needs totals: {{category: population total}}")
    code_of = {labels[k]: int(k) for k in np.flatnonzero(rows)}
    targets = np.zeros(len(labels))
    for category, total in totals.items():
        value = _population_total(name, category, total)
        k = code_of.get(category)
        if k is None:
            if value > 0:
                raise WeightingError(
                    f"margin {name!r} category {category!r} has a population total of {value:g} "
                    "but no respondents in the sample"
                )
            continue
        targets[k] = value
    uncovered = [category for category in code_of if category not in totals]
    if uncovered:
        raise WeightingError(
            f"margin {name!r} has no population total for categories found in the sample: "
            f"{uncovered}"
        )
    if not targets.sum() > 0:
        raise WeightingError(f"margin {name!r} has no positive population total")
    return _Margin(name, labels, codes, targets)


def _population_total(name: str, category: Hashable, total: object) -> float:
    try:
        value = float(total)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise WeightingError(
            f"margin {name!r} category {category!r}: population total must be a finite number "
            f"≥ 0, got {total!r}"
        )
    return value


def _joint_cells(
    codes: list[np.ndarray], sizes: list[int]
) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """Joint cell of several codings: a cell index per row over occupied cells, each cell's code in every coding, rows per cell."""
    cell = np.zeros(len(codes[0]), dtype=np.int64)
    cell_codes: list[np.ndarray] = []
    n_cells = 1
    for column, size in zip(codes, sizes, strict=True):
        if n_cells > 1:
            cell *= size
        cell += column
        if n_cells * size <= _DENSE_CELLS:
            parent, own = np.divmod(np.arange(n_cells * size), size)
        else:
            cell, keys = pd.factorize(cell)
            parent, own = np.divmod(np.asarray(keys), size)
        cell_codes = [c[parent] for c in cell_codes] + [own]
        n_cells = len(own)
    rows = np.bincount(cell, minlength=n_cells)
    occupied = np.flatnonzero(rows)
    if len(occupied) < n_cells:
        # empty cells would only cost time: renumber the occupied ones
        renumber = np.zeros(n_cells, dtype=np.int64)
        renumber[occupied] = np.arange(len(occupied))
        cell = renumber[cell]
        cell_codes = [c[occupied] for c in cell_codes]
    return cell, cell_codes, rows[occupied]


# --- columns ------------------------------------------------------------------------------


def _column(frame: pd.DataFrame, column: str, role: str) -> pd.Series:
    if column not in frame.columns:
        raise WeightingError(f"{role} column {column!r} is not in the frame")
    return frame[column]


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _numeric(frame: pd.DataFrame, column: str, role: str) -> np.ndarray:
    series = _column(frame, column, role)
    if not _is_numeric(series):
        raise WeightingError(f"{role} column {column!r} must be numeric, not {series.dtype}")
    values = np.array(series.to_numpy(dtype=float, na_value=np.nan), dtype=float)
    missing = np.isnan(values)
    if missing.any():
        raise WeightingError(
            f"{role} column {column!r} has missing values{_first_row(frame, missing)}"
        )
    return values


def _category_codes(
    frame: pd.DataFrame, column: str, role: str, allow_missing: bool = False
) -> tuple[np.ndarray, list]:
    """Integer code per row (−1 when missing) and the category of each code, in sorted or category order."""
    series = _column(frame, column, role)
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy().astype(np.intp)
        labels = series.cat.categories.tolist()
    elif _is_small_nonnegative_int(series):
        # already integer-coded: the values are the codes, no hashing needed
        codes = series.to_numpy().astype(np.intp, copy=False)
        labels = list(range(int(codes.max()) + 1))
    else:
        codes, labels = _factorize(series)
    missing = codes < 0
    if not allow_missing and missing.any():
        raise WeightingError(
            f"{role} column {column!r} has missing values{_first_row(frame, missing)}"
        )
    return codes, labels


def _is_small_nonnegative_int(series: pd.Series) -> bool:
    if series.dtype.kind not in "iu":
        return False
    values = series.to_numpy()
    return bool(values.min() >= 0 and values.max() < _SMALL_INT_CODES)


def _factorize(series: pd.Series) -> tuple[np.ndarray, list]:
    try:
        codes, uniques = pd.factorize(series, sort=True)
    except TypeError:  # mixed types cannot be sorted: keep order of appearance
        codes, uniques = pd.factorize(series, sort=False)
    return np.asarray(codes, dtype=np.intp), uniques.tolist()


def _observed(codes: np.ndarray, n_labels: int) -> np.ndarray:
    """Codes with at least one row (code −1, missing, is not one)."""
    counted = codes if codes.min() >= 0 else codes[codes >= 0]
    return np.flatnonzero(np.bincount(counted, minlength=n_labels))


def _first_row(frame: pd.DataFrame, mask: np.ndarray) -> str:
    return f" (first at row {frame.index[int(np.argmax(mask))]!r})"


def _base_weights(frame: pd.DataFrame, column: str | None) -> np.ndarray:
    """The weights column, or 1 per row; every weight finite and > 0."""
    if column is None:
        return np.ones(len(frame))
    values = _numeric(frame, column, "weights")
    bad = ~(np.isfinite(values) & (values > 0))
    if bad.any():
        raise WeightingError(
            f"weights column {column!r} must be finite and positive: {int(bad.sum())} rows are "
            f"not{_first_row(frame, bad)}"
        )
    return values


def _psu_layout(
    frame: pd.DataFrame, strata: str | None, clusters: str | None, fpc: str | None
) -> tuple[PsuLayout, list]:
    """PSU per row, stratum per PSU and (1 − f_h)·n_h/(n_h − 1) per stratum; also the strata with a lonely PSU."""
    if strata is None:
        stratum, stratum_labels = np.zeros(len(frame), dtype=np.intp), [None]
    else:
        stratum, stratum_labels = _category_codes(frame, strata, "strata")
    if clusters is None:
        psu, psu_stratum = None, stratum
    else:
        cluster, cluster_labels = _category_codes(frame, clusters, "clusters")
        # clusters are nested in strata: the same id in two strata is two PSUs
        psu, keys = pd.factorize(stratum.astype(np.int64) * len(cluster_labels) + cluster)
        psu_stratum = np.asarray(keys) // len(cluster_labels)
    psus = np.bincount(psu_stratum, minlength=len(stratum_labels))
    unsampled = 1.0 - _sampling_fractions(frame, fpc, stratum, psus, stratum_labels)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(psus > 1, unsampled * psus / (psus - 1), unsampled)
    scale[psus == 0] = 0.0
    # R: a stratum whose 1 − f is below 1e-7 is self-representing and adds no variance
    lonely = [stratum_labels[h] for h in np.flatnonzero((psus == 1) & (unsampled >= 1e-7))]
    return PsuLayout(psu, psu_stratum, psus, scale), lonely


def _sampling_fractions(
    frame: pd.DataFrame, fpc: str | None, stratum: np.ndarray, psus: np.ndarray, labels: list
) -> np.ndarray:
    """f_h per stratum from the fpc column: fractions when all ≤ 1, else n_h / N_h; 0 without fpc."""
    if fpc is None:
        return np.zeros(len(labels))
    values = _numeric(frame, fpc, "fpc")
    if not (values > 0).all():
        raise WeightingError(f"fpc column {fpc!r} must be positive")
    per_stratum = pd.Series(values).groupby(stratum).agg(["min", "max"])
    varying = per_stratum.index[per_stratum["min"] != per_stratum["max"]]
    if len(varying):
        raise WeightingError(f"fpc column {fpc!r} varies within {_stratum(labels[varying[0]])}")
    value = per_stratum["max"].reindex(range(len(labels))).to_numpy()
    if (values <= 1).all():
        return np.nan_to_num(value)
    if not (values >= 1).all():
        raise WeightingError(
            f"fpc column {fpc!r} mixes sampling fractions (< 1) and population counts (> 1)"
        )
    too_small = np.flatnonzero(value < psus)
    if len(too_small):
        h = too_small[0]
        raise WeightingError(
            f"fpc column {fpc!r} gives {_stratum(labels[h])} a population of {value[h]:g} PSUs "
            f"but {psus[h]} were sampled"
        )
    return np.nan_to_num(psus / value)


def _stratum(label: Hashable) -> str:
    return "the population" if label is None else f"stratum {label!r}"


def _estimate(value: float, variance: float, count: int) -> Estimate:
    """se = √variance; NaN value and se for a domain without respondents."""
    if count == 0:
        return Estimate(math.nan, math.nan, 0)
    return Estimate(float(value), math.sqrt(max(float(variance), 0.0)), int(count))
