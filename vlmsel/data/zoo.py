"""Model zoos: which open_clip models to choose from, and how to load each one correctly.

A zoo entry is an open_clip architecture (a config name such as ``"ViT-B-32"``) plus a pretrained tag
(``"laion2b_s34b_b79k"``), written together as the model's *full name* ``"ViT-B-32 laion2b_s34b_b79k"``
everywhere in vlmsel, with its family and its size (parameters, GFLOPs) from open_clip's table. The
named zoos come from the ground-truth data layer (:mod:`vlmsel.data.benchmarks`):

===============  ====  ========================================================================
zoo              size  models
===============  ====  ========================================================================
``lovm35``       35    LOVM's zoo (9 OpenAI CLIP, 13 LAION ViT, 9 ConvNeXt, 4 CoCa)
``openclip48``   48    LOVM's 35 + 13 that add EVA, SigLIP, DFN, DataComp, MetaCLIP and CLIPA
``openclip121``  121   every model of open_clip's published zero-shot table
===============  ====  ========================================================================

Any other list of models is a zoo too (:func:`load_zoo` reads a Python list, a CSV with columns
``arch,pretrained`` or a YAML list of ``[arch, pretrained]`` pairs as in LOVM's ``models.yml``).

**The QuickGELU rule.** OpenAI's CLIP weights were trained with the QuickGELU activation, but current
open_clip builds ``create_model("RN50", "openai")`` with GELU and only warns. The published numbers for
the OpenAI models were made with QuickGELU (they equal their ``-quickgelu`` twins), so :func:`load_model`
builds every model with the activation that produced its published numbers
(:func:`quick_gelu_rule`): QuickGELU when the config says so (``*-quickgelu``) or the tag is
``openai``; otherwise the config as named, even where the weights were trained with QuickGELU
(``ViT-B-32 laion400m_e32``, ``RN50 yfcc15m``: their published rows were evaluated with GELU, and the
``-quickgelu`` rows are separate models). Models outside the published table get the activation their
weights were trained with (open_clip's ``quick_gelu`` flag of the tag).

Taught in the chapter :ref:`ch-paper-scale` (the zoos of :ref:`ch-benchmarks`).
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import hashlib
import logging
import math
import os
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

import pandas as pd

from vlmsel import plugins
from vlmsel.data import PRECISIONS
from vlmsel.data.benchmarks import load_benchmark, openclip_models_meta

if TYPE_CHECKING:
    import torch

# torch and open_clip are imported inside the functions that build or run models: the zoo's names and
# facts (and so the command line's parsing and the worlds' registration) stay fast without them.


class ModelLoadError(RuntimeError):
    """A zoo model cannot be built or its weights cannot be loaded; the message says which and why."""


@dataclass(frozen=True)
class ZooEntry:
    """One model of a zoo.

    Attributes
    ----------
    arch : open_clip config name (``"ViT-B-32"``, ``"convnext_base_w"``, or a config added with
        :func:`register_model_configs`).
    pretrained : open_clip pretrained tag, or the path of a local checkpoint file.
    family : model family (``"OpenAI CLIP"``, ``"LAION ViT"``, ``"ConvNeXt"``, ...), ``None`` if unknown.
    params_M, gflops : whole model (image + text tower): millions of parameters, GFLOPs for one image
        plus one text (open_clip's table; NaN when unknown).
    image_params_M, image_gflops : the image tower alone (open_clip's ``model_profile.csv``; NaN when unknown).
    quick_gelu : build with QuickGELU (see :func:`quick_gelu_rule`).
    """

    arch: str
    pretrained: str
    family: str | None = None
    params_M: float = math.nan
    gflops: float = math.nan
    image_params_M: float = math.nan
    image_gflops: float = math.nan
    quick_gelu: bool = False

    @property
    def name(self) -> str:
        """The full name ``"<arch> <pretrained>"`` used as the model key in every vlmsel table."""
        return f"{self.arch} {self.pretrained}"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for manifests and DataFrames), with ``name`` first."""
        return {"name": self.name, **asdict(self)}


@dataclass(frozen=True)
class NamedZoo:
    """A zoo known by name: its models and the benchmark that holds their ground truth.

    Attributes
    ----------
    name : the zoo's name (``"openclip48"``).
    benchmark : the benchmark of its ground truth (:func:`vlmsel.data.benchmarks.load_benchmark`).
    entries : a function returning its :class:`ZooEntry` list; None: the benchmark's models, as open_clip
        models.
    note : what a user must know about these models, printed with every ``select`` result (the mini world:
        tiny models trained on generated images, not CLIP models).
    """

    name: str
    benchmark: str
    entries: Callable[[], list["ZooEntry"]] | None = None
    note: str = ""


#: The named zoos built into vlmsel; :func:`zoo_names` adds the registered ones (``mini``, yours).
BUILTIN_ZOOS: dict[str, NamedZoo] = {z.name: z for z in (
    NamedZoo("openclip48", "openclip48"), NamedZoo("lovm35", "lovm"), NamedZoo("openclip121", "openclip121"))}
#: Zoo name -> :class:`NamedZoo`: the built-in ones and those worlds register.
ZOO_REGISTRY: plugins.Registry[NamedZoo] = plugins.Registry("zoo", lambda: BUILTIN_ZOOS)


def register_zoo(name: str, benchmark: str, entries: Callable[[], list["ZooEntry"]] | None = None, *,
                 replace: bool = False, note: str = "") -> None:
    """Make ``load_zoo(name)`` return ``entries()`` and let ``vlmsel select --zoo name`` find its ground
    truth in ``benchmark`` (``note``: see :class:`NamedZoo`). How a world outside the core adds its models
    (see :mod:`vlmsel.plugins`)."""
    ZOO_REGISTRY.register(name, NamedZoo(name, benchmark, entries, note), replace=replace)


def named_zoo(name: str) -> NamedZoo | None:
    """The named zoo ``name`` (built in or registered), or None."""
    return ZOO_REGISTRY.get(name)


def zoo_names() -> list[str]:
    """Every zoo name :func:`load_zoo` accepts: the built-in ones, then the registered ones."""
    return ZOO_REGISTRY.names()


# ------------------------------------------------------------------------------------ metadata
@functools.lru_cache(maxsize=1)
def _table_info() -> pd.DataFrame:
    """Facts about the 121 models of open_clip's table (arch, tag, family, size, QuickGELU flags)."""
    info = load_benchmark("openclip121").model_info.copy()
    meta = openclip_models_meta()
    for col in ("tag_trained_with_quickgelu", "config_uses_quickgelu"):
        info[col] = meta.reindex(info.index)[col].map(lambda v: str(v).strip().lower() == "true")
    return info


def config_uses_quick_gelu(arch: str) -> bool:
    """Whether open_clip's config ``arch`` sets ``quick_gelu`` (the ``*-quickgelu`` configs do)."""
    import open_clip

    cfg = open_clip.get_model_config(arch)
    if cfg is None:
        raise ModelLoadError(_unknown_arch_message(arch))
    return bool(cfg.get("quick_gelu", False))


def quick_gelu_rule(arch: str, pretrained: str) -> bool:
    """The activation :func:`load_model` builds ``arch`` with: ``True`` for QuickGELU, ``False`` for GELU.

    1. the config sets ``quick_gelu`` (``*-quickgelu`` configs): QuickGELU;
    2. the tag is ``openai``: QuickGELU (OpenAI's weights; the published numbers use it);
    3. the model is in open_clip's published table: the config as named (its published row was
       evaluated that way, even where the weights were trained with QuickGELU);
    4. otherwise (models without published numbers): the activation the weights were trained with,
       open_clip's ``quick_gelu`` flag for the tag (GELU for a checkpoint file).
    """
    import open_clip

    if config_uses_quick_gelu(arch):
        return True
    if pretrained == "openai":
        return True
    if f"{arch} {pretrained}" in _table_info().index:
        return False
    cfg = open_clip.get_pretrained_cfg(arch, pretrained) or {}
    return bool(cfg.get("quick_gelu", False))


#: ZooEntry fields a model list may set.
_OVERRIDABLE = ("family", "params_M", "gflops", "image_params_M", "image_gflops", "quick_gelu")


def zoo_entry(arch: str, pretrained: str, **overrides: Any) -> ZooEntry:
    """A :class:`ZooEntry` with its facts filled in from open_clip's table where the model is there.

    ``overrides`` (``family``, ``quick_gelu``, ``gflops``, ...) replace the looked-up values. The
    architecture must be known to open_clip (built in, or added with :func:`register_model_configs`).
    """
    arch, pretrained = str(arch).strip(), str(pretrained).strip()
    if not arch or not pretrained:
        raise ValueError(f"a zoo entry needs an architecture and a pretrained tag; got {arch!r}, {pretrained!r}")
    unknown = sorted(set(overrides) - set(_OVERRIDABLE))
    if unknown:
        raise ValueError(f"unknown zoo entry field(s) {unknown} for {arch} {pretrained}; allowed: {list(_OVERRIDABLE)}")
    fields: dict[str, Any] = {}
    info = _table_info()
    name = f"{arch} {pretrained}"
    if name in info.index:
        row = info.loc[name]
        family = row["family"]
        fields = {
            "family": None if pd.isna(family) else str(family),
            **{k: float(row[k]) for k in ("params_M", "gflops", "image_params_M", "image_gflops")},
        }
    else:
        # Same architecture, other weights: the architecture's size is still known.
        same = info[info["arch"] == arch]
        if len(same):
            row = same.iloc[0]
            fields = {k: float(row[k]) for k in ("params_M", "gflops", "image_params_M", "image_gflops")}
    if "quick_gelu" not in overrides:
        fields["quick_gelu"] = quick_gelu_rule(arch, pretrained)
    fields.update({k: v for k, v in overrides.items() if v is not None and not (isinstance(v, float) and math.isnan(v))})
    if "quick_gelu" in fields:
        fields["quick_gelu"] = _as_bool(fields["quick_gelu"])
    for k in ("params_M", "gflops", "image_params_M", "image_gflops"):
        if k in fields:
            fields[k] = float(fields[k])
    return ZooEntry(arch=arch, pretrained=pretrained, **fields)


def _as_bool(v: Any) -> bool:
    if isinstance(v, str):
        s = v.strip().lower()
        if s in {"true", "1", "yes"}:
            return True
        if s in {"false", "0", "no", ""}:
            return False
        raise ValueError(f"quick_gelu must be true or false; got {v!r}")
    return bool(v)


# ---------------------------------------------------------------------------------------- zoos
def _parse_pair(item: Any) -> tuple[str, str, dict]:
    if isinstance(item, ZooEntry):
        return item.arch, item.pretrained, {}
    if isinstance(item, str):
        parts = item.split()
        if len(parts) != 2:
            raise ValueError(f"a model is written '<arch> <pretrained>'; got {item!r}")
        return parts[0], parts[1], {}
    if isinstance(item, dict):
        d = dict(item)
        if "arch" not in d or "pretrained" not in d:
            raise ValueError(f"a model entry needs the keys 'arch' and 'pretrained'; got {item!r}")
        return str(d.pop("arch")), str(d.pop("pretrained")), d
    if isinstance(item, (list, tuple)) and len(item) == 2:
        return str(item[0]), str(item[1]), {}
    raise ValueError(f"cannot read a model from {item!r}; use '<arch> <pretrained>', (arch, pretrained) or a dict")


def _read_model_file(path: Path) -> list[Any]:
    if not path.is_file():
        raise FileNotFoundError(f"model list {path} does not exist")
    if path.suffix.lower() == ".csv":
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        missing = {"arch", "pretrained"} - set(table.columns)
        if missing:
            raise ValueError(f"model list {path} lacks the column(s) {sorted(missing)}; it has {list(table.columns)}")
        keep = ["arch", "pretrained", *[c for c in table.columns if c in _OVERRIDABLE]]  # other columns are ignored
        return [{k: (row[k] if row[k] != "" else None) for k in keep} for row in table.to_dict("records")]
    if path.suffix.lower() in {".yml", ".yaml"}:
        import yaml

        items = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(items, list):
            raise ValueError(f"model list {path} must hold a YAML list of [arch, pretrained] pairs")
        return items
    if path.suffix.lower() in {".txt", ""}:
        return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]
    raise ValueError(f"model list {path}: use a .csv (columns arch,pretrained), .yaml or .txt file")


def load_zoo(zoo: str | os.PathLike | Iterable[Any]) -> list[ZooEntry]:
    """The models of a zoo, in the zoo's order.

    Parameters
    ----------
    zoo : a named zoo (``"lovm35"``, ``"openclip48"``, ``"openclip121"``); the path of a model list
        (``.csv`` with columns ``arch,pretrained`` and optionally ``family, quick_gelu, gflops,
        image_gflops, params_M, image_params_M``; ``.yaml`` list of ``[arch, pretrained]`` pairs;
        ``.txt`` with one ``"<arch> <pretrained>"`` per line); or a Python list of
        ``"<arch> <pretrained>"`` strings, ``(arch, pretrained)`` pairs, dicts or :class:`ZooEntry`.

    Raises
    ------
    KeyError : an unknown zoo name. ValueError : a duplicate model or a malformed entry.
    ModelLoadError : an architecture open_clip does not know.
    """
    named = named_zoo(zoo) if isinstance(zoo, str) else None
    if named is not None and named.entries is not None:
        items: list[Any] = list(named.entries())
    elif named is not None:
        items = list(load_benchmark(named.benchmark).models)
    elif isinstance(zoo, (str, os.PathLike)):
        path = Path(zoo)
        if not path.exists() and isinstance(zoo, str) and not any(c in zoo for c in "/\\.") :
            raise KeyError(f"unknown zoo {zoo!r}; the named zoos are {zoo_names()} (or give a model list file)")
        items = _read_model_file(path)
    else:
        items = list(zoo)
    entries = []
    for item in items:
        if isinstance(item, ZooEntry):
            entries.append(item)
            continue
        arch, tag, extra = _parse_pair(item)
        entries.append(zoo_entry(arch, tag, **extra))
    names = [e.name for e in entries]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"the zoo lists these models more than once: {dup}")
    if not entries:
        raise ValueError("the zoo is empty")
    return entries


