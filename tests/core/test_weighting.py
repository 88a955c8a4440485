"""Designs, raking, post-stratification and trimming against R's survey package, and their errors."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app.core.estimates import Z95
from app.core.weighting import Design, WeightingError, poststratify, rake, trim

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "weighting"
VALUES = pd.read_csv(REFERENCE / "r_reference_values.csv")

STYPE = {"E": 4421, "H": 755, "M": 1018}
SCH_WIDE = {"No": 1072, "Yes": 5122}
COMP_IMP = {"No": 1712, "Yes": 4482}


@pytest.fixture(scope="module")
def apiclus1() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "apiclus1.csv")


@pytest.fixture(scope="module")
def apistrat() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "apistrat.csv")


@pytest.fixture(scope="module")
def dclus1(apiclus1) -> Design:
    return Design(apiclus1, weights="pw", clusters="dnum", fpc="fpc")


@pytest.fixture(scope="module")
def dstrat(apistrat) -> Design:
    return Design(apistrat, weights="pw", strata="stype", fpc="fpc")


@pytest.fixture(scope="module")
def cases(dclus1, dstrat) -> dict[str, Design]:
    """The designs of the reference README, by case name."""
    return {
        "A0_dclus1": dclus1,
        "A1_poststrat_stype": poststratify(dclus1, by=["stype"], totals=STYPE),
        "A3_rake_converged": rake(dclus1, {"stype": STYPE, "sch.wide": SCH_WIDE}),
        "B0_dstrat": dstrat,
        "B1_dstrat_rake": rake(dstrat, {"sch.wide": SCH_WIDE, "comp.imp": COMP_IMP}),
    }


# --- R's numbers ----------------------------------------------------------------------------


def _reference_rows(statistic_kind: str) -> list:
    rows = VALUES[VALUES["statistic"] == "weights"]
    if statistic_kind == "estimates":
        rows = VALUES[VALUES["statistic"] != "weights"]
    return [
        pytest.param(row, id=f"{row.case}/{row.statistic}/{row.term}")
        for row in rows.itertuples(index=False)
    ]


@pytest.mark.parametrize("row", _reference_rows("estimates"))
def test_estimates_and_standard_errors_match_r(cases, row):
    design = cases[row.case]
    if row.term.startswith("stype"):  # svymean(~stype): the proportion of one category
        estimate = design.mean("stype")[row.term.removeprefix("stype")]
    elif row.statistic == "svymean":
        estimate = design.mean(row.term)
    else:
        estimate = design.total(row.term)
    assert estimate.value == pytest.approx(row.estimate, rel=1e-8)
    if row.case == "A3_rake_converged" and row.term.startswith("stype"):
        # an exactly calibrated proportion: R's SE (~1e-15) is rounding noise
        assert estimate.se == pytest.approx(row.se, abs=1e-9)
    else:
        assert estimate.se == pytest.approx(row.se, rel=1e-8)


@pytest.mark.parametrize("row", _reference_rows("weights"))
def test_weight_summaries_match_r(cases, row):
    design = cases[row.case]
    weights = design.weights
    found = {
        "min": weights.min(),
        "max": weights.max(),
        "sum": weights.sum(),
        "kish_neff": design.n_effective,
    }[row.term]
    assert found == pytest.approx(row.estimate, rel=1e-9)


@pytest.mark.parametrize(
    ("case", "data", "column"),
    [
        ("A3_rake_converged", "apiclus1", "w_A3_rake_converged"),
        ("B1_dstrat_rake", "apistrat", "w_B1_dstrat_rake"),
    ],
)
def test_raked_weights_match_r_row_by_row(cases, request, case, data, column):
    expected = pd.read_csv(REFERENCE / f"{data}_r_weights.csv")
    frame = request.getfixturevalue(data)
    assert (expected["snum"].to_numpy() == frame["snum"].to_numpy()).all()
    np.testing.assert_allclose(cases[case].weights, expected[column], rtol=1e-9)


def test_domain_means_match_the_svyby_example_of_r_documentation(dclus1):
    # ?svyby in R's survey: svyby(~api99, ~stype, dclus1, svymean)
    found = dclus1.mean("api99", by="stype")
    expected = {"E": (607.7917, 22.81660), "H": (595.7143, 41.76400), "M": (608.6000, 32.56064)}
    assert list(found) == ["E", "H", "M"]
    for stype, (value, se) in expected.items():
        assert found[stype].value == pytest.approx(value, rel=1e-6)
        assert found[stype].se == pytest.approx(se, rel=1e-6)


# --- estimates ------------------------------------------------------------------------------


def test_ci95_is_value_plus_or_minus_1_959964_se(cases):
    estimate = cases["A3_rake_converged"].mean("api00")
    assert estimate.ci95 == (
        estimate.value - Z95 * estimate.se,
        estimate.value + Z95 * estimate.se,
    )
    assert Z95 == 1.959964


@pytest.mark.parametrize(
    "build",
    [
        lambda frame: Design(frame, weights="pw", clusters="dnum", fpc="fpc"),
        lambda frame: rake(
            Design(frame, weights="pw", clusters="dnum", fpc="fpc"),
            {"stype": STYPE, "sch.wide": SCH_WIDE},
        ),
        lambda frame: poststratify(
            Design(frame, weights="pw", clusters="dnum", fpc="fpc"), by="stype", totals=STYPE
        ),
    ],
    ids=["plain", "raked", "poststratified"],
)
def test_a_domain_estimate_equals_the_estimate_with_other_rows_missing(apiclus1, build):
    by_domain = build(apiclus1).mean("api00", by="sch.wide")
    for category in ("No", "Yes"):
        masked = apiclus1.assign(y=apiclus1["api00"].where(apiclus1["sch.wide"] == category))
        alone = build(masked).mean("y")
        assert by_domain[category].value == pytest.approx(alone.value, rel=1e-12)
        assert by_domain[category].se == pytest.approx(alone.se, rel=1e-10)
        assert by_domain[category].n == alone.n


def test_a_stratified_domain_total_equals_the_total_with_other_rows_missing(apistrat):
    design = Design(apistrat, weights="pw", strata="stype", fpc="fpc")
    by_domain = design.total("enroll", by="comp.imp")
    for category in ("No", "Yes"):
        masked = apistrat.assign(y=apistrat["enroll"].where(apistrat["comp.imp"] == category))
        alone = Design(masked, weights="pw", strata="stype", fpc="fpc").total("y")
        assert by_domain[category].value == pytest.approx(alone.value, rel=1e-12)
        assert by_domain[category].se == pytest.approx(alone.se, rel=1e-10)


def test_domain_mean_of_a_simple_random_sample_has_the_textbook_variance():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {"x": rng.normal(10, 2, 60), "w": rng.uniform(1, 3, 60), "g": rng.integers(0, 3, 60)}
    )
    found = Design(frame, weights="w").mean("x", by="g")
    x, w, n = frame["x"].to_numpy(), frame["w"].to_numpy(), len(frame)
    for g, estimate in found.items():
        inside = frame["g"].to_numpy() == g
        mean = np.sum(w[inside] * x[inside]) / w[inside].sum()
        u = np.where(inside, (x - mean) * w / w[inside].sum(), 0.0)
        variance = n / (n - 1) * np.sum((u - u.mean()) ** 2)
        assert estimate.value == pytest.approx(mean, rel=1e-12)
        assert estimate.se == pytest.approx(math.sqrt(variance), rel=1e-10)
        assert estimate.n == inside.sum()


def test_missing_values_leave_the_estimate_but_not_the_design(apiclus1):
    frame = apiclus1.assign(api00=apiclus1["api00"].where(apiclus1.index % 7 != 0))
    design = Design(frame, weights="pw", clusters="dnum", fpc="fpc")
    answered = frame["api00"].notna().map({True: "yes", False: "no"})
    with_missing = design.mean("api00")
    as_domain = Design(frame.assign(answered=answered), weights="pw", clusters="dnum", fpc="fpc")
    expected = as_domain.mean("api00", by="answered")["yes"]
    assert with_missing == expected
    assert with_missing.n == frame["api00"].notna().sum() < len(frame)


def test_a_categorical_column_gives_proportions_and_counts(cases):
    raked = cases["A3_rake_converged"]
    proportions = raked.mean("stype")
    counts = raked.total("stype")
    assert sum(e.value for e in proportions.values()) == pytest.approx(1)
    for category, total in STYPE.items():
        assert counts[category].value == pytest.approx(total, rel=1e-9)
        assert proportions[category].value == pytest.approx(total / 6194, rel=1e-9)


def test_categorical_by_domain_gives_proportions_per_domain(dstrat):
    found = dstrat.mean("sch.wide", by="stype")
    assert set(found) == {"E", "H", "M"}
    for per_category in found.values():
        assert sum(e.value for e in per_category.values()) == pytest.approx(1)


def test_a_plain_design_has_equal_weights_without_a_weights_column(apiclus1):
    design = Design(apiclus1)
    assert (design.weights == 1).all()
    assert design.n_effective == pytest.approx(len(apiclus1))
    assert design.design_effect == pytest.approx(1)
    assert design.mean("api00").value == pytest.approx(apiclus1["api00"].mean())


def test_design_effect_is_n_over_kish_n(cases):
    raked = cases["A3_rake_converged"]
    w = raked.weights
    assert raked.n_effective == pytest.approx(w.sum() ** 2 / (w @ w))
    assert raked.design_effect == pytest.approx(len(w) / raked.n_effective)


def test_weights_are_read_only_and_the_frame_is_not_changed(apiclus1):
    before = apiclus1.copy()
    raked = rake(Design(apiclus1, weights="pw"), {"stype": STYPE})
    with pytest.raises(ValueError, match="read-only"):
        raked.weights[0] = 1.0
    pd.testing.assert_frame_equal(apiclus1, before)


def test_fpc_as_sampling_fractions_equals_fpc_as_population_counts(apistrat):
    fractions = apistrat.assign(
        f=apistrat["stype"].map(apistrat["stype"].value_counts()) / apistrat["fpc"]
    )
    as_counts = Design(apistrat, weights="pw", strata="stype", fpc="fpc").total("enroll")
    as_fractions = Design(fractions, weights="pw", strata="stype", fpc="f").total("enroll")
    assert as_fractions.se == pytest.approx(as_counts.se, rel=1e-12)


def test_without_fpc_the_variance_is_with_replacement(apiclus1, dclus1):
    with_replacement = Design(apiclus1, weights="pw", clusters="dnum").mean("api00")
    f = 15 / 757
    assert dclus1.mean("api00").se == pytest.approx(with_replacement.se * math.sqrt(1 - f))


# --- raking and post-stratification ---------------------------------------------------------


def test_raking_reports_its_convergence(cases):
    raked = cases["A3_rake_converged"]
    assert raked.converged is True
    assert 1 < raked.iterations < 1000
    assert raked.max_margin_error <= 1e-10


def test_raking_that_does_not_converge_raises(dclus1):
    with pytest.raises(WeightingError, match="did not converge in 2 iterations: margin"):
        rake(dclus1, {"stype": STYPE, "sch.wide": SCH_WIDE}, tol=1e-12, max_iter=2)


def test_raking_on_integer_and_categorical_codes_equals_raking_on_labels(apistrat):
    coded = apistrat.assign(
        stype=apistrat["stype"].map({"E": 0, "H": 1, "M": 2}),
        sw=apistrat["sch.wide"].astype("category"),
    )
    by_label = rake(Design(apistrat, weights="pw"), {"stype": STYPE, "sch.wide": SCH_WIDE})
    by_code = rake(
        Design(coded, weights="pw"),
        {"stype": {0: 4421, 1: 755, 2: 1018}, "sw": SCH_WIDE},
    )
    np.testing.assert_allclose(by_code.weights, by_label.weights, rtol=1e-12)


def test_poststratify_on_two_variables_meets_every_cell_total(dclus1, apiclus1):
    totals = {
        ("E", "No"): 421,
        ("E", "Yes"): 4000,
        ("H", "No"): 255,
        ("H", "Yes"): 500,
        ("M", "No"): 396,
        ("M", "Yes"): 622,
    }
    result = poststratify(dclus1, by=["stype", "sch.wide"], totals=totals)
    achieved = pd.Series(result.weights).groupby([apiclus1["stype"], apiclus1["sch.wide"]]).sum()
    for cell, total in totals.items():
        assert achieved[cell] == pytest.approx(total, rel=1e-12)
    assert result.iterations == 1
    assert result.max_margin_error < 1e-12


def test_poststratify_keeps_weight_ratios_within_a_cell(apistrat):
    design = Design(apistrat, weights="pw")
    result = poststratify(design, by="sch.wide", totals=SCH_WIDE)
    ratio = (
        pd.Series(result.weights / design.weights).groupby(apistrat["sch.wide"]).agg(["min", "max"])
    )
    np.testing.assert_allclose(ratio["min"], ratio["max"], rtol=1e-12)


def test_a_category_with_a_zero_total_gets_zero_weights(apiclus1):
    result = rake(
        Design(apiclus1, weights="pw"),
        {"stype": {"E": 4421, "H": 0, "M": 1018}, "sch.wide": {"No": 1000, "Yes": 4439}},
    )
    assert (result.weights[apiclus1["stype"] == "H"] == 0).all()
    assert result.total("stype")["H"].value == 0
    assert math.isfinite(result.mean("api00").se)


# --- trimming -------------------------------------------------------------------------------


def test_trim_keeps_weights_within_bounds_and_meets_the_margins(cases, apiclus1):
    trimmed = trim(cases["A3_rake_converged"], lower=30, upper=60)
    assert trimmed.weights.min() >= 30 and trimmed.weights.max() <= 60
    assert trimmed.max_margin_error <= 1e-10
    by_stype = pd.Series(trimmed.weights).groupby(apiclus1["stype"]).sum()
    assert by_stype.to_dict() == pytest.approx(STYPE, rel=1e-9)
    assert trimmed.mean("api00").value == pytest.approx(641, abs=1)


def test_trim_with_bounds_already_met_changes_nothing(cases):
    raked = cases["A3_rake_converged"]
    trimmed = trim(raked, lower=1, upper=100)
    np.testing.assert_allclose(trimmed.weights, raked.weights, rtol=1e-12)


def test_trim_of_a_poststratification_stays_a_poststratification(dstrat, apistrat):
    result = poststratify(dstrat, by="sch.wide", totals=SCH_WIDE)
    assert result.weights.max() > 44
    trimmed = trim(result, upper=40)
    assert trimmed.weights.max() == pytest.approx(40)
    by_cell = pd.Series(trimmed.weights).groupby(apistrat["sch.wide"]).sum()
    assert by_cell.to_dict() == pytest.approx(SCH_WIDE, rel=1e-9)


def test_trim_bounds_that_a_category_cannot_meet_raise_naming_it(cases):
    with pytest.raises(WeightingError, match="margin 'stype' category 'H': 14 respondents"):
        trim(cases["A3_rake_converged"], lower=20, upper=45)


def test_trim_bounds_that_conflict_across_margins_raise_naming_a_margin(cases):
    # every category alone can be met; sch.wide No and comp.imp No together cannot
    with pytest.raises(WeightingError, match=r"cannot also meet margin '(sch\.wide|comp\.imp)'"):
        trim(cases["B1_dstrat_rake"], lower=20, upper=45)


def test_trim_needs_a_calibrated_design_and_sane_bounds(cases, dclus1):
    with pytest.raises(WeightingError, match="rake"):
        trim(dclus1, upper=50)
    with pytest.raises(WeightingError, match="lower ≤ upper"):
        trim(cases["A3_rake_converged"], lower=50, upper=40)


# --- impossible inputs ----------------------------------------------------------------------


def test_a_sample_cell_without_respondents_but_with_a_population_raises(dclus1):
    with pytest.raises(
        WeightingError,
        match="margin 'stype' category 'X' has a population total of 10 but no respondents",
    ):
        rake(dclus1, {"stype": {**STYPE, "X": 10}})


def test_an_empty_category_with_a_zero_total_is_fine(dclus1):
    result = rake(dclus1, {"stype": {**STYPE, "X": 0}})
    assert result.weights.sum() == pytest.approx(6194)


def test_margins_whose_totals_disagree_raise(dclus1):
    with pytest.raises(
        WeightingError, match="margin totals disagree: 'stype' sums to 6194, 'sch.wide' to 6200"
    ):
        rake(dclus1, {"stype": STYPE, "sch.wide": {"No": 1078, "Yes": 5122}})


def test_a_sample_category_missing_from_the_margins_raises(dclus1):
    with pytest.raises(
        WeightingError,
        match=r"margin 'stype' has no population total for categories found in the sample: \['M'\]",
    ):
        rake(dclus1, {"stype": {"E": 4421, "H": 755}})


def test_a_poststratification_cell_missing_from_the_totals_raises(dclus1):
    totals = {("E", "No"): 421, ("E", "Yes"): 4000, ("H", "No"): 255, ("H", "Yes"): 500}
    with pytest.raises(
        WeightingError, match=r"'stype × sch\.wide' has no population total .*\('M', 'No'\)"
    ):
        poststratify(dclus1, by=["stype", "sch.wide"], totals=totals)


@pytest.mark.parametrize("bad", [0.0, -3.0])
def test_non_positive_weights_raise(apiclus1, bad):
    frame = apiclus1.assign(pw=apiclus1["pw"].where(apiclus1.index != 5, bad))
    with pytest.raises(
        WeightingError, match="weights column 'pw' must be finite and positive: 1 rows are not"
    ):
        Design(frame, weights="pw")


def test_a_negative_population_total_raises(dclus1):
    with pytest.raises(WeightingError, match="category 'H': population total must be"):
        rake(dclus1, {"stype": {"E": 4421, "H": -755, "M": 1018}})


@pytest.mark.parametrize("role", ["weights", "strata", "clusters", "fpc"])
def test_a_missing_design_column_raises_naming_it(apiclus1, role):
    with pytest.raises(WeightingError, match=f"{role} column 'nope' is not in the frame"):
        Design(apiclus1, **{role: "nope"})


def test_a_missing_margin_or_analysis_column_raises_naming_it(dclus1):
    with pytest.raises(WeightingError, match="margin variable column 'region' is not in the frame"):
        rake(dclus1, {"region": {"north": 1}})
    with pytest.raises(
        WeightingError, match="analysis variable column 'income' is not in the frame"
    ):
        dclus1.mean("income")
    with pytest.raises(WeightingError, match="by column 'region' is not in the frame"):
        dclus1.mean("api00", by="region")


@pytest.mark.parametrize("role", ["weights", "strata", "clusters", "fpc"])
def test_nan_in_a_design_column_raises_naming_it(apiclus1, role):
    column = {"weights": "pw", "strata": "stype", "clusters": "dnum", "fpc": "fpc"}[role]
    frame = apiclus1.assign(**{column: apiclus1[column].where(apiclus1.index != 3)})
    with pytest.raises(
        WeightingError, match=f"{role} column '{column}' has missing values \\(first at row 3\\)"
    ):
        Design(frame, **{role: column})


def test_nan_in_a_margin_variable_raises_naming_it(apiclus1):
    frame = apiclus1.assign(stype=apiclus1["stype"].where(apiclus1.index != 8))
    with pytest.raises(WeightingError, match="margin variable column 'stype' has missing values"):
        rake(Design(frame, weights="pw"), {"stype": STYPE})


def test_fpc_must_be_constant_within_a_stratum_and_cover_the_sample(apistrat):
    varying = apistrat.assign(fpc=apistrat["fpc"].where(apistrat.index != 0, 4000))
    with pytest.raises(WeightingError, match="varies within stratum 'E'"):
        Design(varying, strata="stype", fpc="fpc")
    too_small = apistrat.assign(fpc=apistrat["fpc"].where(apistrat["stype"] != "H", 10))
    with pytest.raises(
        WeightingError, match="stratum 'H' a population of 10 PSUs but 50 were sampled"
    ):
        Design(too_small, strata="stype", fpc="fpc")


def test_a_stratum_with_a_single_psu_cannot_give_a_standard_error(apistrat):
    frame = apistrat.assign(s=np.where(apistrat.index == 0, "alone", apistrat["stype"]))
    design = Design(frame, weights="pw", strata="s")
    with pytest.raises(WeightingError, match="stratum 'alone' has only one PSU"):
        design.mean("api00")
