"""Contrastive pretraining of the mini zoo on CPU: the pretraining pool, the training loop and the saved folder.

A model's pretraining data is a *pool* of pictures drawn from its mixture (:mod:`vlmsel.mini.mixtures`:
domain proportions, amount of data, caption mode). The pool is made of groups of ``group_size``
pictures of one domain that share every attribute value and the nuisance seed but one attribute
(hard negatives); a group's captions are drawn with one generator state, so they share the phrasing and
differ in the varied attribute's words. Measured on the first mini world: without such groups a tiny
model solves the contrastive task with colour alone and leaves shapes and digits at chance.

:func:`train` trains one zoo entry with open_clip's ``ClipLoss`` (AdamW, linear warm-up then cosine
decay), everything seeded: the same spec, seed and thread count give the same weights.
:func:`save_trained` writes the model folder described in :mod:`vlmsel.mini.models` atomically,
``training.json`` last, so an interrupted run leaves no half-trained model that looks finished
(training resumes per model: ``vlmsel mini train`` skips finished folders).
Taught in the chapter :ref:`ch-mini-world`.
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vlmsel.files import atomic_write, sha256_file
from vlmsel.mini.captions import caption
from vlmsel.mini.domains import DOMAINS, get_domain
from vlmsel.mini.mixtures import Mixture, get_mixture
from vlmsel.mini.models import (
    IMAGE_MEAN,
    IMAGE_STD,
    create_mini_model,
    mini_config,
    mini_tokenizer,
    model_dir,
    preprocess_cfg,
    to_model_input,
)
from vlmsel.mini.tasks import Picture, render_pictures
from vlmsel.mini.zoo import MiniModelSpec, get_spec
from vlmsel.progress import progress


@dataclass
class TrainingState:
    """What one training run produced: the model and its per-step losses."""

    model: torch.nn.Module
    losses: list[float] = field(default_factory=list)
    wall_time_s: float = 0.0
    pool_time_s: float = 0.0
    optimizer: dict = field(default_factory=dict)
    pool_size: int = 0


@dataclass(frozen=True)
class Pool:
    """The pretraining data of a mixture: ``pictures`` in consecutive groups, the attribute each group
    varies (``group_attributes``) and the pixels ``images`` uint8 (n, 64, 64, 3)."""

    pictures: list[Picture]
    group_attributes: list[str]
    images: np.ndarray
    group_size: int

    @property
    def n_groups(self) -> int:
        return len(self.group_attributes)

    def domain_counts(self) -> dict[str, int]:
        counts = {d: 0 for d in DOMAINS}
        for p in self.pictures:
            counts[p.domain] += 1
        return counts


def sample_group(rng: np.random.Generator, domain: str, k: int) -> tuple[list[Picture], str]:
    """``k`` pictures of ``domain`` (split ``"train"``) that share one seed and all attribute values but one.

    The varied attribute is drawn among the applicable ones; its ``k`` values are distinct when the
    attribute has at least ``k`` values, otherwise values repeat and the repeats get other seeds.
    """
    dom = get_domain(domain)
    base = dom.sample(rng)
    applicable = [a for a in dom.applicable(base) if a in base]
    attr = applicable[int(rng.integers(len(applicable)))]
    values = tuple(v for v in dom.attributes[attr] if dom.valid({**base, attr: v}))
    chosen = rng.choice(len(values), size=k, replace=len(values) < k)
    seed = int(rng.integers(2**31 - 1))
    group, seen = [], set()
    for v in chosen:
        value = values[int(v)]
        keep = {b: (x,) for b, x in base.items() if b != attr}
        attrs = dom.sample(rng, {**keep, attr: (value,)})
        s = seed if value not in seen else int(rng.integers(2**31 - 1))
        seen.add(value)
        group.append(Picture(domain, tuple(attrs.items()), s, "train"))
    return group, attr


def pretraining_pool(mixture: Mixture, seed: int, pool_size: int | None = None) -> Pool:
    """The distinct pictures a mixture trains on, in groups of ``mixture.group_size``, and their pixels.

    Seeded by the mixture's name and ``seed``; ``pool_size`` overrides the mixture's (tests use small pools).
    """
    pool_seed = (zlib.crc32(f"pretrain-{mixture.name}".encode()) + 7919 * seed) % (2**31 - 1)
    rng = np.random.default_rng(pool_seed)
    k = mixture.group_size
    n_groups = max(1, int(pool_size or mixture.pool_size) // k)
    weights = mixture.weights()
    names = list(weights)
    p = np.asarray([weights[d] for d in names])
    domains = rng.choice(len(names), size=n_groups, p=p)
    pictures: list[Picture] = []
    attrs: list[str] = []
    for d in domains:
        group, used = sample_group(rng, names[int(d)], k)
        pictures.extend(group)
        attrs.append(used)
    return Pool(pictures, attrs, render_pictures(pictures), k)


def group_captions(
    mixture: Mixture, groups: list[list[Picture]], attributes: list[str], rng: np.random.Generator
) -> list[str]:
    """Captions of groups of pictures: per group one caption seed (so one phrasing) and one decision
    whether the captions name every attribute; within a group they differ only in the varied attribute."""
    out: list[str] = []
    for group, attr in zip(groups, attributes):
        full = bool(rng.random() < mixture.full_prob)
        seed = int(rng.integers(2**63 - 1))
        out.extend(
            caption(p.domain, dict(p.attrs), attr, mixture.captions, np.random.default_rng(seed), full=full)
            for p in group
        )
    return out


def lr_at(step: int, steps: int, lr: float, warmup: int) -> float:
    """Linear warm-up for ``warmup`` steps, then cosine decay to 0 at ``steps``."""
    if step < warmup:
        return lr * (step + 1) / warmup
    t = (step - warmup) / max(1, steps - warmup)
    return 0.5 * lr * (1.0 + math.cos(math.pi * t))


def train(
    spec: MiniModelSpec,
    *,
    steps: int | None = None,
    lr: float = 3e-3,
    weight_decay: float = 0.05,
    warmup: int = 50,
    pool_size: int | None = None,
    show_progress: bool | None = None,
) -> TrainingState:
    """Train ``spec`` from its seed; returns the model (fp32, eval mode) and the loss of every step.

    Deterministic for a fixed spec, ``steps`` and ``torch.get_num_threads()``: the model is initialised
    after ``torch.manual_seed(spec.seed)``, and the image pool, batch indices and captions come from
    numpy generators seeded by the spec. ``pool_size`` overrides the mixture's number of distinct
    scenes (tests use a small pool; the zoo never does).
    """
    import open_clip

    steps = int(spec.steps if steps is None else steps)
    if steps < 1:
        raise ValueError(f"train({spec.name!r}): steps must be >= 1, got {steps}")
    mixture = get_mixture(spec.mixture)
    t0 = time.perf_counter()
    pool = pretraining_pool(mixture, spec.seed, pool_size)
    pool_time = time.perf_counter() - t0
    tokenizer = mini_tokenizer()
    model: Any = create_mini_model(spec.arch, seed=spec.seed)
    model.train()
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embedding" not in n)]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr,
        betas=(0.9, 0.98),
        eps=1e-6,
    )
    loss_fn = open_clip.ClipLoss()
    rng = np.random.default_rng([spec.seed, zlib.crc32(spec.name.encode())])
    losses: list[float] = []
    k = pool.group_size
    if spec.batch_size % k:
        raise ValueError(f"train({spec.name!r}): batch_size {spec.batch_size} is not a multiple of the group size {k}")
    per_batch = spec.batch_size // k
    for step in progress(range(steps), total=steps, desc=f"train {spec.name}", enabled=show_progress):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, steps, lr, warmup)
        chosen = rng.choice(pool.n_groups, size=per_batch, replace=pool.n_groups < per_batch)
        idx = (chosen[:, None] * k + np.arange(k)[None, :]).reshape(-1)
        groups = [pool.pictures[g * k : (g + 1) * k] for g in chosen]
        text = tokenizer(group_captions(mixture, groups, [pool.group_attributes[g] for g in chosen], rng))
        x = to_model_input(pool.images[idx])
        out = model(image=x, text=text)
        loss = loss_fn(out["image_features"], out["text_features"], out["logit_scale"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():  # as CLIP: clamp the temperature to at most 100
            model.logit_scale.clamp_(0, math.log(100))
        losses.append(float(loss.detach()))
    model.eval()
    hparams = dict(
        name="AdamW",
        lr=lr,
        weight_decay=weight_decay,
        betas=[0.9, 0.98],
        eps=1e-6,
        warmup=warmup,
        schedule="linear warm-up, cosine to 0",
        logit_scale_max=100.0,
    )
    return TrainingState(
        model=model,
        losses=losses,
        wall_time_s=time.perf_counter() - t0,
        pool_time_s=pool_time,
        optimizer=hparams,
        pool_size=len(pool.pictures),
    )


def loss_summary(losses: list[float], n_points: int = 14) -> dict:
    """First, last and windowed mean losses (about ``n_points`` windows) of a loss curve."""
    arr = np.asarray(losses, dtype=float)
    edges = np.linspace(0, len(arr), min(n_points, len(arr)) + 1).astype(int)
    curve = [[int(b), round(float(arr[a:b].mean()), 4)] for a, b in zip(edges[:-1], edges[1:]) if b > a]
    tail = arr[-max(1, len(arr) // 10) :]
    return dict(
        first=round(float(arr[0]), 4),
        last_10pct_mean=round(float(tail.mean()), 4),
        min=round(float(arr.min()), 4),
        curve_step_mean=curve,
    )


def save_trained(
    state: TrainingState, spec: MiniModelSpec, root: str | os.PathLike | None = None, steps: int | None = None
) -> Path:
    """Write ``<root>/models/<slug>/``: config, fp16 safetensors weights, then ``training.json``."""
    import open_clip
    from safetensors.torch import save_file

    folder = model_dir(spec.name, root)
    folder.mkdir(parents=True, exist_ok=True)
    mixture = get_mixture(spec.mixture)
    tokenizer = mini_tokenizer()
    config = dict(
        model_cfg=mini_config(spec.arch),
        preprocess_cfg=preprocess_cfg(),
        tokenizer=dict(
            kind="vlmsel.mini.tokenizer.MiniTokenizer", words=tokenizer.words, context_length=tokenizer.context_length
        ),
    )
    with atomic_write(folder / "open_clip_config.json", "w") as fh:
        json.dump(config, fh, indent=1)
    sd = {
        k: v.detach().to(torch.float16).contiguous()
        for k, v in state.model.state_dict().items()
        if v.is_floating_point()
    }
    sd.update({k: v.detach().contiguous() for k, v in state.model.state_dict().items() if not v.is_floating_point()})
    weights = folder / "open_clip_model.safetensors"
    tmp = folder / ".open_clip_model.safetensors.partial"
    save_file(sd, str(tmp))
    os.replace(tmp, weights)
    manifest = dict(
        model=spec.name,
        arch=spec.arch,
        mixture=asdict(mixture) | {"domain_weights": mixture.weights()},
        seed=spec.seed,
        steps=int(spec.steps if steps is None else steps),
        batch_size=spec.batch_size,
        pool_size=state.pool_size,
        optimizer=state.optimizer,
        loss=loss_summary(state.losses),
        wall_time_s=round(state.wall_time_s, 1),
        pool_render_time_s=round(state.pool_time_s, 1),
        threads=torch.get_num_threads(),
        image_mean=list(IMAGE_MEAN),
        image_std=list(IMAGE_STD),
        params=int(sum(p.numel() for p in state.model.parameters())),
        weights_file=weights.name,
        weights_dtype="float16",
        weights_sha256=sha256_file(weights),
        versions=dict(
            python=platform.python_version(),
            torch=torch.__version__,
            open_clip=open_clip.__version__,
            numpy=np.__version__,
        ),
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )
    with atomic_write(folder / "training.json", "w") as fh:
        json.dump(manifest, fh, indent=1)
    return folder


def train_mini_model(
    model: str, root: str | os.PathLike | None = None, *, steps: int | None = None, show_progress: bool | None = None
) -> Path:
    """Train the zoo entry ``model`` (full name) and save it under ``root``; returns its folder."""
    spec = get_spec(model)
    state = train(spec, steps=steps, show_progress=show_progress)
    return save_trained(state, spec, root, steps=steps)