def zoo_table(entries: Sequence[ZooEntry]) -> pd.DataFrame:
    """The zoo as a DataFrame indexed by full name (columns: the :class:`ZooEntry` fields)."""
    return pd.DataFrame([e.to_dict() for e in entries]).set_index("name")


def register_model_configs(path: str | os.PathLike) -> list[str]:
    """Make open_clip model configs (``<name>.json`` files, or a folder of them) loadable by name.

    Returns the config names that were added. Use it for your own architectures (for example the tiny
    models of the mini world), then refer to them as ``arch`` in a zoo with a checkpoint file as
    ``pretrained``.
    """
    import open_clip

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model config path {path} does not exist")
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if not files:
        raise ValueError(f"no model config (*.json) in {path}")
    before = set(open_clip.list_models())
    open_clip.add_model_config(path)
    return sorted(set(open_clip.list_models()) - before) or [f.stem for f in files]


# -------------------------------------------------------------------------------------- loading
def resolve_device(device: str | torch.device = "auto", available: bool = True) -> torch.device:
    """``"auto"`` -> the first of cuda, mps, cpu that is available; other values are checked: a name torch
    does not know, or (with ``available``) a device this machine does not have, raises ValueError naming
    ``--device``. ``available=False`` accepts any real device type (planning a run for another machine)."""
    import torch

    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if mps:
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"--device {device!r}: not a device name; use auto, cpu, cuda, cuda:N or mps") from None
    if dev.type == "meta":  # shapes only (how GFLOPs are measured without weights)
        return dev
    if dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"--device {device!r}: vlmsel runs on cpu, cuda or mps")
    if not available:
        return dev
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"--device {device!r}: this machine has no usable CUDA GPU "
                             "(torch.cuda.is_available() is False); use --device cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"--device {device!r}: there are only {torch.cuda.device_count()} CUDA device(s)")
    elif dev.type == "mps" and not mps:
        raise ValueError(f"--device {device!r}: Apple's MPS backend is not available here; use --device cpu")
    return dev


