"""Properties of raking, trimming and post-stratification on random samples."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.weighting import Design, poststratify, rake, trim

FAST = settings(max_examples=60, deadline=None)

LOWER, UPPER = 0.5, 3.0


@st.composite
def samples(draw) -> tuple[pd.DataFrame, list[str], np.random.Generator]:
    """A sample with 2–3 categorical variables (every category present), base weights, strata,
    clusters nested in them, an fpc and an analysis variable."""
    rows = draw(st.integers(24, 150))
    sizes = draw(st.lists(st.integers(2, 4), min_size=2, max_size=3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    variables = [f"v{i}" for i in range(len(sizes))]
    frame = pd.DataFrame(
        {
            name: np.concatenate([np.arange(size), rng.integers(0, size, rows - size)])
            for name, size in zip(variables, sizes, strict=True)
        }
    )
    frame = frame.assign(
        w=rng.uniform(0.2, 6.0, rows),
        x=rng.normal(50, 10, rows),
        stratum=np.arange(rows) % 2,
        psu=(np.arange(rows) // 2) % 4,
        fpc=40,
    )
    frame[variables[0]] = frame[variables[0]].map(lambda k: f"c{k}")  # one column of labels
    return frame, variables, rng


def totals_of(frame: pd.DataFrame, variables: list[str], weights: np.ndarray) -> dict:
    """Margins that `weights` meet exactly: a feasible raking problem."""
    return {v: pd.Series(weights).groupby(frame[v].to_numpy()).sum().to_dict() for v in variables}


def achieved(frame: pd.DataFrame, variable: str, weights: np.ndarray) -> dict:
    return pd.Series(weights).groupby(frame[variable].to_numpy()).sum().to_dict()


@FAST
@given(samples())
def test_raking_reproduces_every_margin(sample):
    frame, variables, rng = sample
    margins = totals_of(frame, variables, frame["w"].to_numpy() * rng.uniform(0.3, 3, len(frame)))
    raked = rake(Design(frame, weights="w"), margins)
    for variable, totals in margins.items():
        assert achieved(frame, variable, raked.weights) == pytest.approx(totals, rel=1e-9)
    assert raked.max_margin_error <= 1e-10
    assert raked.weights.sum() == pytest.approx(sum(margins[variables[0]].values()))


@FAST
@given(samples())
def test_trimmed_weights_stay_within_feasible_bounds_and_meet_the_margins(sample):
    frame, variables, rng = sample
    # the margins of weights strictly inside the bounds: bounds and margins can both be met
    margins = totals_of(frame, variables, rng.uniform(LOWER * 1.1, UPPER * 0.9, len(frame)))
    trimmed = trim(rake(Design(frame, weights="w"), margins), lower=LOWER, upper=UPPER)
    assert trimmed.weights.min() >= LOWER
    assert trimmed.weights.max() <= UPPER
    for variable, totals in margins.items():
        assert achieved(frame, variable, trimmed.weights) == pytest.approx(totals, rel=1e-9)


@FAST
@given(samples())
def test_permuting_respondents_permutes_weights_and_keeps_estimates(sample):
    frame, variables, rng = sample
    margins = totals_of(frame, variables, frame["w"].to_numpy() * rng.uniform(0.3, 3, len(frame)))
    order = rng.permutation(len(frame))
    shuffled = frame.iloc[order].reset_index(drop=True)
    design_args = {"weights": "w", "strata": "stratum", "clusters": "psu", "fpc": "fpc"}
    raked = rake(Design(frame, **design_args), margins)
    reraked = rake(Design(shuffled, **design_args), margins)
    np.testing.assert_allclose(reraked.weights, raked.weights[order], rtol=1e-8)
    for statistic in ("mean", "total"):
        before, after = getattr(raked, statistic)("x"), getattr(reraked, statistic)("x")
        assert after.value == pytest.approx(before.value, rel=1e-9)
        assert after.se == pytest.approx(before.se, rel=1e-7)
        by_before = getattr(raked, statistic)("x", by=variables[0])
        by_after = getattr(reraked, statistic)("x", by=variables[0])
        assert by_after.keys() == by_before.keys()
        for domain, estimate in by_before.items():
            assert by_after[domain].value == pytest.approx(estimate.value, rel=1e-9)
            assert by_after[domain].se == pytest.approx(estimate.se, rel=1e-7)


@FAST
@given(samples(), st.data())
def test_poststratify_matches_every_cell_total_exactly(sample, data):
    frame, variables, rng = sample
    by = variables[:2]
    cells = frame.groupby(by).size().index
    totals = {cell: float(rng.uniform(1, 1000)) for cell in cells}
    result = poststratify(Design(frame, weights="w"), by=by, totals=totals)
    found = pd.Series(result.weights).groupby([frame[v] for v in by]).sum()
    for cell, total in totals.items():
        assert found[cell] == pytest.approx(total, rel=1e-12)
    # within a cell the weights keep their ratios
    ratio = pd.Series(result.weights / frame["w"].to_numpy()).groupby([frame[v] for v in by])
    np.testing.assert_allclose(ratio.min(), ratio.max(), rtol=1e-12)


@FAST
@given(samples())
def test_poststratify_on_one_variable_equals_raking_on_it(sample):
    frame, variables, rng = sample
    totals = {k: float(rng.uniform(1, 100)) for k in frame[variables[1]].unique()}
    design = Design(frame, weights="w")
    post = poststratify(design, by=variables[1], totals=totals)
    raked = rake(design, {variables[1]: totals})
    np.testing.assert_allclose(post.weights, raked.weights, rtol=1e-12)
    assert post.mean("x").value == pytest.approx(raked.mean("x").value, rel=1e-12)
