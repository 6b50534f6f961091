"""Test settings: offline, quiet, ground truth from the local copy beside the project (as in CI)."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("VLMSEL_PROGRESS", "0")
if "VLMSEL_DATA_DIR" not in os.environ and (SHARED_DATA / "lovm" / "LOVM" / "eval_table.csv").is_file():
    os.environ["VLMSEL_DATA_DIR"] = str(SHARED_DATA)


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a test module with one torch thread (tiny models on 2 shared cores stall with more), then restore."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
