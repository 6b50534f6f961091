"""Layer conductance of every block of a visual tower, from one set of forward and backward passes.

The algorithm is taught in the chapter :ref:`ch-conductance`; the blocks and the four block
scalars in the chapter :ref:`ch-clip-encoder`. The method page defines it (:ref:`method-objective` to
:ref:`method-block-scalars`).

For images ``x`` (N, 3, H, W), baselines ``x'``, path points ``α_0 < ... < α_n`` (:func:`path_alphas`),
an objective ``F`` (default ``||encode_image(x, normalize=False)||_2``) and every block ``l`` with output
``h_l`` (flattened to ``D_l`` neurons), the per-neuron conductance is

    Cond_{l,j}(x) = sum_{k=1..n} w_{l,j,k} * ( h_{l,j}(x(α_k)) - h_{l,j}(x(α_{k-1})) )

with ``w = dF/dh_{l,j}(x(α_{k-1}))`` for ``rule="left"`` (captum's ``LayerConductance``; identical to it
for the same alphas) or the mean of the gradients at both ends of the step for ``rule="trapezoid"``.

How it runs. The ``N (n+1)`` path points are ordered image by image (all points of image 0, then of
image 1, ...) and processed in chunks of ``internal_batch_size``. For each chunk one forward pass runs
with a forward hook on every block, which keeps a reference to the block's output (and, for residual
blocks, its input); then a single ``torch.autograd.grad(F.sum(), [h_1, ..., h_L])`` gives every block's
output gradient at once (the backward stops at the first block; parameter gradients are never computed).
The step terms ``w * Δh`` are batched tensor operations per block; the last point of a chunk is carried
to the next chunk so no point is evaluated twice; per-neuron sums are kept only for the images the
current chunk touches and are reduced to block scalars as soon as an image's path is complete.
Peak memory therefore grows with ``internal_batch_size`` (activations of one chunk plus
``O(internal_batch_size * sum_l D_l)`` for outputs, gradients and running sums), never with ``N`` or ``n_steps``.

Outputs per image and block (:ref:`method-block-scalars`): ``abs = sum_j |Cond_{l,j}|``, ``l2 = ||Cond_l||_2``,
``signed = sum_j Cond_{l,j}``, and ``branch``, the signed conductance of the residual increment
``h_l - h_in`` (the block's output minus its input; NaN for bottleneck and stage blocks), plus ``F(x)``,
``F(x')`` and the completeness gap ``signed - (F(x) - F(x'))``. By completeness every residual-stream
block's ``signed`` tends to ``F(x) - F(x')`` as ``n_steps`` grows; with Gauss-Legendre points, which do not
include 0 and 1, the sum telescopes to ``F(x(α_n)) - F(x(α_0))`` at best.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import time
from typing import Any, Iterator, Sequence

import numpy as np
import torch
import torch.nn as nn

from vlmsel.conductance.blocks import Block, discover_blocks
from vlmsel.conductance.objectives import Objective, objective_name, resolve_objective
from vlmsel.conductance.options import DEFAULT_INTERNAL_BATCH_SIZE, RULES, SCALARS
from vlmsel.conductance.paths import make_baseline, path_alphas, path_points
from vlmsel.progress import progress

__all__ = ["SCALARS", "RULES", "ConductanceResult", "block_conductance", "image_encoder", "evaluation_mode"]


@dataclasses.dataclass
class ConductanceResult:
    """Block conductance of ``N`` images through the ``L`` blocks of one model.

    Attributes
    ----------
    block_names : (L,) str array, block module paths in forward order (see :func:`discover_blocks`).
    block_kinds : (L,) str array, ``"residual"``, ``"bottleneck"`` or ``"stage"``.
    scalars : dict ``{"abs", "l2", "signed", "branch"} -> (N, L)`` float64 arrays (:ref:`method-block-scalars`);
        ``"branch"`` is NaN in the columns of blocks whose kind is not ``"residual"``.
    f_x : (N,) ``F(x)``, the objective at the images.
    f_baseline : (N,) ``F(x')``, the objective at the baselines.
    completeness_gap : (N, L) ``scalars["signed"] - (f_x - f_baseline)``.
    alphas : (n_steps + 1,) the path points.
    f_path : (N, n_steps + 1) ``F(x(α_k))`` at every path point.
    neuron_block : name of the block whose per-neuron conductance was kept, or None.
    neuron_conductance : ``(N, *block_output_shape)`` per-neuron conductance of ``neuron_block`` (batch
        first, e.g. (N, tokens, width) for a ViT block, (N, C, H, W) for a convolutional one), or None.
    settings : the arguments that produced the result (n_steps, method, rule, baseline, objective,
        granularity, internal_batch_size, device, dtype, autocast) and ``wall_time_s``.
    """

    block_names: np.ndarray
    block_kinds: np.ndarray
    scalars: dict[str, np.ndarray]
    f_x: np.ndarray
    f_baseline: np.ndarray
    completeness_gap: np.ndarray
    alphas: np.ndarray
    f_path: np.ndarray
    neuron_block: str | None = None
    neuron_conductance: np.ndarray | None = None
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def n_images(self) -> int:
        return int(self.f_x.shape[0])

    @property
    def n_blocks(self) -> int:
        return int(self.block_names.shape[0])

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The arrays a profile stores: abs, l2, signed, branch (N, L); f_x, f_baseline (N,); block_names (L,)."""
        out = {k: self.scalars[k] for k in SCALARS}
        out.update(f_x=self.f_x, f_baseline=self.f_baseline, block_names=self.block_names)
        return out


@contextlib.contextmanager
def evaluation_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in eval mode with every parameter frozen; restore both on exit.

    Eval mode makes every path point independent of the others in its batch (BatchNorm uses its running
    statistics, dropout and drop-path are off); frozen parameters keep autograd from saving tensors that
    only parameter gradients would need.
    """
    modes = [(m, m.training) for m in model.modules()]
    flags = [(p, p.requires_grad) for p in model.parameters()]
    try:
        model.eval()
        for p, _ in flags:
            p.requires_grad_(False)
        yield model
    finally:
        for m, mode in modes:
            m.training = mode
        for p, flag in flags:
            p.requires_grad_(flag)


def image_encoder(model: nn.Module):
    """``x -> f(x)``: ``model.encode_image(x, normalize=False)``, or a bare tower's forward output."""
    encode = getattr(model, "encode_image", None)
    if callable(encode):
        return lambda x: encode(x, normalize=False)

    def forward(x: torch.Tensor) -> torch.Tensor:
        out = model(x)
        return out[0] if isinstance(out, (tuple, list)) else out

    return forward


def path_point_flops(model: nn.Module, image: torch.Tensor, *, autocast: bool = False) -> float:
    """FLOPs of one path point: the forward pass of ``image`` (shape (1, 3, H, W) or (3, H, W)) and the
    backward pass to the image, as :func:`block_conductance` runs them (parameters frozen), counted by
    ``torch.utils.flop_counter.FlopCounterMode`` (matrix products, convolutions and attention).

    The speed scripts (``perf/``) divide these by the measured time to report effective FLOP/s.
    """
    from torch.utils.flop_counter import FlopCounterMode

    from vlmsel.conductance.objectives import embedding_norm

    image = image if image.ndim == 4 else image[None]
    encode = image_encoder(model)
    device_type = image.device.type
    with evaluation_mode(model):
        leaf = image[:1].detach().clone().requires_grad_(True)
        with FlopCounterMode(display=False) as counter:
            # FlopCounterMode tracks modules with backward hooks on their inputs, which autograd.grad
            # refuses on a leaf (torch 2.14): the model sees a non-leaf copy of the leaf.
            x = leaf * 1.0
            with torch.autocast(device_type, torch.bfloat16, enabled=bool(autocast)):
                emb = encode(x)
            torch.autograd.grad(embedding_norm(emb.float()).sum(), leaf)
    return float(counter.get_total_flops())


class _BlockRecorder:
    """Forward hooks that keep each block's output (and input, for residual blocks) during one forward."""

    def __init__(self, blocks: Sequence[Block]):
        self.blocks = list(blocks)
        self.recording = False
        self.outputs: list[torch.Tensor | None] = [None] * len(self.blocks)
        self.inputs: list[torch.Tensor | None] = [None] * len(self.blocks)
        self.handles = [
            b.module.register_forward_hook(self._hook(i), with_kwargs=True) for i, b in enumerate(self.blocks)
        ]

    def _hook(self, i: int):
        block = self.blocks[i]

        def hook(module, args, kwargs, output):
            if not self.recording:
                return None
            if self.outputs[i] is not None:
                raise RuntimeError(
                    f"block {block.name!r} ran twice in one forward pass; conductance needs each block to run "
                    "once per image (turn off gradient checkpointing / module reuse)"
                )
            if not isinstance(output, torch.Tensor):
                raise TypeError(f"block {block.name!r} returned {type(output).__name__}, expected one tensor")
            self.outputs[i] = output
            if block.has_branch:
                inp = args[0] if args else next(iter(kwargs.values()), None)
                if not isinstance(inp, torch.Tensor) or inp.shape != output.shape:
                    raise ValueError(
                        f"block {block.name!r} is registered as residual but its input "
                        f"{None if not isinstance(inp, torch.Tensor) else tuple(inp.shape)} does not match "
                        f"its output {tuple(output.shape)}"
                    )
                self.inputs[i] = inp
            return None

        return hook

    def reset(self) -> None:
        self.outputs = [None] * len(self.blocks)
        self.inputs = [None] * len(self.blocks)

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles = []


def _flat(t: torch.Tensor, batch_dim: int, dtype: torch.dtype) -> torch.Tensor:
    """(…batch at batch_dim…) -> (B, D) in ``dtype``."""
    if batch_dim != 0:
        t = t.movedim(batch_dim, 0)
    return t.reshape(t.shape[0], -1).to(dtype)


def _step_terms(h0, h1, g0, g1, rule: str) -> torch.Tensor:
    """``w * (h1 - h0)`` per step, ``w = g0`` (left) or ``(g0 + g1) / 2`` (trapezoid). All (S, D)."""
    d = h1 - h0
    if rule == "left":
        return d.mul_(g0)
    return d.mul_(g0 + g1).mul_(0.5)


def _resolve_neuron_block(neuron_block, blocks: Sequence[Block]) -> int | None:
    if neuron_block is None:
        return None
    names = [b.name for b in blocks]
    if isinstance(neuron_block, Block):
        neuron_block = neuron_block.name
    if isinstance(neuron_block, (int, np.integer)) and not isinstance(neuron_block, bool):
        idx = int(neuron_block)
        if not -len(blocks) <= idx < len(blocks):
            raise ValueError(f"neuron_block={idx} is out of range for {len(blocks)} blocks")
        return idx % len(blocks)
    if isinstance(neuron_block, str):
        for cand in (neuron_block, "visual." + neuron_block):
            if cand in names:
                return names.index(cand)
        raise ValueError(f"neuron_block={neuron_block!r} is not a block of this model; blocks: {names}")
    raise TypeError(f"neuron_block must be None, an index, a block name or a Block, got {neuron_block!r}")


def _param_dtype_device(model: nn.Module, images: torch.Tensor) -> tuple[torch.dtype, torch.device]:
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype, p.device
    return images.dtype, images.device


def block_conductance(
    model: nn.Module,
    images: torch.Tensor,
    *,
    n_steps: int = 50,
    method: str = "gausslegendre",
    rule: str = "left",
    baseline: str | torch.Tensor = "zeros",
    objective: Objective | str | None = None,
    internal_batch_size: int = DEFAULT_INTERNAL_BATCH_SIZE,
    granularity: str = "block",
    neuron_block: int | str | Block | None = None,
    autocast: bool | torch.dtype = False,
    dtype: torch.dtype | None = None,
    blocks: Sequence[Block] | None = None,
    show_progress: bool | None = None,
) -> ConductanceResult:
    """Conductance of every block of ``model``'s visual tower for each image, in one pass.

    Parameters
    ----------
    model : open_clip ``CLIP`` / ``CoCa`` / ``CustomTextCLIP`` model (the engine calls
        ``model.encode_image(x, normalize=False)``), or a bare visual tower. Its mode and parameter
        ``requires_grad`` flags are set to eval / frozen during the call and restored afterwards.
    images : float tensor (N, 3, H, W), already preprocessed (normalised) for the model; moved to the
        model's device.
    n_steps : number of steps ``n`` (the path has ``n + 1`` points). Default 50.
    method : ``"gausslegendre"`` (default) or ``"riemann_trapezoid"``: which points (:func:`path_alphas`,
        identical to captum's for the same method and ``n_steps``).
    rule : ``"left"`` (default; the gradient at the left end of each step, as captum) or ``"trapezoid"``
        (the mean of the gradients at both ends).
    baseline : ``"zeros"`` (default), ``"black"``, ``"blur"`` or a tensor broadcastable to ``images``
        (see :func:`make_baseline`).
    objective : ``None`` (default, ``||f(x)||_2``) or any callable (B, E) embeddings -> (B,) values.
    internal_batch_size : path points per forward/backward pass (>= 1, default
        :data:`~vlmsel.conductance.options.DEFAULT_INTERNAL_BATCH_SIZE`, 64); sets the peak memory
        (measured on CPU for ViT-B-32: 1.3 GB for the model, plus ~1.9 GB at 64 points; see
        ``perf/README.md``). The results do not depend on it beyond float rounding.
    granularity : ``"block"`` (default) or ``"stage"`` (see :func:`discover_blocks`).
    neuron_block : a block (index, name or :class:`Block`) whose per-neuron conductance to return.
    autocast : ``True`` runs the forward passes under ``torch.autocast`` with bfloat16 (or pass a dtype);
        sums are kept in float32.
    dtype : run in this floating dtype (e.g. ``torch.float64`` for validation). When it differs from the
        model's, a converted deep copy of the model is used (the model itself is not changed).
    blocks : blocks to use instead of ``discover_blocks(model, granularity)`` (modules of ``model``).
    show_progress : progress bar over chunks (default: on unless ``VLMSEL_PROGRESS=0`` or CI).

    Returns
    -------
    ConductanceResult with scalars (N, L), f_x, f_baseline (N,), completeness_gap (N, L), ...
    """
    t_start = time.perf_counter()
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    alphas = path_alphas(method, n_steps)
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or not images.is_floating_point():
        desc = type(images).__name__
        if isinstance(images, torch.Tensor):
            desc = f"{images.dtype} tensor of shape {tuple(images.shape)}"
        raise ValueError(f"images must be a float tensor of shape (N, 3, H, W), got {desc}")
    if images.shape[0] == 0:
        raise ValueError("images is empty (N = 0)")
    ibs_ok = isinstance(internal_batch_size, (int, np.integer)) and not isinstance(internal_batch_size, bool)
    if not ibs_ok or internal_batch_size < 1:
        raise ValueError(f"internal_batch_size must be an integer >= 1, got {internal_batch_size!r}")
    if autocast and dtype == torch.float64:
        raise ValueError("autocast and dtype=torch.float64 cannot be combined")
    if dtype is not None and not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating dtype, got {dtype}")

    work = model
    model_dtype, device = _param_dtype_device(model, images)
    if dtype is not None and dtype != model_dtype:
        if blocks is not None:
            raise ValueError("pass either blocks= or a dtype different from the model's, not both")
        work = copy.deepcopy(model).to(dtype)
        model_dtype = dtype
    comp_dtype = model_dtype
    blocks = list(blocks) if blocks is not None else discover_blocks(work, granularity)
    L = len(blocks)
    nb = _resolve_neuron_block(neuron_block, blocks)
    encode = image_encoder(work)
    obj = resolve_objective(objective)
    ac_dtype = (autocast if isinstance(autocast, torch.dtype) else torch.bfloat16) if autocast else None
    acc_dtype = torch.float64 if comp_dtype == torch.float64 else torch.float32

    x = images.detach().to(device=device, dtype=comp_dtype)
    xb = make_baseline(x, baseline, model=work)
    N, P = x.shape[0], len(alphas)
    total = N * P
    B = int(internal_batch_size)
    alpha_t = torch.tensor(alphas, dtype=torch.float64).to(device=device, dtype=comp_dtype)

    def evaluate(batch: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=device.type, dtype=ac_dtype, enabled=ac_dtype is not None):
            emb = encode(batch)
        values = obj(emb)
        if not isinstance(values, torch.Tensor) or values.shape != (batch.shape[0],):
            shape = tuple(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__
            raise ValueError(f"the objective must return one value per image, shape ({batch.shape[0]},); got {shape}")
        return values

    # Results (filled as images complete).
    res = {k: np.full((N, L), np.nan) for k in SCALARS}
    f_path = np.full((N, P), np.nan)
    neuron: torch.Tensor | None = None
    neuron_shape: tuple[int, ...] = ()

    # Carry between chunks: the last point of the previous chunk and the running sums of its image.
    carry_h: list[Any] = [None] * L
    carry_g: list[Any] = [None] * L
    carry_d: list[Any] = [None] * L
    carry_acc: list[Any] = [None] * L
    carry_bacc: list[Any] = [None] * L
    has_branch = [b.has_branch for b in blocks]

    recorder = _BlockRecorder(blocks)
    try:
        with evaluation_mode(work), torch.enable_grad():
            n_chunks = (total + B - 1) // B
            for c in progress(range(n_chunks), total=n_chunks, desc="conductance", enabled=show_progress):
                s, e = c * B, min((c + 1) * B, total)
                pts = torch.arange(s, e)
                img = pts // P
                first_img, last_img = int(img[0]), int(img[-1])
                n_local = last_img - first_img + 1
                xp = path_points(x, xb, img.to(device), alpha_t[(pts % P).to(device)]).requires_grad_(True)

                recorder.reset()
                recorder.recording = True
                try:
                    values = evaluate(xp)
                finally:
                    recorder.recording = False
                missing = [blocks[i].name for i, o in enumerate(recorder.outputs) if o is None]
                if missing:
                    raise RuntimeError(f"these blocks did not run in the forward pass: {missing}")
                outs = [o for o in recorder.outputs if o is not None]  # (all of them: checked above)
                ins: list[Any] = recorder.inputs
                try:
                    grads = torch.autograd.grad(values.sum(), outs)
                except RuntimeError as err:
                    raise RuntimeError(
                        f"could not differentiate the objective with respect to every block output ({err}); "
                        "is every block on the path from the image to the embedding?"
                    ) from err
                f_path.reshape(-1)[s:e] = values.detach().double().cpu().numpy()

                # Pairs (point i, point i+1) inside the chunk; valid when both belong to one image.
                local = (img - first_img).to(device)
                valid = (img[1:] == img[:-1]).to(device)
                invalid_rows = (~valid).nonzero().flatten()
                carry_valid = s > 0 and (s - 1) // P == first_img
                complete_upto = n_local if e % P == 0 else n_local - 1  # local images finished after this chunk

                for l, blk in enumerate(blocks):
                    H = _flat(outs[l].detach(), blk.batch_dim, acc_dtype)
                    G = _flat(grads[l], blk.batch_dim, acc_dtype)
                    acc = torch.zeros((n_local, H.shape[1]), dtype=acc_dtype, device=device)
                    if carry_valid:
                        acc[0] += carry_acc[l]
                        acc[0] += _step_terms(carry_h[l], H[0:1], carry_g[l], G[0:1], rule)[0]
                    if H.shape[0] > 1:
                        terms = _step_terms(H[:-1], H[1:], G[:-1], G[1:], rule)
                        if invalid_rows.numel():
                            terms[invalid_rows] = 0
                        acc.index_add_(0, local[1:], terms)
                    bacc = None
                    if has_branch[l]:
                        D = outs[l].detach() - ins[l].detach()
                        D = _flat(D, blk.batch_dim, acc_dtype)
                        bacc = torch.zeros(n_local, dtype=acc_dtype, device=device)
                        if carry_valid:
                            bacc[0] += carry_bacc[l][0]
                            bacc[0] += _step_terms(carry_d[l], D[0:1], carry_g[l], G[0:1], rule).sum()
                        if D.shape[0] > 1:
                            bterms = _step_terms(D[:-1], D[1:], G[:-1], G[1:], rule).sum(dim=1)
                            if invalid_rows.numel():
                                bterms[invalid_rows] = 0
                            bacc.index_add_(0, local[1:], bterms)
                        carry_d[l] = D[-1:].clone()

                    if complete_upto > 0:
                        done = acc[:complete_upto]
                        rows = slice(first_img, first_img + complete_upto)
                        res["abs"][rows, l] = done.abs().sum(dim=1).double().cpu().numpy()
                        res["l2"][rows, l] = torch.linalg.vector_norm(done, dim=1).double().cpu().numpy()
                        res["signed"][rows, l] = done.sum(dim=1).double().cpu().numpy()
                        if bacc is not None:
                            res["branch"][rows, l] = bacc[:complete_upto].double().cpu().numpy()
                        if l == nb:
                            if neuron is None:
                                neuron_shape = tuple(outs[l].movedim(blk.batch_dim, 0).shape[1:])
                                neuron = torch.zeros((N, H.shape[1]), dtype=acc_dtype)
                            neuron[rows] = done.cpu()
                    carry_h[l] = H[-1:].clone()
                    carry_g[l] = G[-1:].clone()
                    carry_acc[l] = acc[-1].clone()
                    carry_bacc[l] = bacc[-1:].clone() if bacc is not None else None
                del outs, grads, values, xp
                recorder.reset()

            # F(x) and F(x'): reuse the path's ends when the points include 0 and 1, else evaluate them.
            if alphas[0] == 0.0 and alphas[-1] == 1.0:
                f_baseline, f_x = f_path[:, 0].copy(), f_path[:, -1].copy()
            else:
                with torch.no_grad():
                    ends = torch.cat([x, xb])
                    ends_f = torch.cat([evaluate(ends[i : i + B]) for i in range(0, 2 * N, B)])
                vals = ends_f.double().cpu().numpy()
                f_x, f_baseline = vals[:N], vals[N:]
    finally:
        recorder.remove()

    for l, blk in enumerate(blocks):
        if not blk.has_branch:
            res["branch"][:, l] = np.nan
    gap = res["signed"] - (f_x - f_baseline)[:, None]
    settings = dict(
        n_steps=int(n_steps),
        method=method,
        rule=rule,
        baseline=baseline if isinstance(baseline, str) else "tensor",
        objective=objective_name(objective),
        granularity=granularity,
        internal_batch_size=B,
        device=str(device),
        dtype=str(comp_dtype).replace("torch.", ""),
        autocast=str(ac_dtype).replace("torch.", "") if ac_dtype is not None else False,
        wall_time_s=time.perf_counter() - t_start,
    )
    return ConductanceResult(
        block_names=np.array([b.name for b in blocks]),
        block_kinds=np.array([b.kind for b in blocks]),
        scalars=res,
        f_x=np.asarray(f_x, dtype=np.float64),
        f_baseline=np.asarray(f_baseline, dtype=np.float64),
        completeness_gap=gap,
        alphas=np.asarray(alphas, dtype=np.float64),
        f_path=f_path,
        neuron_block=blocks[nb].name if nb is not None else None,
        neuron_conductance=neuron.reshape((N,) + neuron_shape).numpy() if neuron is not None else None,
        settings=settings,
    )
