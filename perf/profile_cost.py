"""Calibrate the profiling cost model: measured wall time of one (model, dataset) vs the estimate.

    python perf/profile_cost.py --model "ViT-B-32 laion2b_s34b_b79k" --n-images 25 --n-steps 50

Builds the model with random weights (offline), profiles ``N`` random images in one
``block_conductance`` call (as ``vlmsel profile`` does) and prints the wall time, the work
``image_GFLOPs x N x (n_steps+1) x 3``, the effective GFLOP/s (the constant of
``vlmsel.profiles.compute.THROUGHPUT_GFLOPS``) and the ratio measured / estimated with the current constant.
Timings on a shared machine vary (up to 1.7x between identical runs here): run it more than once.
"""

from __future__ import annotations

import argparse
import time

import torch

from vlmsel.conductance import block_conductance
from vlmsel.data.zoo import load_model, load_zoo, resolve_device, with_image_gflops
from vlmsel.profiles import compute as profiling


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="ViT-B-32 laion2b_s34b_b79k")
    p.add_argument("--n-images", type=int, default=25)
    p.add_argument("--n-steps", type=int, default=50)
    p.add_argument("--internal-batch-size", type=int, default=64)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    entry = with_image_gflops(load_zoo([args.model])[0])
    model, _, _ = load_model(entry, pretrained=False, device=device, with_tokenizer=False)
    size = model.visual.image_size
    size = tuple(size) if isinstance(size, (tuple, list)) else (size, size)
    x = torch.randn(args.n_images, 3, *size, generator=torch.Generator().manual_seed(0)).to(device)
    t0 = time.perf_counter()
    block_conductance(model, x, n_steps=args.n_steps, internal_batch_size=args.internal_batch_size, show_progress=False)
    if device.type == "cuda":
        torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    work = entry.image_gflops * args.n_images * (args.n_steps + 1) * profiling.PASSES_PER_POINT
    est = profiling.estimate_seconds(entry.image_gflops, args.n_images, args.n_steps, device)
    print(f"{entry.name} on {device} ({torch.get_num_threads()} threads): N={args.n_images}, n_steps={args.n_steps}")
    print(f"  wall time {wall:.1f} s; work {work:.0f} GFLOP; effective {work / wall:.1f} GFLOP/s")
    print(
        f"  cost model estimate {est:.1f} s (THROUGHPUT_GFLOPS[{device.type!r}] = "
        f"{profiling.THROUGHPUT_GFLOPS.get(device.type)}); measured / estimated = {wall / est:.2f}"
    )


if __name__ == "__main__":
    main()