def init_seed(entry: ZooEntry | str, seed: int = 0) -> int:
    """The torch seed of a random-init model: a hash of ``seed`` and the full name, so a model's random
    weights do not depend on which other models are loaded in the same run or in which order."""
    name = entry.name if isinstance(entry, ZooEntry) else str(entry)
    return int(hashlib.sha256(f"{seed}:{name}".encode()).hexdigest()[:8], 16)


def _unknown_arch_message(arch: str) -> str:
    import open_clip

    close = difflib.get_close_matches(arch, open_clip.list_models(), n=5, cutoff=0.6)
    hint = f"; close matches: {close}" if close else ""
    return f"unknown open_clip architecture {arch!r}{hint} (see open_clip.list_models(), or register your own config)"


TOKENIZERS: dict[str, Callable[[], Any]] = {}
"""Architecture -> factory of its tokenizer, for towers whose tokenizer ``open_clip.get_tokenizer`` cannot
build from the config (it returns CLIP's tokenizer for any config without a Hugging Face tokenizer name).
Filled by :func:`register_tokenizer`; :func:`load_model` consults it first."""


def register_tokenizer(arch: str, factory: Callable[[], Any]) -> None:
    """Make :func:`load_model` build ``factory()`` as the tokenizer of every model of architecture ``arch``."""
    TOKENIZERS[arch] = factory


