"""The mini zoo: which (architecture, pretraining mixture) pairs are trained, and their names.

26 models in four tower families (open_clip ViT, open_clip ModifiedResNet, timm ConvNeXt, timm ViT;
:data:`vlmsel.mini.models.MINI_ARCHS`), every architecture trained on three to eight mixtures
(:mod:`vlmsel.mini.mixtures`) and every mixture used by at least one architecture, the way the
open_clip zoo has several towers per dataset and several datasets per tower. A model is named like an
open_clip model, ``"<arch> <mixture>"``. Taught in the chapter :ref:`ch-mini-world`.
"""

from __future__ import annotations

from dataclasses import dataclass

from vlmsel.mini.mixtures import MIXTURES


@dataclass(frozen=True)
class MiniModelSpec:
    """One model of the mini zoo: architecture, pretraining mixture, seed, training length and batch."""

    arch: str
    mixture: str
    seed: int = 0
    steps: int = 1400
    batch_size: int = 64

    @property
    def name(self) -> str:
        """The full model name, ``"<arch> <mixture>"`` (open_clip's ``"arch pretrained"``)."""
        return f"{self.arch} {self.mixture}"

    @property
    def slug(self) -> str:
        return model_slug(self.name)


ZOO_PLAN: dict[str, tuple[str, ...]] = {
    "mini-rn-w8": ("web", "web-long", "web-small", "web-noisy", "med", "earth", "street", "docs"),
    "mini-convnext": ("web", "web-long", "web-sparse", "openai", "synth", "med", "docs"),
    "mini-vit-p8-w32": ("web", "openai", "earth", "street"),
    "mini-vit-p16-w64": ("web", "docs", "synth", "web-small"),
    "mini-timm-vit": ("web", "med", "web-noisy"),
}
"""Architecture -> the mixtures it is trained on."""

MINI_ZOO: tuple[MiniModelSpec, ...] = tuple(
    MiniModelSpec(arch, mix, steps=MIXTURES[mix].steps) for arch, mixes in ZOO_PLAN.items() for mix in mixes
)
"""The committed zoo, in the order of the ground-truth table."""


def model_slug(model: str) -> str:
    """Folder name of a model: spaces -> ``__``, ``/`` -> ``_`` (as the profile store)."""
    return model.replace(" ", "__").replace("/", "_")


def list_mini_models() -> list[str]:
    """Full names of the zoo's models, in order."""
    return [s.name for s in MINI_ZOO]


def get_spec(model: str) -> MiniModelSpec:
    """The zoo entry of ``model`` (full name ``"<arch> <mixture>"``)."""
    for spec in MINI_ZOO:
        if spec.name == model:
            return spec
    raise KeyError(f"unknown mini model {model!r}; mini models: {list_mini_models()}")
