"""Wall time of the full leave-one-dataset-out evaluation of every method on openclip121.

Ground truth: the real openclip121 table (121 models x 20 datasets). Inputs that do not exist for that
zoo are random but realistically shaped: per-image block scalars of N = 25 images for every (model,
dataset) with L between 12 and 48 blocks per model (pooled into task profiles, timed separately), and
random modelGPT-style text features (LOVM's real ones cover only 35 models). Every evaluation includes
the 10000-resample bootstrap. Targets (issue 4): all fixed-hyperparameter methods together under 5 s,
everything including nested eta/gamma and feature-subset selection under 60 s.

Run:  python perf/evaluation_speed.py [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import pandas as pd

os.environ.setdefault("VLMSEL_PROGRESS", "0")

from vlmsel.data.benchmarks import load_benchmark  # noqa: E402
from vlmsel.evaluation.baselines import MODELGPT_FEATURES
from vlmsel.evaluation.harness import evaluate  # noqa: E402
from vlmsel.evaluation.methods import make_method  # noqa: E402
from vlmsel.profiles.pooling import Profiles  # noqa: E402

FIXED = [
    "inb",
    "avg_rank",
    "random",
    "oracle_sim",
    "modelgpt_lite",
    "dcd",
    "dcd_coverage",
    "dcd_js",
    "dcd_sym_kl",
    "dcd_cosine",
]
NESTED = ["modelgpt_lite_nested", "dcd_nested"]


def random_inputs(models: list[str], datasets: list[str], seed: int = 0, n_images: int = 25):
    rng = np.random.default_rng(seed)
    blocks = rng.integers(12, 49, size=len(models))
    scalars = {m: {d: rng.gamma(2.0, 1.0, size=(n_images, l)) for d in datasets} for m, l in zip(models, blocks)}
    feats = pd.DataFrame(
        [{"model": m, "dataset": d, **dict(zip(MODELGPT_FEATURES, rng.random(7)))} for m in models for d in datasets]
    )
    return scalars, feats, blocks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="runs per method; the fastest is reported")
    args = parser.parse_args()

    bench = load_benchmark("openclip121")
    scalars, feats, blocks = random_inputs(bench.models, bench.datasets)
    t0 = time.perf_counter()
    profiles = Profiles.from_block_scalars(scalars, bench.datasets)
    pooling_s = time.perf_counter() - t0
    print(
        f"openclip121: {bench.shape[0]} models x {bench.shape[1]} datasets; profiles L = {blocks.min()}..{blocks.max()}"
        f" blocks, N = 25 images; {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
    )
    print(f"pooling {bench.shape[0] * bench.shape[1]} (N, L) block-scalar arrays into profiles: {pooling_s:.2f} s\n")

    times: dict[str, float] = {}
    for name in FIXED + NESTED:
        best = np.inf
        for _ in range(args.repeats):
            method = make_method(
                name, profiles=profiles, **({"features": feats} if name.startswith("modelgpt") else {})
            )
            t = time.perf_counter()
            result = evaluate(bench, method)
            best = min(best, time.perf_counter() - t)
        times[name] = best
        print(f"{name:<22}{best:>7.2f} s   mean ndcg5 {result.mean('ndcg5'):.3f}")
    fixed = sum(times[n] for n in FIXED)
    total = fixed + sum(times[n] for n in NESTED)
    print(f"\nall fixed-hyperparameter methods: {fixed:.2f} s (target < 5 s)")
    print(f"everything incl. nested selection: {total:.2f} s (target < 60 s)")
    print(
        f"ratio dcd_nested / dcd: {times['dcd_nested'] / times['dcd']:.1f}x "
        f"(grid 5 eta x 6 gamma, inner leave-one-out over 19 sources); "
        f"modelgpt_lite_nested / modelgpt_lite: {times['modelgpt_lite_nested'] / times['modelgpt_lite']:.1f}x "
        "(127 feature subsets)"
    )


if __name__ == "__main__":
    main()
