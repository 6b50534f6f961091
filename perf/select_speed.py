"""How long `vlmsel select --zoo mini` takes on 25 photos: the default method against the paper's, side by side.

Writes 25 photos (a mini task's pictures, enlarged to 256 px JPEGs, as a user's folder would hold), then runs
the command line cold (a fresh target cache each time, as a first run) for:

- the default method (the one the project's evidence supports), with the side-by-side comparison;
- the default method alone (``--no-compare``);
- the paper's method alone (``--method dcd --no-compare``);
- the default with class names (``--classes ...``: the zero-shot logits are recorded too).

and prints the wall seconds with the ratio to the paper's method, and how the target's profiling splits
between the block conductance (DCD's) and the forward pass of the cheaper signals (from the JSON result).
A benchmark, not a test: run it on an idle machine::

    VLMSEL_PROGRESS=0 HF_HUB_OFFLINE=1 python perf/select_speed.py [--repeats 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def photos(folder: Path, task: str = "eurosat", n: int = 25) -> list[str]:
    from PIL import Image

    from vlmsel.mini.tasks import make_task_data

    data = make_task_data(task, n=n, seed=7)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.fromarray(data.images[i]).resize((256, 256)).save(folder / f"p{i:02d}.jpg")
    return list(data.classnames)


def run(images: Path, extra: list[str], threads: int) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "r.json"
        cmd = [sys.executable, "-m", "vlmsel", "select", "--images", str(images), "--zoo", "mini"]
        cmd += ["--work-dir", str(Path(work) / "cache"), "--threads", str(threads), "--json", str(out), *extra]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, "VLMSEL_PROGRESS": "0"})
        return time.perf_counter() - t0, json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="cold runs of each command (the median is shown)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2: this machine's cores)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        images = Path(tmp) / "photos"
        classes = photos(images)
        cases = {
            "default (side by side)": [],
            "default alone": ["--no-compare"],
            "paper's dcd alone": ["--method", "dcd", "--no-compare"],
            "default, --classes": ["--classes", ",".join(classes)],
        }
        rows = {}
        for name, extra in cases.items():
            times, result = [], {}
            for _ in range(args.repeats):
                seconds, result = run(images, extra, args.threads)
                times.append(seconds)
            rows[name] = (sorted(times)[len(times) // 2], result)
    paper = rows["paper's dcd alone"][0]
    print(f"vlmsel select --zoo mini on 25 photos, cold cache, median of {args.repeats}, {args.threads} threads")
    print(f"{'run':28s} {'method':16s} {'wall s':>7s} {'/ dcd':>6s} {'conductance s':>14s} {'forward s':>10s}")
    for name, (seconds, result) in rows.items():
        prof = result["info"].get("profiling_seconds", {})
        print(
            f"{name:28s} {result['method']:16s} {seconds:7.1f} {seconds / paper:6.2f} "
            f"{prof.get('conductance_s', float('nan')):14.1f} {prof.get('features_s', float('nan')):10.1f}"
        )


if __name__ == "__main__":
    main()
