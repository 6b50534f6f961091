"""The mini zoo: tiny CLIP architectures as open_clip model configs, and where their weights live.

Every architecture is an ordinary open_clip config (``embed_dim``, ``vision_cfg``, ``text_cfg``), so the
mini models are real ``open_clip.model.CLIP`` objects: the conductance engine, the zero-shot code and
the profiling pipeline treat them exactly like ViT-B-32. Vision families: open_clip ViTs of several
depths, widths and patch sizes, open_clip's ModifiedResNet, and a timm ConvNeXt tower
(``timm`` ``test_convnext``). All share one small text transformer fed by
:class:`~vlmsel.mini.tokenizer.MiniTokenizer`.

A *mini model* is an architecture plus a pretraining mixture (:mod:`vlmsel.mini.training`), named like
an open_clip model: ``"<arch> <mixture>"`` (e.g. ``"mini-vit-p8-w32-d6 colour"``). Its trained weights are a
folder ``<mini dir>/models/<slug>/`` that open_clip loads by itself::

    open_clip.create_model_and_transforms("local-dir:data/mini/models/mini-vit-p8-w32-d6__colour")

with ``open_clip_config.json`` (model and preprocessing config), ``open_clip_model.safetensors``
(fp16 weights) and ``training.json`` (the training manifest, written last). Use
:func:`load_mini_model` to get the model, its preprocessing and the right tokenizer in one call.
Taught in the chapter :ref:`ch-mini-world`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from vlmsel.files import atomic_write
from vlmsel.mini.domains.base import IMAGE_SIZE
from vlmsel.mini.paths import default_mini_dir
from vlmsel.mini.tokenizer import DEFAULT_CONTEXT_LENGTH, MiniTokenizer
from vlmsel.mini.zoo import MINI_ZOO, model_slug

IMAGE_MEAN = (0.48145466, 0.4578275, 0.40821073)
"""Per-channel normalisation mean of every mini model, open_clip's default (OpenAI's), so that
``open_clip.create_model_and_transforms(arch, pretrained=<weights file>)`` preprocesses correctly."""
IMAGE_STD = (0.26862954, 0.26130258, 0.27577711)
"""Per-channel normalisation standard deviation (open_clip's default, OpenAI's)."""

EMBED_DIM = 64

_TEXT_CFG: dict[str, Any] = dict(
    context_length=DEFAULT_CONTEXT_LENGTH,
    vocab_size=MiniTokenizer().vocab_size,
    width=32,
    heads=2,
    layers=2,
    pool_type="argmax",
)


def _vit(patch: int, width: int, layers: int, head_width: int = 16) -> dict:
    return dict(
        embed_dim=EMBED_DIM,
        vision_cfg=dict(image_size=IMAGE_SIZE, patch_size=patch, width=width, layers=layers, head_width=head_width),
        text_cfg=dict(_TEXT_CFG),
    )


def _timm(name: str) -> dict:
    return dict(
        embed_dim=EMBED_DIM,
        vision_cfg=dict(
            image_size=IMAGE_SIZE,
            timm_model_name=name,
            timm_model_pretrained=False,
            timm_pool="avg",
            timm_proj="linear",
        ),
        text_cfg=dict(_TEXT_CFG),
    )


TIMM_TOWERS: dict[str, tuple[str, dict]] = {
    "vlmsel_mini_convnext": ("convnext", dict(depths=(2, 2, 6, 2), dims=(16, 24, 40, 64))),
    "vlmsel_mini_timm_vit": (
        "vit",
        dict(img_size=IMAGE_SIZE, patch_size=8, embed_dim=32, depth=12, num_heads=2, mlp_ratio=3.0),
    ),
}
"""The timm towers of the mini zoo, timm model name -> (timm family, constructor arguments). timm has no
12-block tower this small, so :func:`register_timm_towers` registers these with ``timm.register_model``
(a process must import :mod:`vlmsel.mini.models` before open_clip can build them)."""


MINI_ARCHS: dict[str, dict] = {
    "mini-rn-w8": dict(
        embed_dim=EMBED_DIM,
        vision_cfg=dict(image_size=IMAGE_SIZE, layers=[3, 4, 3, 2], width=8, head_width=32),
        text_cfg=dict(_TEXT_CFG),
    ),
    "mini-convnext": _timm("vlmsel_mini_convnext"),
    "mini-vit-p8-w32": _vit(8, 32, 12),
    "mini-vit-p16-w64": _vit(16, 64, 12, head_width=32),
    "mini-timm-vit": _timm("vlmsel_mini_timm_vit"),
}
"""Architecture name -> open_clip model config (the config's JSON is what open_clip reads). Every
tower has 12 blocks (:mod:`vlmsel.conductance.blocks`): 3 + 4 + 3 + 2 bottlenecks, 2 + 2 + 6 + 2
ConvNeXt blocks, 12 transformer blocks."""

ARCH_FAMILY: dict[str, str] = {
    "mini-vit-p8-w32": "ViT",
    "mini-vit-p16-w64": "ViT",
    "mini-rn-w8": "ResNet",
    "mini-convnext": "ConvNeXt",
    "mini-timm-vit": "timm-ViT",
}


def mini_config(arch: str) -> dict:
    """A deep copy of the open_clip config of ``arch``."""
    try:
        return copy.deepcopy(MINI_ARCHS[arch])
    except KeyError:
        raise KeyError(f"unknown mini architecture {arch!r}; architectures: {list(MINI_ARCHS)}") from None


def preprocess_cfg() -> dict:
    """open_clip preprocessing config of every mini model (64 px, the mini world's mean and std)."""
    return dict(
        size=IMAGE_SIZE, mean=list(IMAGE_MEAN), std=list(IMAGE_STD), interpolation="bicubic", resize_mode="shortest"
    )


_REGISTERED: set[str] = set()


def register_timm_towers() -> None:
    """Register :data:`TIMM_TOWERS` with timm (idempotent), so ``timm.create_model`` builds them."""
    import timm
    from timm.models import register_model
    from timm.models.convnext import _create_convnext
    from timm.models.vision_transformer import _create_vision_transformer

    for name, (family, kwargs) in TIMM_TOWERS.items():
        if timm.is_model(name):
            continue
        # the test_* variants lend their (unused, pretrained=False) default config: input size, mean, std
        create, variant = (
            (_create_convnext, "test_convnext") if family == "convnext" else (_create_vision_transformer, "test_vit")
        )

        register_model(_timm_builder(name, create, variant, dict(kwargs)))


def _timm_builder(name: str, create, variant: str, kwargs: dict):
    """The function timm registers under ``name``: ``create(variant, ...)`` with the tower's arguments."""

    def build(pretrained: bool = False, **kw):
        return create(variant, pretrained=pretrained, **dict(kwargs, **kw))

    build.__name__ = name
    build.__module__ = __name__
    return build


def register_mini_configs() -> list[str]:
    """Make every mini architecture known to ``open_clip.create_model`` (idempotent).

    The configs are written as JSON to a folder in the temporary directory named by their hash and
    registered with ``open_clip.add_model_config`` (open_clip only reads configs from files); the timm
    towers are registered with timm (:func:`register_timm_towers`).
    """
    import open_clip

    from vlmsel.data.zoo import register_tokenizer

    register_timm_towers()
    for arch in MINI_ARCHS:
        register_tokenizer(arch, mini_tokenizer)

    payload = json.dumps(MINI_ARCHS, sort_keys=True)
    digest = hashlib.sha256(payload.encode()).hexdigest()[:12]
    if digest in _REGISTERED and all(a in open_clip.list_models() for a in MINI_ARCHS):
        return list(MINI_ARCHS)
    folder = Path(tempfile.gettempdir()) / f"vlmsel-mini-configs-{digest}"
    folder.mkdir(parents=True, exist_ok=True)

    for arch, cfg in MINI_ARCHS.items():
        path = folder / f"{arch}.json"
        text = json.dumps(cfg, indent=1, sort_keys=True)
        if not path.exists() or path.read_text() != text:
            with atomic_write(path, "w") as fh:
                fh.write(text)
    open_clip.add_model_config(folder)
    _REGISTERED.add(digest)
    return list(MINI_ARCHS)


def create_mini_model(arch: str, seed: int | None = None) -> torch.nn.Module:
    """A randomly initialised mini CLIP (``open_clip.model.CLIP``) of ``arch``; ``seed`` seeds torch first."""
    import open_clip

    mini_config(arch)  # clear error for unknown names
    register_mini_configs()
    if seed is not None:
        torch.manual_seed(seed)
    return open_clip.create_model(arch, pretrained=None, output_dict=True)


def mini_tokenizer() -> MiniTokenizer:
    """The tokenizer of every mini model."""
    return MiniTokenizer(context_length=int(_TEXT_CFG["context_length"]))


def to_model_input(images: np.ndarray) -> torch.Tensor:
    """uint8 images (N, 64, 64, 3) -> normalised float tensor (N, 3, 64, 64) for a mini model.

    Identical to open_clip's evaluation transform of the same images as PIL (64 px needs no resize).
    """
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"to_model_input: expected uint8 images (N, H, W, 3), got shape {images.shape}")
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(IMAGE_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGE_STD).view(1, 3, 1, 1)
    return (x - mean) / std


# ----------------------------------------------------------------------------------------------
# where the committed weights live


def model_dir(model: str, root: str | os.PathLike | None = None) -> Path:
    """Folder of a trained mini model (``<root>/models/<slug>``)."""
    root = Path(root) if root is not None else default_mini_dir()
    return root / "models" / model_slug(model)


def is_trained(model: str, root: str | os.PathLike | None = None) -> bool:
    """Whether the model's folder is complete (its ``training.json`` is written last)."""
    return (model_dir(model, root) / "training.json").is_file()


def load_mini_model(
    model: str, root: str | os.PathLike | None = None, device: str = "cpu"
) -> tuple[torch.nn.Module, Callable, MiniTokenizer]:
    """Load a trained mini model: ``(model in eval mode, open_clip eval transform, tokenizer)``.

    Parameters
    ----------
    model : full name ``"<arch> <mixture>"`` (see :func:`~vlmsel.mini.zoo.list_mini_models`).
    root : the mini data folder (default :func:`default_mini_dir`).
    """
    import open_clip

    folder = model_dir(model, root)
    if not (folder / "training.json").is_file():
        raise FileNotFoundError(
            f"mini model {model!r} is not trained: {folder}/training.json is missing "
            f"(train it with `vlmsel mini train --model '{model}'`)"
        )
    register_mini_configs()
    net, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{folder}", device=device)
    net.eval()
    cfg = json.loads((folder / "open_clip_config.json").read_text())
    tok = cfg.get("tokenizer", {})
    tokenizer = MiniTokenizer(
        tok.get("words", mini_tokenizer().words), tok.get("context_length", DEFAULT_CONTEXT_LENGTH)
    )
    return net, preprocess, tokenizer


def model_cost(arch: str) -> dict:
    """Parameter counts (millions) and image-tower GFLOPs for one 64x64 image (multiply-add = 2 FLOPs)."""
    from torch.utils.flop_counter import FlopCounterMode

    net: Any = create_mini_model(arch, seed=0).eval()
    x = torch.zeros(1, 3, IMAGE_SIZE, IMAGE_SIZE)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        net.encode_image(x)
    return dict(
        params_M=sum(p.numel() for p in net.parameters()) / 1e6,
        visual_params_M=sum(p.numel() for p in net.visual.parameters()) / 1e6,
        gflops=counter.get_total_flops() / 1e9,
    )


def register_mini_pretrained(root: str | os.PathLike | None = None) -> list[str]:
    """Make the trained mini models loadable by open_clip (and :func:`vlmsel.data.zoo.load_model`) by name.

    Registers every trained zoo model's mixture as an open_clip *pretrained tag* of its architecture,
    pointing at its local weights file (open_clip's ``{"file": path}`` form) with the mini
    preprocessing, so that ``open_clip.create_model_and_transforms("mini-vit-p8-w32-d6", pretrained="full")``
    and ``vlmsel.data.zoo.load_model("mini-vit-p8-w32 web")`` work. open_clip has no public API for this,
    so its registry dict ``open_clip.pretrained._PRETRAINED`` is extended. Note that
    ``open_clip.get_tokenizer`` still returns CLIP's tokenizer for these names: use
    :func:`mini_tokenizer`. Returns the full names registered.
    """
    from open_clip import pretrained as oc_pretrained

    register_mini_configs()
    names = []
    for spec in MINI_ZOO:
        folder = model_dir(spec.name, root)
        if not (folder / "training.json").is_file():
            continue
        cfg = dict(
            url="",
            hf_hub="",
            file=str((folder / "open_clip_model.safetensors").resolve()),
            mean=IMAGE_MEAN,
            std=IMAGE_STD,
            interpolation="bicubic",
            resize_mode="shortest",
            quick_gelu=False,
        )
        # open_clip looks tags up normalised (lower case, "-" -> "_": "web-long" is found as "web_long")
        oc_pretrained._PRETRAINED.setdefault(spec.arch, {})[spec.mixture.lower().replace("-", "_")] = cfg
        names.append(spec.name)
    return names
