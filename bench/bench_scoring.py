"""Benchmark: positive/negative scoring of 1,000,000 responses x 25 items for 2,000 officials.

Run: .venv/bin/python bench/bench_scoring.py [--responses N] [--shuffled]
Prints wall time (best of --repeat runs) and the peak memory the scoring call allocates
(tracemalloc, in a separate run because tracing slows it down). Target: under 2 s on 2 cores.
Rows come in response order, as a database query ordered by response returns them; --shuffled
scrambles them to show the cost of hashing the ballot keys.
"""

import argparse
import os
import sys
import time
import tracemalloc

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from app.core.scoring import Scheme, score_positive_negative  # noqa: E402

GROUPS = {
    "superior": 0.3,
    "peer": 0.25,
    "subordinate": 0.2,
    "service_recipient": 0.15,
    "public": 0.1,
}
INDICATORS, ITEMS_PER_INDICATOR = 5, 5


def make_answers(
    responses: int, officials: int, seed: int = 7
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Long answers (one row per response x item) and the known rater group sizes."""
    rng = np.random.default_rng(seed)
    items = INDICATORS * ITEMS_PER_INDICATOR
    target = rng.integers(0, officials, responses)
    group = rng.choice(len(GROUPS), responses, p=[0.1, 0.2, 0.3, 0.2, 0.2]).astype(np.int8)
    # yes / partly / no already turned to the positive sense, 5% don't know
    scores = rng.choice(np.array([100.0, 50.0, 0.0]), (responses, items), p=[0.8, 0.1, 0.1])
    scores[rng.random((responses, items)) < 0.05] = np.nan
    answers = pd.DataFrame(
        {
            "response_id": np.repeat(np.arange(responses, dtype=np.int64), items),
            "target_id": np.repeat(target, items),
            "rater_group": pd.Categorical.from_codes(np.repeat(group, items), list(GROUPS)),
            "indicator": pd.Categorical.from_codes(
                np.tile(np.repeat(np.arange(INDICATORS), ITEMS_PER_INDICATOR), responses),
                [f"indicator_{i}" for i in range(INDICATORS)],
            ),
            "item_key": pd.Categorical.from_codes(
                np.tile(np.arange(items), responses), [f"item_{i}" for i in range(items)]
            ),
            "score": scores.ravel(),
        }
    )
    counts = pd.DataFrame({"target_id": target, "rater_group": np.array(list(GROUPS))[group]})
    sizes = counts.value_counts().rename("group_size").reset_index()
    sizes["group_size"] += rng.integers(0, 20, len(sizes))  # some raters did not answer
    return answers, sizes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--officials", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--shuffled", action="store_true")
    args = parser.parse_args()
    answers, sizes = make_answers(args.responses, args.officials)
    if args.shuffled:
        answers = answers.sample(frac=1, random_state=1, ignore_index=True)
    scheme = Scheme(name="positive_negative", group_weights=GROUPS, min_group_size=3)

    def run():
        return score_positive_negative(
            answers, scheme, questionnaire_version="bench@1", group_sizes=sizes
        )

    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    scored = [s for s in result.scores if not np.isnan(s.score.value)]
    print(
        f"rows: {len(answers):,} ({args.responses:,} responses x 25 items), officials: {args.officials:,}"
    )
    print(
        f"order: {'shuffled' if args.shuffled else 'by response'}; input frame {answers.memory_usage(deep=True).sum() / 2**20:,.0f} MiB"
    )
    print(f"scoring time: best {min(times):.2f} s, runs {', '.join(f'{t:.2f}' for t in times)} s")
    print(f"peak memory allocated while scoring (tracemalloc): {peak / 2**20:,.0f} MiB")
    print(
        f"officials scored: {len(scored):,}; mean score {np.mean([s.score.value for s in scored]):.2f}"
    )


if __name__ == "__main__":
    main()
