"""The HTML report is one self-contained file: every figure embedded as a PNG data URI, no external
resource of any kind, the recommendation, stability message, skipped files and settings on the page;
and it renders in headless Chromium."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from vlmsel.recommend.pipeline import select
from vlmsel.recommend.report import report_html, write_report

#: Headless Chromium under the names Debian (``apt-get install chromium``), Ubuntu and Google give it.
CHROMIUM = next(
    filter(None, map(shutil.which, ("chromium", "chromium-headless-shell", "chromium-browser", "google-chrome"))), None
)

# Tiny models on a shared 2-core machine: one torch thread for this module, restored after it.
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def result(tmp_path_factory, build_world, select_zoo, make_images):
    base = tmp_path_factory.mktemp("report")
    world = build_world(base, zoo_items=select_zoo, sources=["src0", "src1"], n_src=4, n_steps=3)
    target = make_images(base / "mine", 3, kind=0, seed=3)
    make_images(target, 2, kind=1, seed=4)
    (target / "notes.txt").write_text("not an image")
    return select(
        target,
        zoo=world["zoo"],
        profiles=world["store"],
        benchmark=world["acc"],
        pretrained=False,
        device="cpu",
        n_boot=50,
        work_dir=base / "targets",
    )


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_report_is_one_self_contained_file(result, tmp_path):
    path = write_report(result, tmp_path / "report.html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    low = text.lower()
    for bad in ("http://", "https://", "<link", "<script", "<iframe", "url(", "@import", "//cdn"):
        assert bad not in low, bad
    p = _Collect()
    p.feed(text)
    imgs = [a for t, a in p.tags if t == "img"]
    # ranking, Pareto, stability, 3 explanations, and one thumbnail per image used
    assert len(imgs) == 6 + len(result.images)
    for a in imgs:
        assert a["src"].startswith("data:image/png;base64,") and a.get("alt")
        png = base64.b64decode(a["src"].split(",", 1)[1])
        with Image.open(io.BytesIO(png)) as im:
            im.verify()
    assert all(not a.get("href") for t, a in p.tags if t == "a")  # no links out
    assert {t for t, a in p.tags if "src" in a} == {"img"}


def test_report_says_what_matters(result):
    text = report_html(result, top=5, explain=2)
    p = _Collect()
    p.feed(text)
    page = " ".join(" ".join(p.text).split())
    assert result.top1 in page and "Recommended model" in page
    assert " ".join(result.stability_message.split()) in page
    assert "How to read this report" in page and "Pareto" in page
    assert "notes.txt" in page and "Skipped files (1)" in page  # the non-image file is listed
    assert "random-init" in page and "Settings and provenance" in page
    assert page.count("Sources that resemble") == 0  # figure titles are inside the PNGs, not the text
    for model in result.models[:2]:
        assert f"{model} — score" in page
    assert len([t for t, _ in p.tags if t == "img"]) == 5 + len(result.images)  # 2 explanations


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium)")
def test_report_renders_in_headless_chromium(result, tmp_path):
    path = write_report(result, tmp_path / "report.html")
    shot = tmp_path / "report.png"
    proc = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=1300,2000",
            f"--screenshot={shot}",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert shot.is_file(), proc.stderr[-2000:]
    with Image.open(shot) as im:
        assert im.size == (1300, 2000)
        arr = np.asarray(im.convert("RGB"))
    # a rendered page, not a blank or an error page: many colours (figures) and mostly light background
    colours = len(np.unique(arr.reshape(-1, 3), axis=0))
    assert colours > 500
    assert arr.mean() > 180
    assert re.search(r"<title>.*</title>", path.read_text(encoding="utf-8"))
