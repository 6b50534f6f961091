"""The mini world's word-level tokenizer: open_clip's contract (pad 0, end token = highest id)."""

import pytest
import torch

from vlmsel.mini.captions import VOCABULARY
from vlmsel.mini.tasks import TASKS
from vlmsel.mini.tokenizer import MiniTokenizer


def test_ids_shape_and_special_tokens():
    tok = MiniTokenizer()
    ids = tok(["a picture of two red cubes.", "Zebra!"])
    assert ids.dtype == torch.long and ids.shape == (2, tok.context_length)
    assert tok.vocab_size == len(VOCABULARY) + 4 and tok.end_id == tok.vocab_size - 1
    assert ids[0].tolist()[:8] == [1, *[tok.stoi[w] for w in "a picture of two red cubes".split()], tok.end_id]
    assert ids[0, 8:].eq(0).all()
    assert ids[1].tolist()[:3] == [tok.start_id, tok.unk_id, tok.end_id]
    # argmax pooling finds the end token
    assert ids.argmax(dim=1).tolist() == [7, 2]


def test_truncation_keeps_the_end_token():
    tok = MiniTokenizer(context_length=6)
    ids = tok("one two three four five six seven")
    assert ids.shape == (1, 6)
    assert ids[0, -1].item() == tok.end_id and ids[0].argmax().item() == 5
    assert tok.decode(ids[0]) == "one two three four"


def test_case_punctuation_and_decode_roundtrip():
    tok = MiniTokenizer()
    assert tok("A RED, red; Cubes.").tolist() == tok("a red red cubes").tolist()
    assert tok.decode(tok("a photo of a stop sign")[0]) == "a photo of a stop sign"


def test_single_string_and_context_override():
    tok = MiniTokenizer()
    assert tok("red").shape == (1, tok.context_length)
    assert tok(["red"], context_length=8).shape == (1, 8)


def test_bad_vocabularies_raise():
    with pytest.raises(ValueError, match="duplicate"):
        MiniTokenizer(["red", "red"])
    with pytest.raises(ValueError, match="context_length"):
        MiniTokenizer(context_length=2)


@pytest.mark.parametrize("task", list(TASKS))
def test_every_prompt_of_every_task_is_in_vocabulary(task):
    tok = MiniTokenizer()
    for prompts in TASKS[task].prompts():
        ids = tok(prompts)
        assert not (ids == tok.unk_id).any(), prompts
        assert (ids.argmax(dim=1) > 1).all()  # every prompt has words and fits before the end token