def check_entry(entry: ZooEntry, pretrained: bool = True) -> None:
    """Raise :class:`ModelLoadError` if ``entry`` cannot be built: unknown architecture, or (when
    ``pretrained``) a tag that open_clip does not know for it and that is not a checkpoint file."""
    import open_clip

    if open_clip.get_model_config(entry.arch) is None:
        raise ModelLoadError(f"cannot load {entry.name!r}: {_unknown_arch_message(entry.arch)}")
    if pretrained and not open_clip.get_pretrained_cfg(entry.arch, entry.pretrained) and not os.path.isfile(entry.pretrained):
        tags = open_clip.list_pretrained_tags_by_model(entry.arch)
        raise ModelLoadError(
            f"cannot load {entry.name!r}: {entry.pretrained!r} is neither a pretrained tag of {entry.arch} "
            f"(its tags: {tags}) nor a checkpoint file"
        )


def _offline() -> bool:
    return any(os.environ.get(v, "").strip().lower() in {"1", "true", "yes", "on"} for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def load_model(
    entry: ZooEntry | str,
    pretrained: bool = True,
    device: str | torch.device = "cpu",
    precision: str = "fp32",
    *,
    seed: int = 0,
    with_tokenizer: bool = True,
    cache_dir: str | None = None,
) -> tuple[torch.nn.Module, Callable, Callable | None]:
    """Build a zoo model with open_clip's own loading and weight cache, in eval mode.

    Parameters
    ----------
    entry : a :class:`ZooEntry` or a full name ``"<arch> <pretrained>"``.
    pretrained : load the pretrained weights (``True``, default; from open_clip's cache, downloading
        them if needed) or build the same architecture with random weights (``False``: offline, for
        tests and CI; the weights are seeded by :func:`init_seed` of ``seed`` and the name).
    device : ``"cpu"``, ``"cuda"``, ``"auto"`` (:func:`resolve_device`), or ``"meta"`` (structure only).
    precision : one of :data:`vlmsel.data.PRECISIONS` (default ``"fp32"``).
    seed : seed of the random initialisation when ``pretrained=False``.
    with_tokenizer : also build the tokenizer (may need the network for Hugging Face text towers).
    cache_dir : open_clip's download cache (default: Hugging Face's).

    Returns
    -------
    (model, preprocess, tokenizer) : the model in eval mode with the activation of
    :func:`quick_gelu_rule`; ``preprocess`` maps a PIL image to a float tensor (3, H, W) normalised for
    the model; ``tokenizer`` maps ``list[str]`` to a LongTensor (B, context_length), or ``None`` when
    ``with_tokenizer=False``.

    Raises
    ------
    ModelLoadError : naming the model and why (unknown architecture or tag, weights not in the cache
    and no network, a Hugging Face text tower that needs the network, ...).
    """
    import torch

    import open_clip

    if isinstance(entry, str):
        entry = load_zoo([entry])[0]
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}; got {precision!r}")
    check_entry(entry, pretrained=pretrained)
    dev = resolve_device(device)
    kwargs = dict(
        pretrained=entry.pretrained if pretrained else None,
        precision=precision,
        device=dev,
        force_quick_gelu=entry.quick_gelu,
        pretrained_text=False,
        cache_dir=cache_dir,
    )
    if not entry.quick_gelu and open_clip.get_model_config(entry.arch).get("quick_gelu", False):
        kwargs["quick_gelu"] = False  # a user override of a *-quickgelu config
    seed_ctx: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if not pretrained:
        seed_ctx = torch.random.fork_rng(devices=[])
    try:
        # On the meta device, build the parameters there directly (no random init work at all).
        meta_ctx = torch.device("meta") if dev.type == "meta" else contextlib.nullcontext()
        with seed_ctx, meta_ctx, warnings.catch_warnings(), _quiet_open_clip():
            if not pretrained:
                torch.manual_seed(init_seed(entry, seed))
            # The rule above chooses the activation on purpose; open_clip's mismatch warning is noise here.
            warnings.filterwarnings("ignore", message="QuickGELU mismatch")
            model, _, preprocess = open_clip.create_model_and_transforms(entry.arch, **kwargs)
    except ModelLoadError:
        raise
    except Exception as err:  # open_clip raises RuntimeError / OSError / HF errors
        raise ModelLoadError(_load_failure_message(entry, pretrained, err)) from err
    model.eval()
    tokenizer = None
    if with_tokenizer:
        try:
            factory = TOKENIZERS.get(entry.arch)
            tokenizer = factory() if factory is not None else open_clip.get_tokenizer(entry.arch, cache_dir=cache_dir)
        except Exception as err:
            raise ModelLoadError(
                f"cannot load the tokenizer of {entry.name!r}: {err}"
                + (" (HF_HUB_OFFLINE is set and the tokenizer is not cached)" if _offline() else "")
            ) from err
    return model, preprocess, tokenizer


