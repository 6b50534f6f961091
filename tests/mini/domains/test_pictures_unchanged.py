"""The mini world's pictures, words and captions stay bit-identical to those the committed world was made from.

The committed world (``data/mini``: trained weights, ground truth, profiles) was computed from these
generators' pixels and these domains' captions, so refactoring a renderer must not change a single pixel,
nor a domain's word list (its order fixes the tokenizer's ids) or captions. For every task, the pictures
at :data:`INDICES` of its evaluation split, and for every domain :data:`N_TRAIN` pretraining pictures
(split ``"train"``, any attribute values), are rendered and the sha256 of their pixel bytes compared with
``picture_hashes.json``, which also holds every domain's words and the sha256 of :data:`N_CAPTIONS` of its
captions.

The hashes were written from the code as of commit 14b08a9 by
``python -m tests.mini.domains.test_pictures_unchanged --write``. They must never be regenerated to make a
refactor pass: a changed hash means the change changed the world (``--write`` refuses to overwrite the file).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

from vlmsel.mini.domains import DOMAINS, IMAGE_SIZE
from vlmsel.mini.tasks import DEFAULT_N_IMAGES, TASKS, Picture, render_pictures, sample_pictures, task_seed

HASHES = Path(__file__).with_name("picture_hashes.json")
INDICES = tuple(range(0, DEFAULT_N_IMAGES, 50))
"""Which pictures of each task's evaluation split (of ``DEFAULT_N_IMAGES``, seed 0) are checked."""
N_TRAIN = 20
"""Pretraining pictures checked per domain."""
N_CAPTIONS = 50
"""Captions checked per domain."""


def _task_pictures(name: str) -> list[Picture]:
    """The pictures at :data:`INDICES` of the evaluation split of task ``name`` (as ``make_task_data``)."""
    task = TASKS[name]
    rng = np.random.default_rng(task_seed(name, 0))
    labels = rng.permutation(np.arange(DEFAULT_N_IMAGES) % task.n_classes).astype(np.int64)
    pictures = sample_pictures(task, labels, rng)
    return [pictures[i] for i in INDICES]


def _train_pictures(domain: str) -> list[Picture]:
    """:data:`N_TRAIN` pictures of ``domain`` in split ``"train"``, attribute values drawn freely."""
    rng = np.random.default_rng(len(domain))
    dom = DOMAINS[domain]
    return [
        Picture(domain, tuple(dom.sample(rng).items()), int(rng.integers(2**31 - 1)), "train") for _ in range(N_TRAIN)
    ]


def _hashes(pictures: list[Picture]) -> list[str]:
    images = render_pictures(pictures)
    assert images.shape == (len(pictures), IMAGE_SIZE, IMAGE_SIZE, 3) and images.dtype == np.uint8
    return [hashlib.sha256(img.tobytes()).hexdigest() for img in images]


def picture_hashes() -> dict[str, dict[str, list[str]]]:
    """``{"task": {task: hashes at INDICES}, "train": {domain: N_TRAIN hashes}}`` of the code as it is."""
    return {
        "task": {name: _hashes(_task_pictures(name)) for name in TASKS},
        "train": {name: _hashes(_train_pictures(name)) for name in DOMAINS},
    }


def domain_words() -> dict[str, list[str]]:
    """Per domain, its ``words`` in order (the tokenizer's ids follow that order)."""
    return {name: list(dom.words) for name, dom in DOMAINS.items()}


def caption_hashes() -> dict[str, str]:
    """Per domain, the sha256 of :data:`N_CAPTIONS` captions (one per line) of drawn attribute values, each
    naming a random subset of them."""
    out = {}
    for name, dom in DOMAINS.items():
        rng = np.random.default_rng(len(name))
        captions = []
        for _ in range(N_CAPTIONS):
            attrs = dom.sample(rng)
            captions.append(dom.caption(attrs, [a for a in attrs if rng.random() < 0.5], rng))
        out[name] = hashlib.sha256("\n".join(captions).encode()).hexdigest()
    return out


def test_every_checked_picture_is_bit_identical():
    expected = json.loads(HASHES.read_text())["pictures"]
    got = picture_hashes()
    assert got.keys() == expected.keys() and all(got[k].keys() == expected[k].keys() for k in got)
    changed = [
        f"{kind} {name} #{i}"
        for kind in got
        for name in got[kind]
        for i, (a, b) in enumerate(zip(got[kind][name], expected[kind][name], strict=True))
        if a != b
    ]
    assert not changed, f"{len(changed)} pictures changed, e.g. {changed[:8]} (# counts INDICES, or train pictures)"


def test_every_domain_has_its_words_in_the_same_order():
    assert domain_words() == json.loads(HASHES.read_text())["words"]


def test_every_domain_phrases_the_same_captions():
    expected = json.loads(HASHES.read_text())["captions"]
    got = caption_hashes()
    assert got == expected, f"captions changed: {sorted(k for k in got if got[k] != expected.get(k))}"


def _write() -> None:
    if HASHES.exists():
        raise SystemExit(
            f"{HASHES} exists: it holds the hashes of commit 14b08a9 and is never regenerated to make a change pass"
        )
    expected = {"pictures": picture_hashes(), "words": domain_words(), "captions": caption_hashes()}
    HASHES.write_text(json.dumps(expected, indent=1) + "\n")
    print(f"wrote {HASHES}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write picture_hashes.json (only when it is missing)")
    if parser.parse_args().write:
        _write()
    else:
        parser.print_help()
