"""Zero-shot evaluation (vlmsel.data.zeroshot): hand-built cases with known answers, sklearn references,
and a random-init open_clip model compared with a direct computation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import balanced_accuracy_score

from vlmsel.data.zeroshot import evaluate_zero_shot, zero_shot_classifier


class WordTokenizer:
    """A word-level tokenizer like the mini world's: list[str] -> LongTensor (B, 8), pad 0."""

    def __init__(self, words):
        self.vocab = {w: i + 1 for i, w in enumerate(words)}

    def __call__(self, texts):
        out = torch.zeros(len(texts), 8, dtype=torch.long)
        for i, t in enumerate(texts):
            ids = [self.vocab[w] for w in t.replace(".", "").split()]
            out[i, : len(ids)] = torch.tensor(ids)
        return out


class ToyCLIP(torch.nn.Module):
    """encode_text: sum of fixed word vectors; encode_image: the image's first pixels (B, D)."""

    def __init__(self, word_vectors: torch.Tensor):
        super().__init__()
        self.emb = torch.nn.Embedding.from_pretrained(word_vectors, freeze=True, padding_idx=0)

    def encode_text(self, tokens):
        return self.emb(tokens).sum(dim=1)

    def encode_image(self, images):
        d = self.emb.weight.shape[1]
        return images.reshape(len(images), -1)[:, :d]


def _toy():
    words = ["a", "photo", "of", "cat", "dog", "car"]
    vec = torch.zeros(len(words) + 1, 3)
    vec[4, 0] = 1.0  # cat
    vec[5, 1] = 1.0  # dog
    vec[6, 2] = 1.0  # car
    vec[1:4] = 0.1  # "a photo of" adds the same small vector to every prompt
    return ToyCLIP(vec), WordTokenizer(words)


def test_classifier_is_normalised_mean_of_normalised_prompts():
    model, tok = _toy()
    templates = ["{c}", "a photo of {c}"]
    W = zero_shot_classifier(model, tok, ["cat", "dog", "car"], templates)
    assert W.shape == (3, 3)
    # by hand: class k -> mean(normalise(e_k), normalise(e_k + 0.3)) renormalised
    for k in range(3):
        e = torch.zeros(3)
        e[k] = 1.0
        m = (F.normalize(e, dim=0) + F.normalize(e + 0.3, dim=0)) / 2
        torch.testing.assert_close(W[:, k], m / m.norm())
    torch.testing.assert_close(W.norm(dim=0), torch.ones(3))


def test_known_answer_and_metrics_match_sklearn():
    model, tok = _toy()
    classes = ["cat", "dog", "car"]
    # image embeddings: mostly along the axis of a chosen class
    chosen = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2, 0])
    labels = np.array([0, 0, 1, 1, 1, 2, 2, 0, 2, 0])
    imgs = torch.zeros(len(chosen), 3, 2, 2)
    flat = imgs.view(len(chosen), -1)
    flat[torch.arange(len(chosen)), chosen] = 1.0
    res = evaluate_zero_shot(model, tok, imgs, labels, classes, ["a photo of {c}"], batch_size=3)
    np.testing.assert_array_equal(res["predictions"], chosen.numpy())
    assert res["n"] == 10
    assert res["acc1"] == pytest.approx(np.mean(chosen.numpy() == labels))
    # exact ratios of counts, not float32 means (which break ties between models with equal counts)
    assert res["acc1"] == 8 / 10 and type(res["acc1"]) is float
    assert res["mean_per_class_recall"] == pytest.approx(balanced_accuracy_score(labels, chosen.numpy()))
    assert np.isnan(res["acc5"])  # fewer than 5 classes


def test_loader_with_labels_and_batch_invariance():
    model, tok = _toy()
    g = torch.Generator().manual_seed(0)
    imgs = torch.randn(13, 3, 2, 2, generator=g)
    labels = torch.randint(0, 3, (13,), generator=g)
    a = evaluate_zero_shot(model, tok, imgs, labels, ["cat", "dog", "car"], ["{c}"], batch_size=4)
    loader = [(imgs[i : i + 5], labels[i : i + 5]) for i in range(0, 13, 5)]
    b = evaluate_zero_shot(model, tok, loader, None, ["cat", "dog", "car"], ["{c}"])
    np.testing.assert_array_equal(a["predictions"], b["predictions"])
    assert a["acc1"] == b["acc1"] and a["mean_per_class_recall"] == b["mean_per_class_recall"]


def test_bad_inputs_raise_clear_errors():
    model, tok = _toy()
    imgs = torch.zeros(4, 3, 2, 2)
    with pytest.raises(ValueError, match="placeholder"):
        evaluate_zero_shot(model, tok, imgs, [0, 1, 2, 0], ["cat", "dog", "car"], ["a photo"])
    with pytest.raises(ValueError, match="4 images but 3 labels"):
        evaluate_zero_shot(model, tok, imgs, [0, 1, 2], ["cat", "dog", "car"], ["{c}"])
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        evaluate_zero_shot(model, tok, imgs, [0, 1, 2, 3], ["cat", "dog", "car"], ["{c}"])
    with pytest.raises(ValueError, match="at least one class"):
        zero_shot_classifier(model, tok, [], ["{c}"])


def _char_tokenizer(texts):
    """A character-level tokenizer for the tiny model (ids below its vocab of 64; end token 63 is the highest)."""
    out = torch.zeros(len(texts), 16, dtype=torch.long)
    for i, t in enumerate(texts):
        ids = [ord(ch) % 60 + 1 for ch in t][:15] + [63]
        out[i, : len(ids)] = torch.tensor(ids)
    return out


