"""How fast is the all-block conductance engine? vlmsel vs captum vs the forward+backward floor.

On one model and one set of images, in one run, this times

  (a) ``vlmsel.conductance.block_conductance``: every block from one set of passes;
  (b) captum ``LayerConductance`` called once per block (same alphas, same ``internal_batch_size``);
  (c) the floor: plain forward + backward passes (gradient of F with respect to the path images, no
      hooks) over the same ``N (n_steps + 1)`` path points, in the same chunks;
  and on request the same engine at the paper-like setting (``--compare-paper``), under bf16 autocast
  (``--compare-bf16``), in channels-last memory format (``--compare-channels-last``), and the floor with the
  image tower under ``torch.compile``, compile time included (``--compare-compile``).

Wall time and process CPU time are both reported; on a machine shared with other jobs the CPU time of a
single-threaded run (``--threads 1``) is the steadier measure of work, since the load can change between
the parts. Each part runs in its own subprocess, so its peak memory is its own: ``ru_maxrss`` of the subprocess
on CPU (it includes the model, ~0.6 GB for ViT-B-32 with its text tower; the model-only RSS is printed
too), ``torch.cuda.max_memory_allocated`` on GPU. Times exclude model creation and include a warm-up
forward. Run on a quiet machine: timings of identical runs vary by up to 1.7x on shared VMs, so compare
the ratios of one run.

    python perf/conductance_speed.py --model ViT-B-32 --n-images 25 --compare-paper --threads 2
    python perf/conductance_speed.py --model ViT-B-32 --n-images 8 --n-steps 20
    python perf/conductance_speed.py --model ViT-L-14 --n-images 25 --n-steps 50 --device cuda --dtype bf16

Prints the table, the ratios captum/vlmsel and vlmsel/floor, and the largest difference between the
block scalars of vlmsel and captum.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from vlmsel.conductance.options import DEFAULT_METHOD, DEFAULT_N_STEPS, DEFAULT_RULE  # noqa: E402 (no torch)


def _make_model_and_images(args):
    import open_clip
    import torch

    torch.manual_seed(args.seed)
    model = open_clip.create_model(args.model, pretrained=None)
    model = model.to(args.device).eval()
    if getattr(args, "channels_last", False):
        model = model.to(memory_format=torch.channels_last)
    size = model.visual.image_size
    size = size if isinstance(size, (tuple, list)) else (size, size)
    g = torch.Generator().manual_seed(args.seed + 1)
    images = torch.randn(args.n_images, 3, *size, generator=g).to(args.device)
    if getattr(args, "channels_last", False):
        images = images.contiguous(memory_format=torch.channels_last)
    return model, images


def _matmul_peak(device: str, size: int = 2048, reps: int = 3) -> dict:
    """Dense matmul throughput of this machine (GFLOP/s) in fp32 and bf16, with the part's threads."""
    import torch

    out = {}
    for name, dt in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        if name == "bf16" and not device.startswith("cuda"):
            size = 1024  # CPUs without bf16 units run bf16 matmuls ~100x slower (AVX2: 0.7 GFLOP/s)
        a = torch.randn(size, size, device=device).to(dt)
        b = torch.randn(size, size, device=device).to(dt)
        a @ b
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(reps):
            a @ b
        _sync(device)
        wall = time.perf_counter() - t0
        out[name] = 2 * size**3 * reps / wall / 1e9
    return out


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _rss_gb() -> float:
    # ru_maxrss is in KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _run_part(args) -> dict:
    import torch

    from vlmsel.conductance import block_conductance, discover_blocks, path_alphas
    from vlmsel.conductance.engine import evaluation_mode, image_encoder, path_point_flops
    from vlmsel.conductance.objectives import embedding_norm
    from vlmsel.conductance.paths import make_baseline, path_points
    from vlmsel.conductance.reference import captum_block_conductance

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.part == "peak":
        return {"part": "peak", **_matmul_peak(args.device)}
    if args.part == "vlmsel:paper":
        from vlmsel.conductance.options import PAPER_LIKE_SETTING

        args.method, args.rule, args.n_steps = (PAPER_LIKE_SETTING[k] for k in ("method", "rule", "n_steps"))
    elif args.part == "vlmsel:bf16":
        args.dtype = "bf16"
    elif args.part == "vlmsel:channels_last":
        args.channels_last = True
    elif args.part == "vlmsel:left":  # captum's rule, for the comparison of the block scalars
        args.rule = "left"
    model, images = _make_model_and_images(args)
    autocast = args.dtype == "bf16"
    rss_model = _rss_gb()
    blocks = discover_blocks(model)
    encode = image_encoder(model)
    on_gpu = args.device.startswith("cuda")

    # warm-up: one small forward+backward outside the timed region
    with evaluation_mode(model), torch.autocast(args.device.split(":")[0], torch.bfloat16, enabled=autocast):
        x0 = images[:1].clone().requires_grad_(True)
        torch.autograd.grad(embedding_norm(encode(x0)).sum(), x0)
    _sync(args.device)
    if on_gpu:
        torch.cuda.reset_peak_memory_stats()
    out: dict = {
        "part": args.part,
        "rss_model_gb": rss_model,
        "n_blocks": len(blocks),
        "n_steps": args.n_steps,
        "method": args.method,
        "rule": args.rule,
        "dtype": args.dtype,
        "channels_last": args.channels_last,
        "gflop_per_point": path_point_flops(model, images[:1], autocast=autocast) / 1e9,
    }

    t0, c0 = time.perf_counter(), time.process_time()
    if args.part.startswith("vlmsel"):
        r = block_conductance(
            model,
            images,
            n_steps=args.n_steps,
            method=args.method,
            rule=args.rule,
            internal_batch_size=args.internal_batch_size,
            autocast=autocast,
            show_progress=False,
        )
        _sync(args.device)
        out["time_s"] = time.perf_counter() - t0
        scal = {k: r.scalars[k] for k in ("abs", "l2", "signed")}
    elif args.part == "captum":
        scal = {k: np.zeros((args.n_images, len(blocks))) for k in ("abs", "l2", "signed")}
        for i, b in enumerate(blocks):
            with torch.autocast(args.device.split(":")[0], torch.bfloat16, enabled=autocast):
                c = captum_block_conductance(
                    model,
                    images,
                    b,
                    n_steps=args.n_steps,
                    method=args.method,
                    internal_batch_size=args.internal_batch_size,
                )
            c = c.float().reshape(args.n_images, -1)
            scal["abs"][:, i] = c.abs().sum(1).double().cpu().numpy()
            scal["l2"][:, i] = torch.linalg.vector_norm(c, dim=1).double().cpu().numpy()
            scal["signed"][:, i] = c.sum(1).double().cpu().numpy()
        _sync(args.device)
        out["time_s"] = time.perf_counter() - t0
    elif args.part in ("floor", "floor:compile"):
        if args.part == "floor:compile":  # compiled inside the timed region: it must pay for itself in one run
            encode = torch.compile(encode)
        chunk_s = []
        alphas = path_alphas(args.method, args.n_steps)
        P = len(alphas)
        total = args.n_images * P
        alpha_t = torch.tensor(alphas, dtype=torch.float64).to(images.device, images.dtype)
        xb = make_baseline(images, "zeros")
        with evaluation_mode(model):
            for s in range(0, total, args.internal_batch_size):
                tc = time.perf_counter()
                pts = torch.arange(s, min(s + args.internal_batch_size, total))
                xp = path_points(images, xb, (pts // P).to(images.device), alpha_t[(pts % P).to(images.device)])
                xp.requires_grad_(True)
                with torch.autocast(args.device.split(":")[0], torch.bfloat16, enabled=autocast):
                    emb = encode(xp)
                (gx,) = torch.autograd.grad(embedding_norm(emb).sum(), xp)
                del gx, emb, xp
                _sync(args.device)
                chunk_s.append(time.perf_counter() - tc)
        _sync(args.device)
        out["time_s"] = time.perf_counter() - t0
        out["chunk_s"] = chunk_s
        scal = None
    else:
        raise ValueError(args.part)
    out["cpu_s"] = time.process_time() - c0
    out["peak_gb"] = torch.cuda.max_memory_allocated() / 2**30 if on_gpu else _rss_gb()
    if scal is not None:
        np.savez(args.result_file, **scal)
    return out


def _task_profile(abs_scalars: np.ndarray) -> np.ndarray:
    from vlmsel.profiles.pooling import task_profile

    return np.asarray(task_profile(abs_scalars), dtype=float)


PARTS = (
    "vlmsel",
    "vlmsel:paper",
    "vlmsel:bf16",
    "vlmsel:channels_last",
    "vlmsel:left",
    "captum",
    "floor",
    "floor:compile",
    "peak",
)


def _child(args, part: str, result_file: str) -> dict:
    cmd = [sys.executable, __file__, "--part", part, "--result-file", result_file]
    for k in (
        "model",
        "n_images",
        "n_steps",
        "internal_batch_size",
        "device",
        "dtype",
        "method",
        "rule",
        "seed",
        "threads",
    ):
        cmd += [f"--{k.replace('_', '-')}", str(getattr(args, k))]
    if args.channels_last:
        cmd.append("--channels-last")
    env = dict(os.environ, VLMSEL_PROGRESS="0", HF_HUB_OFFLINE="1")
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1]) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"part {part!r} failed (exit {proc.returncode})")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="ViT-B-32", help="open_clip architecture (random init)")
    p.add_argument("--n-images", type=int, default=8)
    p.add_argument(
        "--n-steps", type=int, default=DEFAULT_N_STEPS, help=f"default {DEFAULT_N_STEPS} (the profile default)"
    )
    p.add_argument("--internal-batch-size", type=int, default=64)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", choices=("fp32", "bf16"), default="fp32", help="bf16 = torch.autocast bfloat16")
    p.add_argument("--method", default=DEFAULT_METHOD, choices=("gausslegendre", "riemann_trapezoid"))
    p.add_argument("--rule", default=DEFAULT_RULE, choices=("left", "trapezoid"))
    p.add_argument("--channels-last", action="store_true", help="model and images in channels-last memory format")
    p.add_argument(
        "--compare-paper",
        action="store_true",
        help="also time vlmsel at the paper-like setting (Gauss-Legendre, left rule, 50 steps)",
    )
    p.add_argument(
        "--compare-bf16",
        action="store_true",
        help="also time vlmsel under bf16 autocast (same setting) and compare its profile with fp32's",
    )
    p.add_argument(
        "--compare-channels-last",
        action="store_true",
        help="also time vlmsel with model and images in channels-last memory format",
    )
    p.add_argument(
        "--compare-compile",
        action="store_true",
        help="also time the floor with the image tower under torch.compile (compile time included) "
        "and report the compile overhead and the steady-state ratio per chunk",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    p.add_argument("--repeats", type=int, default=2, help="runs of vlmsel and of the floor; the fastest counts")
    p.add_argument("--skip-captum", action="store_true")
    p.add_argument("--json", help="also write the numbers to this JSON file")
    p.add_argument("--part", choices=PARTS, help=argparse.SUPPRESS)
    p.add_argument("--result-file", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.part:
        print("RESULT " + json.dumps(_run_part(args)), flush=True)
        return 0

    print(
        f"model={args.model} N={args.n_images} n_steps={args.n_steps} internal_batch_size={args.internal_batch_size} "
        f"device={args.device} dtype={args.dtype} method={args.method}",
        flush=True,
    )
    runs: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        order = (
            ["peak"]
            + ["floor", "vlmsel"] * args.repeats
            + (["vlmsel:paper"] if args.compare_paper else [])
            + (["vlmsel:bf16"] if args.compare_bf16 else [])
            + (["vlmsel:channels_last"] if args.compare_channels_last else [])
            + (["floor:compile"] if args.compare_compile else [])
            + ([] if args.skip_captum else ["captum"] + (["vlmsel:left"] if args.rule != "left" else []))
        )
        for part in order:
            res = _child(args, part, os.path.join(tmp, f"{part.replace(':', '_')}.npz"))
            runs.setdefault(part, []).append(res)
            if part == "peak":
                print(f"  matmul peak: fp32 {res['fp32']:.0f} GFLOP/s, bf16 {res['bf16']:.0f} GFLOP/s", flush=True)
                continue
            print(
                f"  {part:12s} {res['time_s']:9.2f} s wall {res['cpu_s']:9.2f} s cpu   peak {res['peak_gb']:.2f} GB",
                flush=True,
            )
        peak = runs.pop("peak")[0]
        best = {k: min(v, key=lambda r: r["time_s"]) for k, v in runs.items()}
        diffs, agreement = {}, {}
        ref = _task_profile(np.load(os.path.join(tmp, "vlmsel.npz"))["abs"])
        for k in ("vlmsel:paper", "vlmsel:bf16", "vlmsel:channels_last"):
            if k in best:
                prof = _task_profile(np.load(os.path.join(tmp, f"{k.replace(':', '_')}.npz"))["abs"])
                agreement[k] = float(0.5 * np.abs(prof - ref).sum())
        if "captum" in best:  # captum computes the left rule: compare with vlmsel at the same rule
            same_rule = "vlmsel_left.npz" if "vlmsel:left" in best else "vlmsel.npz"
            a, b = np.load(os.path.join(tmp, same_rule)), np.load(os.path.join(tmp, "captum.npz"))
            for k in ("abs", "l2", "signed"):
                d = np.abs(a[k] - b[k])
                diffs[k] = {"max_abs": float(d.max()), "max_rel": float((d / np.maximum(np.abs(b[k]), 1e-12)).max())}

    mem_label = "peak GPU memory allocated (GB)" if args.device.startswith("cuda") else "peak RSS (GB)"
    # work each part must do: forward + backward at every path point (captum: once per block, measured as
    # the same useful work, so its GFLOP/s is the rate of the useful result)
    print(
        f"\n| part | setting | wall time (s) | CPU time (s) | {mem_label} | effective GFLOP/s | share of fp32 peak "
        f"| share of bf16 peak |\n|---|---|---|---|---|---|---|---|"
    )
    for k in PARTS[:-1]:
        if k in best:
            r = best[k]
            work = r["gflop_per_point"] * args.n_images * (r["n_steps"] + 1)
            rate = work / r["time_s"]
            r["effective_gflops"] = rate
            setting = f"{r['method']}/{r['rule']}, {r['n_steps']} steps, {r['dtype']}" + (
                ", channels-last" if r["channels_last"] else ""
            )
            print(
                f"| {k} | {setting} | {r['time_s']:.2f} | {r['cpu_s']:.2f} | "
                f"{r['peak_gb']:.2f} | {rate:.0f} | {rate / peak['fp32']:.0%} | {rate / peak['bf16']:.0%} |"
            )
    print(
        f"\nmatmul peak of this machine ({args.device}, same threads): fp32 {peak['fp32']:.0f} GFLOP/s, "
        f"bf16 {peak['bf16']:.0f} GFLOP/s; GFLOP per path point (forward + backward, counted): "
        f"{best['vlmsel']['gflop_per_point']:.2f}"
    )
    print(f"\nmodel-only RSS: {best['vlmsel']['rss_model_gb']:.2f} GB; blocks: {best['vlmsel']['n_blocks']}")
    ratios = {
        "vlmsel/floor": best["vlmsel"]["time_s"] / best["floor"]["time_s"],
        "vlmsel/floor (CPU time)": best["vlmsel"]["cpu_s"] / best["floor"]["cpu_s"],
    }
    if "vlmsel:paper" in best:
        ratios["paper-like/default"] = best["vlmsel:paper"]["time_s"] / best["vlmsel"]["time_s"]
        ratios["paper-like/default (CPU time)"] = best["vlmsel:paper"]["cpu_s"] / best["vlmsel"]["cpu_s"]
    for k in ("vlmsel:bf16", "vlmsel:channels_last"):
        if k in best:
            ratios[f"{k.split(':')[1]}/fp32 default"] = best[k]["time_s"] / best["vlmsel"]["time_s"]
            ratios[f"{k.split(':')[1]}/fp32 default (CPU time)"] = best[k]["cpu_s"] / best["vlmsel"]["cpu_s"]
    if "floor:compile" in best:
        plain, comp = best["floor"]["chunk_s"], best["floor:compile"]["chunk_s"]
        ratios["compiled floor/floor"] = best["floor:compile"]["time_s"] / best["floor"]["time_s"]
        if len(plain) > 2 and len(comp) > 2:  # steady state: the full chunks after the first
            ratios["compiled floor/floor, per chunk after the first"] = float(np.median(comp[1:-1])) / float(
                np.median(plain[1:-1])
            )
        ratios["compile overhead of the first chunk (s)"] = (
            comp[0] - float(np.median(comp[1:])) if len(comp) > 1 else comp[0]
        )
    if "captum" in best:
        ratios["captum/vlmsel"] = best["captum"]["time_s"] / best["vlmsel"]["time_s"]
        ratios["captum/vlmsel (CPU time)"] = best["captum"]["cpu_s"] / best["vlmsel"]["cpu_s"]
    for k, v in ratios.items():
        print(f"{k}: {v:.2f}")
    for k, v in diffs.items():
        print(
            f"max |vlmsel ({'left rule' if 'vlmsel:left' in best else args.rule}) - captum| of the {k} block scalar: {v['max_abs']:.3g} (relative {v['max_rel']:.3g})"
        )
    for k, v in agreement.items():
        print(f"total variation between the task profiles of {k} and vlmsel: {v:.2g}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "args": vars(args),
                    "peak_gflops": peak,
                    "best": best,
                    "runs": runs,
                    "ratios": ratios,
                    "captum_diff": diffs,
                    "profile_tv_to_vlmsel": agreement,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
