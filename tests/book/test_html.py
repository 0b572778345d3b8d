"""Build the book and open every page in headless Chromium (Debian's chromium + chromedriver)."""

from __future__ import annotations

import os
import shutil

import pytest

from bookbuild import CHAPTERS, PAGES, ROOT, RUN_CACHE, build

HTML = ROOT / "_build" / "html"
PAGES_WITH_TABLES = ["eda", "theory", "results", "batch_effects", "real_cells", "conclusions"]
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def built():
    """Run `cellvae-grid` and `jupyter-book build book` as the README says, from the repo root."""
    return build({**os.environ, "CELLVAE_CACHE": RUN_CACHE})


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
                 "--no-first-run", "--window-size=1280,2000",
                 # No network: every non-file request goes to a dead proxy and fails.
                 "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"):
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
          scroll: document.documentElement.scrollWidth - window.innerWidth,
          captions: Array.from(document.querySelectorAll('main figure')).map(f => {
              const c = f.querySelector('figcaption'); return c ? c.innerText.trim() : ''; }),
          code: Array.from(document.querySelectorAll('main pre')).filter(p => p.offsetParent !== null)
                      .map(p => p.innerText).join(' '),
        };""")
    assert state["ready"] == "complete"
    assert not state["broken"], f"{page}: images failed to load: {state['broken']}"
    assert state["errors"] == 0, f"{page}: execution errors rendered"
    assert "Traceback (most recent call last)" not in state["text"]
    assert "This page ran on" in state["text"] or page not in CHAPTERS, f"{page}: no data-source note"
    assert "data_source" not in state["text"], f"{page}: an unresolved glue key"
    assert state["scroll"] <= 0, f"{page}: the page scrolls sideways by {state['scroll']} px at 1280 px"
    import re

    bad = [c[:40] for c in state["captions"] if not re.match(r"\**Fig (\d+|R\d+)\b", c)]
    assert not bad, f"{page}: figures without a numbered caption: {bad}"
    assert "NBVAL" not in state["code"], f"{page}: test machinery in visible code"
    if page in PAGES_WITH_TABLES:
        assert state["tables"] > 0, f"{page}: no tables"
    if page != "intro" and page in CHAPTERS:
        assert state["nImgs"] > 0 or page in ("theory", "conclusions", "your_data"), f"{page}: no figures"


#: The content column at the browser's 1280-px width; cellvae.study.figures.plots sizes text for it.
MIN_COLUMN_PX = 660

_LAYOUT_JS = """
const main = document.querySelector('main');
const art = document.querySelector('article.bd-article') || main;
const cs = getComputedStyle(art);
const column = art.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
return {
  column: column,
  tables: Array.from(main.querySelectorAll('table')).map(t => ({
      width: t.scrollWidth, head: t.innerText.slice(0, 60)})),
  imgs: Array.from(main.querySelectorAll('img')).map(i => ({
      src: i.getAttribute('src'), natural: i.naturalWidth,
      shown: i.getBoundingClientRect().width})),
  remote: performance.getEntriesByType('resource').map(r => r.name)
      .filter(u => u.startsWith('http:') || u.startsWith('https:')),
};"""


@pytest.mark.parametrize("page", PAGES)
def test_tables_and_figures_fit_the_column(built, browser, page):
    browser.get((HTML / f"{page}.html").as_uri())
    lay = browser.execute_script(_LAYOUT_JS)
    assert lay["column"] >= MIN_COLUMN_PX, f"{page}: content column is {lay['column']} px"
    wide = [t for t in lay["tables"] if t["width"] > lay["column"] + 1]
    assert not wide, f"{page}: tables wider than the {lay['column']:.0f}-px column: {wide}"
    stretched = [i for i in lay["imgs"] if i["natural"] + 1 < i["shown"]]
    assert not stretched, f"{page}: figures shown wider than their pixels: {stretched}"
    # Shown at full size, or at least MIN_COLUMN_PX wide: the scale at which
    # cellvae.study.figures.plots.displayed_points keeps every figure's text at 9 pt or more.
    shrunk = [i for i in lay["imgs"] if i["shown"] + 1 < min(i["natural"], MIN_COLUMN_PX)]
    assert not shrunk, f"{page}: figures shrunk below the {MIN_COLUMN_PX}-px column: {shrunk}"
    assert not lay["remote"], f"{page}: loaded from the network: {lay['remote']}"


def test_math_renders_offline(built, browser):
    import time

    browser.get((HTML / "theory.html").as_uri())
    state = {}
    for _ in range(60):  # MathJax typesets asynchronously after load
        state = browser.execute_script("""
            const t = document.querySelector('main').innerText;
            return {mjx: document.querySelectorAll('main mjx-container').length,
                    raw: t.includes('\\\\(') || t.includes('\\\\[')};""")
        if state["mjx"] and not state["raw"]:
            break
        time.sleep(0.5)
    assert state["mjx"] > 10, f"MathJax did not typeset the theory chapter: {state}"
    assert not state["raw"], "raw \\( or \\[ is visible on the theory page"
    assert (HTML / "_static" / "mathjax" / "tex-chtml.js").is_file()


def test_references_are_dated_and_cited(built, browser):
    browser.get((HTML / "references.html").as_uri())
    entries = browser.execute_script(
        "return Array.from(document.querySelectorAll('main .citation, main dl.citation > dt, main div.citation'))"
        ".map(e => e.innerText);")
    text = browser.execute_script("return document.querySelector('main').innerText;")
    import re

    years = set(re.findall(r"\b(19[3-9]\d|20[0-2]\d)\b", text))
    assert len(entries) >= 10 or text.count("doi") + text.count("arXiv") >= 10, text[:2000]
    assert len(years) >= 8, f"references without dates: {sorted(years)}"
    for page in ("intro", "batch_effects", "theory"):  # cited where a method is named, listed at the end
        browser.get((HTML / f"{page}.html").as_uri())
        foot = browser.execute_script("return document.querySelectorAll('main .footnote, main aside.footnote').length;")
        assert foot > 0, f"{page}: no cited references"


def _main_text(page: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup((HTML / f"{page}.html").read_text(), "html.parser")
    main = soup.find("article") or soup.find("main")
    for tag in main.find_all(["script", "style"]):
        tag.decompose()
    return main.get_text(" ", strip=True)


#: Most words a page may hold (prose, tables and captions), so that a reader gets through it.
MAX_WORDS = 2500


def test_the_report_reads_in_five_minutes(built):
    texts = {page: _main_text(page) for page in PAGES}
    long = {p: len(t.split()) for p, t in texts.items() if len(t.split()) > MAX_WORDS}
    assert not long, f"pages over {MAX_WORDS} words: {long}"
    assert "Key findings" in texts["intro"]
    assert any("CELLVAE_DATA" in t for p, t in texts.items() if p != "intro"), "no page on running your own data"
    for page in PAGES:
        html = (HTML / f"{page}.html").read_text()
        assert "NBVAL" not in html, f"{page}: test machinery in the HTML"
        # captions carry the report's own numbers; Sphinx's (numfig) would give every figure a second one
        assert 'class="caption-number"' not in html, f"{page}: a figure with two numbers"
    assert "Glossary" in _main_text("glossary") and "References" in texts["references"]