@contextlib.contextmanager
def _quiet_open_clip():
    """open_clip logs an ERROR before raising and a WARNING for every random init; we raise our own."""
    logger = logging.getLogger()
    old = logger.level
    logger.setLevel(max(old, logging.CRITICAL))
    try:
        yield
    finally:
        logger.setLevel(old)


def _load_failure_message(entry: ZooEntry, pretrained: bool, err: Exception) -> str:
    text = str(err)
    lowered = text.lower()
    if "cuda" in lowered or "nvidia" in lowered:  # (NVIDIA's driver message contains a "Download" link)
        return f"cannot load {entry.name!r} on this device: {text.splitlines()[0]}"
    if pretrained and ("download" in lowered or "hub" in lowered or "cache" in lowered):
        why = "its pretrained weights are not in the local cache and could not be downloaded"
        if _offline():
            why += " (HF_HUB_OFFLINE is set: downloads are off)"
        return f"cannot load {entry.name!r}: {why}. open_clip said: {text}"
    if "hf_model_name" in text or "huggingface" in text.lower() or "hf.co" in text.lower():
        return f"cannot build {entry.name!r}: its Hugging Face text tower needs files that are not cached ({text})"
    what = "pretrained" if pretrained else "random-init"
    return f"cannot build {entry.name!r} ({what}): {type(err).__name__}: {text}"


