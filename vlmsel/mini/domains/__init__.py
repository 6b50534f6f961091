"""The image domains of the mini world, one generator per module.

==================  ==========================================================  =====================
domain              what it draws                                               like (LOVM)
==================  ==========================================================  =====================
``handwriting``     scikit-learn's real handwritten digits in ink, chalk or on   MNIST, SVHN
                    house-number plates
``text``            one rendered letter in a serif, sans, typewriter or italic   rendered SST2
                    font, on screen-like backgrounds
``textures``        full-frame surface textures                                  DTD
``aerial``          top-down land use, sharp aerial or low-res satellite         RESISC45, EuroSAT
``scenes3d``        shaded spheres, cubes and cylinders on a floor               CLEVR count, distance
``faces``           grayscale faces with expressions and head poses              FER2013
``signs``           traffic signs outdoors                                       GTSRB
``cells``           H&E histology patches and blood smears                       PCam
==================  ==========================================================  =====================

:data:`DOMAINS` holds one instance of each, in this order. The interface is :class:`~vlmsel.mini.domains.base.Domain`.
Taught in the chapter :ref:`ch-mini-world`.
"""

from __future__ import annotations

from vlmsel.mini.domains.aerial import Aerial
from vlmsel.mini.domains.base import IMAGE_SIZE, Domain
from vlmsel.mini.domains.cells import Cells
from vlmsel.mini.domains.faces import Faces
from vlmsel.mini.domains.handwriting import Handwriting
from vlmsel.mini.domains.scenes3d import Scenes3D
from vlmsel.mini.domains.signs import Signs
from vlmsel.mini.domains.text import Text
from vlmsel.mini.domains.textures import Textures

DOMAINS: dict[str, Domain] = {
    d.name: d
    for d in (
        Handwriting(),
        Text(),
        Textures(),
        Aerial(),
        Scenes3D(),
        Faces(),
        Signs(),
        Cells(),
    )
}
"""Every domain by name, in the book's order."""


def get_domain(name: str) -> Domain:
    """The domain called ``name``; a clear error lists the valid names."""
    try:
        return DOMAINS[name]
    except KeyError:
        raise KeyError(f"unknown mini domain {name!r}; domains: {list(DOMAINS)}") from None


__all__ = ["DOMAINS", "Domain", "IMAGE_SIZE", "get_domain"]