def _tiny_open_clip():
    import open_clip
    from open_clip.model import CLIPTextCfg, CLIPVisionCfg

    torch.manual_seed(0)
    model = open_clip.model.CLIP(
        embed_dim=16,
        vision_cfg=CLIPVisionCfg(layers=2, width=32, head_width=16, patch_size=8, image_size=32),
        text_cfg=CLIPTextCfg(context_length=16, vocab_size=64, width=32, heads=2, layers=2),
    )
    return model


def test_random_init_open_clip_matches_direct_computation():
    model = _tiny_open_clip()
    words = [f"w{i}" for i in range(20)] + ["a", "photo", "of"]

    def tok(texts):  # ids must stay below vocab 64; the end token gets the highest id (argmax pooling)
        out = torch.zeros(len(texts), 16, dtype=torch.long)
        vocab = {w: i + 1 for i, w in enumerate(words)}
        for i, t in enumerate(texts):
            ids = [vocab[w] for w in t.split()] + [63]
            out[i, : len(ids)] = torch.tensor(ids)
        return out

    classes = [f"w{i}" for i in range(7)]
    templates = ["a photo of {c}", "{c}"]
    g = torch.Generator().manual_seed(1)
    imgs = torch.randn(20, 3, 32, 32, generator=g)
    labels = torch.randint(0, 7, (20,), generator=g).numpy()
    model.train()  # the function must evaluate in eval mode and restore the flag
    res = evaluate_zero_shot(model, tok, imgs, labels, classes, templates, batch_size=6)
    assert model.training
    model.eval()
    with torch.no_grad():
        txt = torch.stack(
            [F.normalize(F.normalize(model.encode_text(tok([t.format(c=c) for t in templates])), dim=-1).mean(0), dim=0) for c in classes],
            dim=1,
        )
        logits = F.normalize(model.encode_image(imgs), dim=-1) @ txt
    pred = logits.argmax(1).numpy()
    np.testing.assert_array_equal(res["predictions"], pred)
    assert res["acc1"] == pytest.approx(np.mean(pred == labels))
    assert res["mean_per_class_recall"] == pytest.approx(balanced_accuracy_score(labels, pred))
    top5 = logits.topk(5, dim=1).indices.numpy()
    assert res["acc5"] == pytest.approx(np.mean([labels[i] in top5[i] for i in range(20)]))


def test_image_embedding_equal_to_class_embedding_gives_perfect_accuracy(monkeypatch):
    """Monkeypatch encode_image so each image embeds to (a multiple of) its class's text embedding."""
    model = _tiny_open_clip()

    classes = ["apple", "boat", "cloud", "daisy", "eagle", "fern"]
    templates = ["a photo of a {c}.", "a drawing of a {c}."]
    W = zero_shot_classifier(model, _char_tokenizer, classes, templates)
    labels = np.array([5, 0, 1, 2, 3, 4, 4, 1, 0])
    # the "image" tensor carries its label in the first pixel; the patched encoder returns 3 x W[:, label]
    imgs = torch.zeros(len(labels), 3, 32, 32)
    imgs[:, 0, 0, 0] = torch.as_tensor(labels, dtype=torch.float32)
    monkeypatch.setattr(model, "encode_image", lambda x, **kw: 3.0 * W[:, x[:, 0, 0, 0].long()].T)
    res = evaluate_zero_shot(model, _char_tokenizer, imgs, labels, classes, templates, batch_size=4)
    assert res["acc1"] == 1.0 and res["mean_per_class_recall"] == 1.0 and res["acc5"] == 1.0
    # shifting every label by one class makes every prediction wrong
    res = evaluate_zero_shot(model, _char_tokenizer, imgs, (labels + 1) % 6, classes, templates)
    assert res["acc1"] == 0.0 and res["mean_per_class_recall"] == 0.0


def test_evaluate_task_on_a_labelled_folder(tmp_path, monkeypatch):
    """A folder whose subfolders are class names; the patched encoder reads the class from the pixels."""
    from PIL import Image

    from vlmsel.data.zeroshot import evaluate_task

    model = _tiny_open_clip()

    classes = ["red", "green", "blue"]
    for k, c in enumerate(classes):
        for j in range(2 + k):
            (tmp_path / c).mkdir(exist_ok=True)
            Image.new("RGB", (8, 8), tuple(255 if i == k else 0 for i in range(3))).save(tmp_path / c / f"{j}.png")
    W = zero_shot_classifier(model, _char_tokenizer, classes, ["{c}"])

    def preprocess(img):
        return torch.as_tensor(np.array(img), dtype=torch.float32).permute(2, 0, 1) / 255

    # the "encoder" maps an image whose channel k is lit to class k's embedding, except blue -> red
    mapping = torch.tensor([0, 1, 0])
    monkeypatch.setattr(model, "encode_image", lambda x, **kw: W[:, mapping[x[:, :, 0, 0].argmax(1)]].T)
    res = evaluate_task(model, preprocess, _char_tokenizer, str(tmp_path), classnames=classes, templates=["{c}"], batch_size=4)
    assert res["n"] == 9 and res["n_skipped"] == 0
    assert res["acc1"] == pytest.approx(5 / 9)  # red 2/2, green 3/3, blue 0/4
    assert res["mean_per_class_recall"] == pytest.approx(2 / 3)
