"""Zero-shot classification accuracy of a CLIP-style model, as CLIP_benchmark computes it.

This is how the ground truth of a benchmark is made (:ref:`ch-benchmarks`; :ref:`ch-mini-world` for the mini world): each class gets one
text embedding, the mean of the normalised embeddings of its prompts (``template.format(c=name)``),
renormalised; an image is assigned the class whose embedding has the largest cosine with the image's
normalised embedding. Two metrics come out, the same two that LOVM's table holds:

- ``acc1``: the fraction of images whose top class is the true class;
- ``mean_per_class_recall``: the recall of each class that occurs in ``labels``, averaged over those
  classes (scikit-learn's ``balanced_accuracy_score``, which CLIP_benchmark uses).

A user adds a model to a zoo, or a source dataset to a benchmark, by running :func:`evaluate_zero_shot`
with the dataset's LOVM class names and templates (:func:`vlmsel.data.lovm.lovm_classnames`,
:func:`vlmsel.data.lovm.lovm_templates`). The function works for any object with ``encode_image``
and ``encode_text`` (open_clip models, or the tiny models of the mini world) and any tokenizer that maps
``list[str]`` to a ``LongTensor (B, context_length)``.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from vlmsel.data.images import ImageReadError
from vlmsel.data.tasks import Task, label_indices, open_task
from vlmsel.jobs import claim_path, entry_path, partial_files, run_claimed, shard_keys, versions

Tokenizer = Callable[[list[str]], torch.Tensor]


def _check_prompts(classnames: Sequence[str], templates: Sequence[str]) -> None:
    if len(classnames) == 0:
        raise ValueError("zero-shot classification needs at least one class name; got none")
    if len(templates) == 0:
        raise ValueError("zero-shot classification needs at least one template; got none")
    bad = [t for t in templates if "{c}" not in t]
    if bad:
        raise ValueError(f"every template must contain the placeholder '{{c}}'; these do not: {bad[:3]}")


def zero_shot_classifier(
    model: Any,  # a CLIP-style model: encode_image, encode_text
    tokenizer: Tokenizer,
    classnames: Sequence[str],
    templates: Sequence[str],
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    """Class embeddings for zero-shot classification, one column per class.

    Parameters
    ----------
    model : a CLIP-style model with ``encode_text(tokens) -> (B, embed_dim)``; it is used in eval mode
        (its train/eval flag is restored afterwards) and is not moved: put it on ``device`` first.
    tokenizer : callable ``list[str] -> LongTensor (B, context_length)``.
    classnames : the ``C`` class names, in label order.
    templates : prompt templates, each containing ``{c}`` (e.g. ``"a photo of a {c}."``).
    device : where the tokens are sent.

    Returns
    -------
    Tensor (embed_dim, C), float32: column ``k`` is the mean of the L2-normalised embeddings of class
    ``k``'s prompts, renormalised to unit length.
    """
    _check_prompts(classnames, templates)
    was_training = model.training
    model.eval()
    try:
        columns = []
        with torch.no_grad():
            for name in classnames:
                texts = [t.format(c=name) for t in templates]
                tokens = tokenizer(texts).to(device)
                emb = F.normalize(model.encode_text(tokens).float(), dim=-1).mean(dim=0)
                columns.append(emb / emb.norm())
        return torch.stack(columns, dim=1)
    finally:
        model.train(was_training)


def _batches(
    images_or_loader: torch.Tensor | Iterable, labels: Sequence[int] | np.ndarray | torch.Tensor | None, batch_size: int
) -> tuple[Iterable[torch.Tensor], list[torch.Tensor]]:
    """Yield image batches; collect labels from the loader when it yields ``(images, labels)``."""
    collected: list[torch.Tensor] = []
    if isinstance(images_or_loader, torch.Tensor):
        if images_or_loader.ndim != 4:
            raise ValueError(f"images must be a tensor (N, 3, H, W); got shape {tuple(images_or_loader.shape)}")
        x = images_or_loader
        return (x[i : i + batch_size] for i in range(0, len(x), batch_size)), collected

    def gen():
        for batch in images_or_loader:
            if isinstance(batch, (tuple, list)):
                if len(batch) < 2:
                    raise ValueError("a loader batch given as a tuple must be (images, labels)")
                imgs, lab = batch[0], batch[1]
                collected.append(torch.as_tensor(lab).reshape(-1).long().cpu())
            else:
                imgs = batch
            yield imgs

    return gen(), collected


def evaluate_zero_shot(
    model: Any,  # a CLIP-style model: encode_image, encode_text
    tokenizer: Tokenizer,
    images_or_loader: torch.Tensor | Iterable,
    labels: Sequence[int] | np.ndarray | torch.Tensor | None,
    classnames: Sequence[str],
    templates: Sequence[str],
    batch_size: int = 64,
    device: str | torch.device = "cpu",
) -> dict:
    """Zero-shot top-1 accuracy and mean per-class recall of ``model`` on labelled images.

    Parameters
    ----------
    model : a CLIP-style model with ``encode_image`` and ``encode_text``, already on ``device``; it is
        used in eval mode (BatchNorm running statistics, no dropout) and its flag is restored afterwards.
    tokenizer : callable ``list[str] -> LongTensor (B, context_length)``.
    images_or_loader : either a float tensor (N, 3, H, W) of images already preprocessed for the model
        (split into batches of ``batch_size``), or an iterable of batches, each a tensor (B, 3, H, W) or
        a tuple ``(images, labels)`` (a torch ``DataLoader`` over a labelled dataset).
    labels : int class indices (N,) in ``[0, C)``; ``None`` when the loader yields the labels.
    classnames : the ``C`` class names in label order.
    templates : prompt templates containing ``{c}``.
    batch_size : images per forward pass when ``images_or_loader`` is a tensor (default 64).
    device : where images and tokens are sent (default ``"cpu"``).

    Returns
    -------
    dict with ``acc1`` (float in [0, 1]), ``mean_per_class_recall`` (float in [0, 1], averaged over
    the classes present in ``labels``), ``acc5`` (top-5 accuracy; NaN when ``C < 5``, as in LOVM's
    table), ``n`` (number of images) and ``predictions`` (int ndarray (N,), the top-1 class per image).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1; got {batch_size}")
    classifier = zero_shot_classifier(model, tokenizer, classnames, templates, device=device)
    n_classes = classifier.shape[1]
    batches, collected = _batches(images_or_loader, labels, batch_size)
    logits_parts = []
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for imgs in batches:
                imgs = torch.as_tensor(imgs).to(device)
                feats = F.normalize(model.encode_image(imgs).float(), dim=-1)
                logits = 100.0 * feats @ classifier
                logits_parts.append(logits.cpu())
    finally:
        model.train(was_training)
    if not logits_parts:
        raise ValueError("zero-shot evaluation got no images")
    logits = torch.cat(logits_parts)
    if labels is None:
        if not collected:
            raise ValueError("labels is None, but the loader did not yield (images, labels) batches")
        y = torch.cat(collected)
    else:
        y = torch.as_tensor(np.asarray(labels)).reshape(-1).long()
    if len(y) != len(logits):
        raise ValueError(f"got {len(logits)} images but {len(y)} labels")
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes}) for {n_classes} class names; got {int(y.min())}..{int(y.max())}")
    pred = logits.argmax(dim=1)
    correct = pred == y
    # exact ratios of counts (a float32 mean turns 71/500 into 0.14200000464, which breaks ties in rankings)
    acc1 = int(correct.sum()) / len(y)
    recalls = [int(correct[y == k].sum()) / int((y == k).sum()) for k in torch.unique(y).tolist()]
    mpcr = float(np.mean(recalls))
    if n_classes >= 5:
        top5 = logits.topk(5, dim=1).indices
        acc5 = int((top5 == y[:, None]).any(dim=1).sum()) / len(y)
    else:
        acc5 = float("nan")
    return {
        "acc1": acc1,
        "mean_per_class_recall": mpcr,
        "acc5": acc5,
        "n": int(len(y)),
        "predictions": pred.numpy(),
    }


