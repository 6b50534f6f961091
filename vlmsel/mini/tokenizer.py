"""A word-level tokenizer for the mini world's text towers.

open_clip's text transformer pools the token with the *largest id* (``pool_type="argmax"``), which
CLIP's tokenizer arranges by giving the end-of-text token the highest id. This tokenizer keeps that
contract with a tiny vocabulary: id 0 is padding, 1 the start token, 2 unknown words, then one id per
word of :data:`vlmsel.mini.captions.VOCABULARY`, and the end token last (``vocab_size - 1``).
(``open_clip.get_tokenizer`` on a custom config silently returns the 49k-word CLIP tokenizer, so the
mini models always use this one.) Taught in the chapter :ref:`ch-mini-world`.
"""

from __future__ import annotations

import re
from typing import Sequence

import torch

from vlmsel.mini.captions import VOCABULARY

PAD, START, UNK = "<pad>", "<start>", "<unk>"
END = "<end>"
DEFAULT_CONTEXT_LENGTH = 20

_SPLIT = re.compile(r"[^a-z0-9<>]+")


class MiniTokenizer:
    """Callable ``list[str] -> LongTensor (B, context_length)``, like open_clip's tokenizers.

    Text is lower-cased and split on anything that is not a letter or digit. Each text becomes
    ``[START, w_1, ..., w_k, END, 0, ...]``; texts longer than ``context_length - 2`` words are cut
    (the end token is always kept, so argmax pooling finds it). Unknown words map to ``UNK``.

    Parameters
    ----------
    words : the vocabulary (default :data:`~vlmsel.mini.captions.VOCABULARY`); order fixes the ids.
    context_length : tokens per text, including start and end (default 20).
    """

    def __init__(self, words: Sequence[str] = VOCABULARY, context_length: int = DEFAULT_CONTEXT_LENGTH):
        words = list(words)
        if len(set(words)) != len(words):
            raise ValueError("MiniTokenizer: the vocabulary has duplicate words")
        if context_length < 3:
            raise ValueError(f"MiniTokenizer: context_length must be >= 3, got {context_length}")
        self.words = words
        self.context_length = int(context_length)
        self.itos = [PAD, START, UNK, *words, END]
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        self.pad_id, self.start_id, self.unk_id = 0, 1, 2
        self.end_id = len(self.itos) - 1

    @property
    def vocab_size(self) -> int:
        """Number of ids (the text tower's ``vocab_size``); the end token is ``vocab_size - 1``."""
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        """Word ids of ``text`` without start/end tokens."""
        return [self.stoi.get(w, self.unk_id) for w in _SPLIT.split(text.lower()) if w]

    def __call__(self, texts: str | Sequence[str], context_length: int | None = None) -> torch.Tensor:
        """Token ids, LongTensor (B, context_length); a single string gives B = 1."""
        if isinstance(texts, str):
            texts = [texts]
        length = int(context_length or self.context_length)
        out = torch.zeros(len(texts), length, dtype=torch.long)
        for i, text in enumerate(texts):
            ids = [self.start_id, *self.encode(text)[: length - 2], self.end_id]
            out[i, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        return out

    def decode(self, ids: torch.Tensor | Sequence[int]) -> str:
        """Words of one row of token ids (padding, start and end dropped)."""
        ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        return " ".join(self.itos[i] for i in ids if i not in (self.pad_id, self.start_id, self.end_id))

    def __repr__(self) -> str:
        return f"MiniTokenizer(vocab_size={self.vocab_size}, context_length={self.context_length})"
