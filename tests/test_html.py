"""Build the book and open every page in headless Chromium (Debian's chromium + chromedriver)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
PAGES = [TOC["root"]] + [c["file"] for c in TOC["chapters"]]
PAGES_WITH_TABLES = ["eda", "theory", "results", "batch_effects", "conclusions"]
# The run cache the Makefile exports, read before conftest's per-test isolation replaces it, so
# this build and the nbval run after it share trained models (one cold build per CI run, not two).
RUN_CACHE = os.environ.get("CELLVAE_CACHE", str(ROOT / "_build" / "cellvae-cache"))
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def built():
    """Run `jupyter-book build book` as the README says, from the repo root."""
    jb = Path(sys.executable).with_name("jupyter-book")
    env = {**os.environ, "CELLVAE_CACHE": RUN_CACHE}
    proc = subprocess.run([str(jb), "build", "book"], cwd=ROOT, env=env, capture_output=True, text=True)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert "Execution Failed" not in log and "CellExecutionError" not in log, log[-4000:]
    return log


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and DRIVER):
        pytest.skip("headless Chromium not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1280,2000"):
        opts.add_argument(flag)
    drv = webdriver.Chrome(service=Service(DRIVER), options=opts)
    drv.set_page_load_timeout(60)
    yield drv
    drv.quit()


def test_every_page_exists(built):
    for page in PAGES:
        assert (HTML / f"{page}.html").is_file(), page


@pytest.mark.parametrize("page", PAGES)
def test_page_renders(built, browser, page):
    browser.get((HTML / f"{page}.html").as_uri())
    state = browser.execute_script("""
        const imgs = Array.from(document.querySelectorAll('main img'));
        return {
          ready: document.readyState,
          title: document.title,
          nImgs: imgs.length,
          broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0 && i.naturalHeight > 0))
                      .map(i => i.getAttribute('src')),
          tables: document.querySelectorAll('main table').length,
          errors: document.querySelectorAll('.highlight-ipythontb, .output.error, .output.traceback').length,
          text: document.querySelector('main').innerText,
        };""")
    assert state["ready"] == "complete"
    assert not state["broken"], f"{page}: images failed to load: {state['broken']}"
    assert state["errors"] == 0, f"{page}: execution errors rendered"
    assert "Traceback (most recent call last)" not in state["text"]
    assert "This page ran on" in state["text"], f"{page}: no data-source note"
    assert "data_source" not in state["text"], f"{page}: an unresolved glue key"
    if page in PAGES_WITH_TABLES:
        assert state["tables"] > 0, f"{page}: no tables"
    if page != "intro":
        assert state["nImgs"] > 0 or page in ("theory", "conclusions"), f"{page}: no figures"