def evaluate_task(
    model: Any,  # a CLIP-style model: encode_image, encode_text
    preprocess: Callable,
    tokenizer: Tokenizer,
    task,
    *,
    classnames: Sequence[str] | None = None,
    templates: Sequence[str] | None = None,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
    skip_bad: bool = False,
) -> dict:
    """Zero-shot accuracy of a model on every image of a labelled task (a new ground-truth cell).

    Parameters
    ----------
    model, preprocess, tokenizer : as returned by :func:`vlmsel.data.zoo.load_model`.
    task : a :class:`vlmsel.data.tasks.Task` (or a LOVM dataset name / folder, opened with
        :func:`vlmsel.data.tasks.open_task`) whose source gives labels: int labels, or folder names that
        are class names or class indices.
    classnames, templates : default to the task's (LOVM's for LOVM datasets); required for folders.
    batch_size, device : as in :func:`evaluate_zero_shot`.
    skip_bad : skip unreadable images instead of raising (they are counted in ``n_skipped``).

    Returns
    -------
    The dict of :func:`evaluate_zero_shot` plus ``n_skipped``.
    """

    if not isinstance(task, Task):
        task = open_task(task, skip_bad=skip_bad)
    classnames = list(classnames or task.classnames or [])
    templates = list(templates or task.templates or [])
    if not classnames or not templates:
        raise ValueError(f"task {task.name!r} has no class names / templates; pass classnames= and templates=")
    labels: list = []
    n_skipped = 0

    def batches():
        nonlocal n_skipped
        imgs = []
        for image_id in task.source.ids():
            try:
                img, _, label = task.source.read(image_id)
            except ImageReadError:
                if not skip_bad:
                    raise
                n_skipped += 1
                continue
            if label is None:
                raise ValueError(f"task {task.name!r}: image {image_id} has no label")
            labels.append(label)
            imgs.append(preprocess(img))
            if len(imgs) == batch_size:
                yield torch.stack(imgs)
                imgs = []
        if imgs:
            yield torch.stack(imgs)

    def loader():
        start = 0
        for x in batches():
            y = label_indices(labels[start : start + len(x)], classnames)
            start += len(x)
            yield x, torch.as_tensor(y)

    out = evaluate_zero_shot(model, tokenizer, loader(), None, classnames, templates, batch_size, device)
    out["n_skipped"] = n_skipped
    return out


