"""The book's chapters: MyST sources paired with in-sync .ipynb, each importing cellvae."""

from __future__ import annotations

import jupytext
import pytest

from bookbuild import CHAPTERS, PAGES, ROOT


def _cells(nb):
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def test_toc_lists_every_page_and_only_pages():
    sources = {p.stem for p in (ROOT / "book").glob("*.md")}
    assert set(PAGES) == sources, "a page missing from _toc.yml, or a listed one without a source"
    assert len(PAGES) == len(set(PAGES))
    assert len(CHAPTERS) == 10 and {"references", "glossary"} <= set(PAGES) - set(CHAPTERS)
    assert not list((ROOT / "book").glob("references.ipynb")), "a plain page needs no notebook"
    assert (ROOT / "book" / "_toc.yml").resolve() == (ROOT / "_toc.yml").resolve()


@pytest.mark.parametrize("name", CHAPTERS)
def test_pair_in_sync(name):
    md, ipynb = ROOT / "book" / f"{name}.md", ROOT / "book" / f"{name}.ipynb"
    assert ipynb.exists(), f"{ipynb.name} missing: run tools/update_notebooks.py {name}"
    src, paired = jupytext.read(md), jupytext.read(ipynb)
    assert "ipynb" in src.metadata["jupytext"]["formats"]
    assert _cells(src) == _cells(paired), f"{name}.ipynb is out of sync with {name}.md"


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_uses_package_and_states_data(name):
    text = (ROOT / "book" / f"{name}.md").read_text()
    assert "from cellvae" in text or "import cellvae" in text
    assert "{glue:text}`data_source`" in text


@pytest.mark.parametrize("name", CHAPTERS)
def test_checked_cells_have_reference_output(name):
    nb = jupytext.read(ROOT / "book" / f"{name}.ipynb")
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.lstrip().startswith("# NBVAL_CHECK_OUTPUT"):
            assert cell.outputs, f"{name}: a NBVAL_CHECK_OUTPUT cell has no stored reference output"
