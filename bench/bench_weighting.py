"""Raking 1,000,000 respondents on region (16) × age band (6) × sex (2) margins: time and peak memory.

Prints our figures (the raking itself, then design + raking + diagnostics + one mean with its
standard error) and weightipy's raking of the same data in the same run, with the ratio.
Run from the repository root: .venv/bin/python bench/bench_weighting.py [rows]
"""

import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import weightipy  # noqa: E402

from app.core.weighting import Design, rake  # noqa: E402

POPULATION = 10_000_000
SIZES = {"region": 16, "age": 6, "sex": 2}


def sample(rows: int, seed: int = 7) -> pd.DataFrame:
    """Respondents whose categories are correlated (so raking needs several sweeps), integer-coded."""
    rng = np.random.default_rng(seed)
    region = rng.integers(0, 16, rows)
    age = np.minimum((rng.random(rows) * 6 + region / 8).astype(np.int64), 5)
    sex = (rng.random(rows) < 0.35 + 0.05 * age).astype(np.int64)
    return pd.DataFrame(
        {
            "region": region,
            "age": age,
            "sex": sex,
            "satisfaction": rng.normal(70 + 2 * age - 3 * sex, 15, rows),
        }
    )


def margins(seed: int = 11) -> dict[str, dict[int, float]]:
    """Population totals per category, summing to the same population on every margin."""
    rng = np.random.default_rng(seed)
    result = {}
    for variable, size in SIZES.items():
        shares = rng.uniform(0.5, 1.5, size)
        result[variable] = dict(enumerate((POPULATION * shares / shares.sum()).tolist()))
    return result


def best_of(repeats: int, run) -> tuple[float, object]:
    """Fastest of `repeats` runs in seconds (the least disturbed by other work) and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def peak_mib(run) -> float:
    """Peak memory traced while `run` runs, in MiB (numpy buffers included)."""
    tracemalloc.start()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def ours_pipeline(frame, targets):
    raked = rake(Design(frame), targets)
    diagnostics = (raked.max_margin_error, raked.n_effective, raked.design_effect)
    return raked, diagnostics, raked.mean("satisfaction")


def weightipy_rake(frame, targets):
    shares = {
        variable: {code: 100 * total / POPULATION for code, total in totals.items()}
        for variable, totals in targets.items()
    }
    return weightipy.weight(frame[list(SIZES)], weightipy.scheme_from_dict(shares, name="bench"))


def max_margin_error(frame, weights, targets) -> float:
    scale = POPULATION / weights.sum()
    worst = 0.0
    for variable, totals in targets.items():
        achieved = np.bincount(frame[variable].to_numpy(), weights * scale, minlength=len(totals))
        wanted = np.array([totals[k] for k in range(len(totals))])
        worst = max(worst, float(np.max(np.abs(achieved - wanted) / wanted)))
    return worst


def line(label: str, seconds: float, peak: float | None = None) -> None:
    memory = f"   peak {peak:6.1f} MiB" if peak is not None else ""
    print(f"  {label:<44} {seconds * 1e3:8.1f} ms{memory}")


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    frame, targets = sample(rows), margins()
    design = Design(frame)
    rake(design, targets)  # warm-up

    rake_s, raked = best_of(9, lambda: rake(design, targets))
    categorical = Design(frame.astype(dict.fromkeys(SIZES, "category")))
    categorical_s, _ = best_of(9, lambda: rake(categorical, targets))
    design_s, _ = best_of(9, lambda: Design(frame))
    mean_s, estimate = best_of(9, lambda: raked.mean("satisfaction"))
    total_s, _ = best_of(9, lambda: ours_pipeline(frame, targets))
    theirs_s, theirs = best_of(3, lambda: weightipy_rake(frame, targets))
    theirs_weights = theirs.to_numpy()
    ours_scaled = raked.weights * theirs_weights.sum() / raked.weights.sum()

    sizes = " × ".join(str(s) for s in SIZES.values())
    print(f"{rows:,} respondents, margins {sizes}; numpy {np.__version__}, pandas {pd.__version__}")
    print("ours")
    line("rake", rake_s, peak_mib(lambda: rake(design, targets)))
    line("rake, margins as pandas categoricals", categorical_s)
    line("Design(frame)", design_s)
    line("mean + linearized SE (after raking)", mean_s)
    line(
        "Design + rake + diagnostics + mean + SE",
        total_s,
        peak_mib(lambda: ours_pipeline(frame, targets)),
    )
    print(
        f"  iterations {raked.iterations}, max margin error {raked.max_margin_error:.1e}, "
        f"Kish n {raked.n_effective:,.0f}, design effect {raked.design_effect:.3f}, "
        f"mean {estimate.value:.4f} (se {estimate.se:.4f})"
    )
    print(f"weightipy {weightipy.__version__}")
    line("weight(df, scheme)", theirs_s, peak_mib(lambda: weightipy_rake(frame, targets)))
    print(
        f"  max margin error {max_margin_error(frame, theirs_weights, targets):.1e} (default "
        f"convcrit 0.01); max |ours/theirs - 1| per weight "
        f"{np.max(np.abs(ours_scaled / theirs_weights - 1)):.1e}"
    )
    print(
        f"weightipy / ours: raking {theirs_s / rake_s:.1f}x, "
        f"our whole pipeline {theirs_s / total_s:.1f}x"
    )


if __name__ == "__main__":
    main()