# ------------------------------------------------------------------------------ a zoo on tasks, sharded
#: The columns of :func:`zero_shot_table` (and of ``zeroshot.csv``): a tidy benchmark table that
#: :func:`vlmsel.data.benchmarks.load_benchmark` reads (``--benchmark FILE``).
TABLE_COLUMNS = ("model", "dataset", "acc1", "mean_per_class_recall", "acc5", "n", "n_skipped")


def _result_path(out, model: str, dataset: str):
    return entry_path(out, model, dataset, ".json")


def _text_sha(lines: Sequence[str]) -> str:
    import hashlib

    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def run_zero_shot(
    entries: Sequence,
    tasks: Sequence[Task],
    out,
    *,
    pretrained: bool = True,
    device: str | torch.device = "auto",
    batch_size: int = 64,
    seed: int = 0,
    shard: tuple[int, int] | None = None,
    skip_bad: bool = False,
) -> list[dict]:
    """Zero-shot accuracy of every model on every labelled task, one result file per (model, dataset).

    Run by the same job runner as :func:`vlmsel.profiles.compute.run_profiles`
    (:func:`vlmsel.jobs.run_claimed`): a result on disk is done and skipped (when made with the same
    weights, images and prompts, else ValueError naming it); each (model, dataset) is claimed by the
    process that computes it, so any number of processes or ``shard=(i, n)`` jobs
    (:func:`vlmsel.jobs.shard_keys`, cost ~ image GFLOPs x images) can share ``out``; files are written
    atomically. ``out/<model_slug>/<dataset>.json`` holds
    :data:`TABLE_COLUMNS` plus provenance; :func:`zero_shot_table` collects them.

    Parameters
    ----------
    entries : zoo entries (:func:`vlmsel.data.zoo.load_zoo`). tasks : opened tasks with labels, class
        names and templates (:func:`vlmsel.data.tasks.open_task`; a folder task's labels are its subfolders).
    pretrained : real weights (default) or random init (offline, tests; ``seed`` seeds it).
    batch_size, device, skip_bad : as in :func:`evaluate_task` (every image of each task is evaluated).

    Returns
    -------
    One dict per (model, dataset) of this shard: ``model, dataset, status`` (``"done"``, ``"written"``,
    ``"claimed"``: another process computes it) and, when known, the metrics.
    """
    import json as _json
    import math
    import time as _time
    from pathlib import Path

    from vlmsel.data.zoo import check_entry, load_model, resolve_device, with_image_gflops, ModelLoadError
    from vlmsel.files import atomic_write

    out = Path(out)
    dev = resolve_device(device)
    for e in entries:
        check_entry(e, pretrained=pretrained)
    for t in tasks:
        if not t.classnames or not t.templates:
            raise ValueError(f"task {t.name!r} has no class names / templates (give them for a folder task)")
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise ValueError(f"two tasks have the same name: {sorted({n for n in names if names.count(n) > 1})}")
    views = {t.name: t for t in tasks}
    keys = [(e.name, t.name) for e in entries for t in tasks]
    if shard is not None:
        gflops = {}
        for e in entries:
            try:
                gflops[e.name] = with_image_gflops(e).image_gflops
            except ModelLoadError:
                gflops[e.name] = math.nan
        keys = shard_keys(keys, [gflops[m] * len(views[d].source.ids()) for m, d in keys], shard)
    wanted = {
        "weights": "pretrained" if pretrained else "random-init", "n_images": None,
        **({} if pretrained else {"seed": seed}),
    }
    by_name = {e.name: e for e in entries}

    def wanted_for(dataset: str) -> dict:
        task = views[dataset]
        return {**wanted, "n_images": len(task.source.ids()), "classnames_sha256": _text_sha(task.classnames or []),
                "templates_sha256": _text_sha(task.templates or [])}  # (both checked non-empty above)

    stored: dict[tuple[str, str], dict] = {}

    def is_done(key: tuple[str, str]) -> bool:
        path = _result_path(out, *key)
        if not path.exists():
            return False
        rec = _json.loads(path.read_text(encoding="utf-8"))
        diff = {k: (rec.get(k), v) for k, v in wanted_for(key[1]).items() if rec.get(k) != v}
        if diff:
            shown = ", ".join(f"{k}: stored {a!r}, asked {b!r}" for k, (a, b) in diff.items())
            raise ValueError(f"{path}: made with other settings ({shown}); use another --out or delete it")
        stored[key] = rec
        return True

    results, loaded = [], None
    for (model, dataset), state in run_claimed(keys, is_done=is_done, claim=lambda k: claim_path(out, *k),
                                               owner=lambda k: {"model": k[0], "dataset": k[1]},
                                               partials=lambda k: partial_files(out, *k, (".json",))):
        if state == "done":
            results.append({**stored[(model, dataset)], "status": "done"})
            continue
        if state == "claimed":
            results.append({"model": model, "dataset": dataset, "status": "claimed"})
            continue
        # this process holds the claim until the loop moves on
        if loaded is None or loaded[0] != model:
            loaded = None
            loaded = (model, load_model(by_name[model], pretrained=pretrained, device=dev, seed=seed))
        net, preprocess, tokenizer = loaded[1]
        assert tokenizer is not None  # (loaded with its tokenizer)
        t0 = _time.perf_counter()
        res = evaluate_task(net, preprocess, tokenizer, views[dataset], batch_size=batch_size, device=dev,
                            skip_bad=skip_bad)
        rec = {"model": model, "dataset": dataset, **{k: res[k] for k in ("acc1", "mean_per_class_recall", "acc5", "n")},
               "n_skipped": res["n_skipped"], **wanted_for(dataset), "versions": versions(), "device": str(dev),
               "wall_time_s": round(_time.perf_counter() - t0, 3)}
        with atomic_write(_result_path(out, model, dataset), "w") as fh:
            _json.dump(rec, fh, indent=1, default=float)
            fh.write("\n")
        results.append({**rec, "status": "written"})
    return results


def zero_shot_table(out) -> pd.DataFrame:
    """Every result under ``out`` (:func:`run_zero_shot`) as a tidy DataFrame of :data:`TABLE_COLUMNS`,
    sorted by model and dataset."""
    import json as _json
    from pathlib import Path

    import pandas as pd

    rows = []
    for path in sorted(Path(out).glob("*/*.json")):
        if path.name.startswith("."):
            continue
        rec = _json.loads(path.read_text(encoding="utf-8"))
        rows.append({k: rec.get(k) for k in TABLE_COLUMNS})
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    return table.sort_values(["model", "dataset"]).reset_index(drop=True)
