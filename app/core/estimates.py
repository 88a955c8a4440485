"""Design-based estimates: weighted means and totals with linearized standard errors, as R's survey.

Everything here works on numpy arrays in frame order; app.core.weighting turns a frame and its
design columns into these arrays and checks them. An estimate over a domain (svyby, or the rows
where the analysis variable is not missing) keeps the whole design: the influence function is zero
outside the domain, so PSUs without a row in the domain still count in the variance, as in R.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

Z95 = 1.959964

# R's svyrecvar backfits the residuals of a raking over its margins in exactly this many sweeps.
RAKING_VARIANCE_SWEEPS = 10


@dataclass(frozen=True)
class Estimate:
    """A point estimate, its linearized standard error and the respondents it rests on (n)."""

    value: float
    se: float
    n: int

    @property
    def ci95(self) -> tuple[float, float]:
        """Normal 95% interval value ± 1.959964·se (NaN bounds when se is NaN)."""
        return (self.value - Z95 * self.se, self.value + Z95 * self.se)


@dataclass(frozen=True)
class PsuLayout:
    """Where each row sits in the sampling design: its PSU, each PSU's stratum, each stratum's scale."""

    psu: np.ndarray | None  # PSU index per row; None when every row is its own PSU
    psu_stratum: np.ndarray  # stratum index per PSU
    stratum_psus: np.ndarray  # PSUs sampled per stratum, n_h
    stratum_scale: np.ndarray  # (1 - f_h)·n_h/(n_h - 1) per stratum, (1 - f_h) when n_h = 1


@dataclass(frozen=True)
class CalibrationStep:
    """One post-stratification or raking as the variance needs it (an entry of R's postStrata)."""

    weights: np.ndarray  # the weights right after this step
    cell: np.ndarray  # joint cell of the margins per row
    cell_rows: np.ndarray  # rows per cell
    margins: tuple[np.ndarray, ...]  # per margin, the category of each cell
    raking: bool  # raking: 10 sweeps of unweighted means; post-stratification: one weighted pass


def domain_means(
    x: np.ndarray, weights: np.ndarray, domain: np.ndarray, n_domains: int
) -> tuple[np.ndarray, np.ndarray]:
    """Ratio means Σw·x/Σw per domain d (NaN for an empty domain) and the influence (x − mean_d)·w/Σ_d w, 0 outside every domain."""
    bins, n_bins, w, xs = _in_domains(x, weights, domain, n_domains)
    weight_sums = _sums(bins, w, n_bins)
    # an extra bin (rows outside) and domains whose weights are all zero get mean 0, scale 0
    has_weight = weight_sums > 0
    has_weight[n_domains:] = False
    means = np.divide(
        _sums(bins, w * xs, n_bins), weight_sums, out=np.zeros(n_bins), where=has_weight
    )
    scale = np.divide(1.0, weight_sums, out=np.zeros(n_bins), where=has_weight)
    influence = (xs - _at(means, bins)) * w * _at(scale, bins)
    return np.where(has_weight, means, np.nan)[:n_domains], influence


def domain_totals(
    x: np.ndarray, weights: np.ndarray, domain: np.ndarray, n_domains: int
) -> tuple[np.ndarray, np.ndarray]:
    """Totals Σw·x per domain d and the influence w·x, 0 outside every domain."""
    bins, n_bins, w, xs = _in_domains(x, weights, domain, n_domains)
    influence = w * xs
    return _sums(bins, influence, n_bins)[:n_domains], influence


def _in_domains(x, weights, domain, n_domains):
    """Bin per row, number of bins, weights and x: rows outside every domain go to an extra bin with weight 0 and x 0 (NaN there is harmless)."""
    inside = domain >= 0
    if inside.all():
        return domain, n_domains, weights, x
    bins = np.where(inside, domain, n_domains)
    return bins, n_domains + 1, np.where(inside, weights, 0.0), np.where(inside, x, 0.0)


def _sums(groups: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Σ values per group; a plain sum for a single group (np.bincount with weights is ~20× slower)."""
    if n_groups == 1:
        return np.array([values.sum()])
    return np.bincount(groups, values, minlength=n_groups)


def group_sizes(groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Rows per group, ignoring rows in group −1."""
    if n_groups == 1:
        return np.array([np.count_nonzero(groups >= 0)])
    return np.bincount(groups[groups >= 0], minlength=n_groups)


def _at(per_group: np.ndarray, groups: np.ndarray) -> np.ndarray | float:
    """Each row's group value; a scalar for a single group, to broadcast instead of gathering."""
    return per_group[0] if len(per_group) == 1 else per_group[groups]


def calibration_residuals(influence: np.ndarray, steps: tuple[CalibrationStep, ...]) -> np.ndarray:
    """The influence after each calibration step in turn: residuals on the cell means, as R's svyrecvar."""
    for step in steps:
        influence = (
            _raking_residuals(influence, step)
            if step.raking
            else _poststratum_residuals(influence, step)
        )
    return influence


def _poststratum_residuals(x: np.ndarray, step: CalibrationStep) -> np.ndarray:
    """x − w·Σ_cell x/Σ_cell w: R's post-stratification branch (oldweights-weighted cell means)."""
    n_cells = len(step.cell_rows)
    cell_x = np.bincount(step.cell, x, minlength=n_cells)
    cell_w = np.bincount(step.cell, step.weights, minlength=n_cells)
    cell_mean = np.divide(cell_x, cell_w, out=np.zeros(n_cells), where=cell_w > 0)
    return x - step.weights * cell_mean[step.cell]


def _raking_residuals(x: np.ndarray, step: CalibrationStep) -> np.ndarray:
    """x − w·offset[cell]: 10 backfitting sweeps z ← z − mean_category(z) over the margins, z = x/w (R's raking branch)."""
    # a category mean of z only needs the cells' sums of z, so the sweeps run on the cell table
    n_cells = len(step.cell_rows)
    z = np.divide(x, step.weights, out=np.zeros_like(x), where=step.weights > 0)
    cell_sum = np.bincount(step.cell, z, minlength=n_cells)
    offset = np.zeros(n_cells)
    category_rows = [np.bincount(codes, step.cell_rows) for codes in step.margins]
    for _ in range(RAKING_VARIANCE_SWEEPS):
        for codes, rows in zip(step.margins, category_rows, strict=True):
            remaining = np.bincount(codes, cell_sum - step.cell_rows * offset, minlength=len(rows))
            offset += np.divide(remaining, rows, out=np.zeros(len(rows)), where=rows > 0)[codes]
    return x - step.weights * offset[step.cell]


def domain_variances(
    influence: np.ndarray, domain: np.ndarray, n_domains: int, layout: PsuLayout
) -> np.ndarray:
    """Per domain d: Σ_h (1−f_h)·n_h/(n_h−1)·Σ_p (t_dp − t̄_dh)², t_dp the PSU totals of the influence in d; PSUs without rows in d count as zeros."""
    n_strata = len(layout.stratum_psus)
    if layout.psu is None:
        # every row is a PSU and lies in one domain at most
        totals, pair_domain, pair_stratum = influence, domain, layout.psu_stratum
    elif n_domains == 1:
        # the influence is 0 outside the domain, so plain PSU totals are the domain's
        totals = np.bincount(layout.psu, influence, minlength=len(layout.psu_stratum))
        pair_domain, pair_stratum = np.zeros(len(totals), dtype=np.intp), layout.psu_stratum
    else:
        pair_domain, pair_stratum, totals = _psu_totals(influence, domain, layout)
    # (domain, stratum) groups; PSUs outside every domain fall in an extra domain, dropped below
    n_bins = n_domains
    if (pair_domain < 0).any():
        pair_domain, n_bins = np.where(pair_domain >= 0, pair_domain, n_domains), n_domains + 1
    group = pair_domain if n_strata == 1 else pair_domain * n_strata + pair_stratum
    size = n_bins * n_strata
    psus = np.tile(layout.stratum_psus, n_bins).astype(float)
    present = group_sizes(group, size)
    mean = np.divide(_sums(group, totals, size), psus, out=np.zeros(size), where=psus > 0)
    deviation = totals - _at(mean, group)
    # the stratum's PSUs with no row in the domain have total 0: deviation −mean each
    squares = _sums(group, deviation * deviation, size) + (psus - present) * mean**2
    scaled = squares * np.tile(layout.stratum_scale, n_bins)
    return scaled.reshape(n_bins, n_strata)[:n_domains].sum(axis=1)


def _psu_totals(influence, domain, layout):
    """(domain, stratum, total) of every PSU with rows in a domain."""
    n_psu = len(layout.psu_stratum)
    inside = domain >= 0
    key = domain[inside].astype(np.int64) * n_psu + layout.psu[inside]
    pair, keys = pd.factorize(key)
    totals = np.bincount(pair, influence[inside], minlength=len(keys))
    keys = np.asarray(keys)
    return keys // n_psu, layout.psu_stratum[keys % n_psu], totals
