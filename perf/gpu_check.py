"""One prepared GPU check (under 8 minutes on one GPU): profile time, memory, precision agreement, TFLOP/s.

    bash perf/gpu_check.sh            # = python perf/gpu_check.py --out gpu_check.json

For random-init ViT-B-32 and ViT-L-14 at N = 25 images on CUDA, at the profile default and at the
paper-like setting (:data:`vlmsel.conductance.options.PAPER_LIKE_SETTING`), in fp32 and under bf16
autocast, it runs :func:`vlmsel.conductance.block_conductance` once after a warm-up and prints one JSON
object per run: wall time, peak GPU memory, the total-variation distance of the bf16 profile to the fp32
profile of the same setting (and of the default's profile to the paper-like one's), and the effective
TFLOP/s (FLOPs of one path point counted by torch's FlopCounterMode, times the path points), with the
GPU's dense matmul TFLOP/s in fp32 (TF32 off) and bf16 measured in the same run. Enter the measured fp32
rate in ``vlmsel.profiles.compute.THROUGHPUT_GFLOPS["cuda"]`` (and its source) when it has been run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from vlmsel.conductance import block_conductance  # noqa: E402
from vlmsel.conductance.engine import path_point_flops  # noqa: E402
from vlmsel.conductance.options import DEFAULT_SETTING, PAPER_LIKE_SETTING  # noqa: E402
from vlmsel.profiles.pooling import task_profile  # noqa: E402


def matmul_tflops(dtype, size=8192, reps=20) -> float:
    a, b = torch.randn(size, size, device="cuda", dtype=dtype), torch.randn(size, size, device="cuda", dtype=dtype)
    a @ b
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    torch.cuda.synchronize()
    return 2 * size**3 * reps / (time.perf_counter() - t0) / 1e12


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="*", default=["ViT-B-32", "ViT-L-14"])
    p.add_argument("--n-images", type=int, default=25)
    p.add_argument("--internal-batch-size", type=int, default=256)
    p.add_argument("--out", default=None, help="also write all results to this JSON file")
    args = p.parse_args()
    import open_clip

    if not torch.cuda.is_available():
        raise SystemExit("gpu_check: no CUDA device")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    results = {
        "device": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "matmul_tflops": {"fp32": matmul_tflops(torch.float32), "bf16": matmul_tflops(torch.bfloat16)},
        "runs": [],
    }
    print(json.dumps(results), flush=True)
    for arch in args.models:
        torch.manual_seed(0)
        model = open_clip.create_model(arch, pretrained=None).cuda().eval()
        size = model.visual.image_size
        size = tuple(size) if isinstance(size, (tuple, list)) else (size, size)
        x = torch.randn(args.n_images, 3, *size, generator=torch.Generator().manual_seed(1)).cuda()
        block_conductance(model, x[:2], n_steps=2, internal_batch_size=args.internal_batch_size, show_progress=False)
        profiles = {}
        for label, setting in (("default", DEFAULT_SETTING), ("paper-like", PAPER_LIKE_SETTING)):
            for precision in ("fp32", "bf16"):
                autocast = precision == "bf16"
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
                t0 = time.perf_counter()
                r = block_conductance(
                    model,
                    x,
                    internal_batch_size=args.internal_batch_size,
                    autocast=autocast,
                    show_progress=False,
                    **setting,
                )
                torch.cuda.synchronize()
                wall = time.perf_counter() - t0
                prof = task_profile(r.scalars["abs"])
                profiles[label, precision] = prof
                work = path_point_flops(model, x[:1], autocast=autocast) * args.n_images * (setting["n_steps"] + 1)
                row = {
                    "model": arch,
                    "setting": label,
                    **setting,
                    "precision": precision,
                    "n_images": args.n_images,
                    "wall_s": wall,
                    "peak_gb": torch.cuda.max_memory_allocated() / 2**30,
                    "effective_tflops": work / wall / 1e12,
                    "tv_vs_fp32": float(0.5 * np.abs(prof - profiles[label, "fp32"]).sum()),
                }
                if label == "paper-like":
                    row["tv_default_vs_paper_like"] = float(0.5 * np.abs(profiles["default", precision] - prof).sum())
                results["runs"].append(row)
                print(json.dumps(row), flush=True)
        del model
        torch.cuda.empty_cache()
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