def activation_counts(model: torch.nn.Module) -> dict[str, int]:
    """How many QuickGELU and GELU modules ``model`` holds: ``{"QuickGELU": n, "GELU": m}``."""
    import torch

    from open_clip.transformer import QuickGELU

    mods = list(model.modules())
    return {
        "QuickGELU": sum(isinstance(m, QuickGELU) for m in mods),
        "GELU": sum(isinstance(m, torch.nn.GELU) for m in mods),
    }


def measure_image_gflops(entry: ZooEntry) -> float:
    """GFLOPs of one image through the image tower, counted by torch's FlopCounterMode on a model built
    on the ``meta`` device (no memory, no weights). Agrees with open_clip's ``model_profile.csv``
    (ViT-B-32: 8.8). Used for models outside open_clip's table."""
    import torch

    from torch.utils.flop_counter import FlopCounterMode

    model: Any
    model, _, _ = load_model(entry, pretrained=False, device="meta", with_tokenizer=False)
    size = model.visual.image_size if hasattr(model.visual, "image_size") else 224
    size = tuple(size) if isinstance(size, (tuple, list)) else (size, size)
    x = torch.zeros(1, 3, *size, device="meta")
    counter = FlopCounterMode(display=False)
    with counter:
        model.encode_image(x)
    return counter.get_total_flops() / 1e9


def with_image_gflops(entry: ZooEntry) -> ZooEntry:
    """``entry`` with ``image_gflops`` filled in by :func:`measure_image_gflops` when it is unknown."""
    if not math.isnan(entry.image_gflops):
        return entry
    return replace(entry, image_gflops=measure_image_gflops(entry))
