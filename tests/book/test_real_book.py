"""The whole book builds on real cells: `cellvae-grid` and `jupyter-book build book`, CELLVAE_DATA at the starter.

Slow (every chapter on 600 real cells, cold but for the runs it shares with the default book); CI runs it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from bookbuild import build

ROOT = Path(__file__).resolve().parents[2]
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
PAGES = [TOC["root"]] + [c["file"] for c in TOC["chapters"]]
#: The executed chapters; the other pages (references, glossary, ...) run on no data.
CHAPTERS = [p for p in PAGES if (ROOT / "book" / f"{p}.md").read_text().startswith("---\njupytext:")]

pytestmark = pytest.mark.slow
# The run cache the Makefile exports, read before conftest's per-test isolation replaces it: as on a
# user's machine, the default book's runs on the starter (the real cells chapter) are reused, and the
# runs on the starter as the book's data are added beside them (every entry is keyed by its data).
RUN_CACHE = os.environ.get("CELLVAE_CACHE")


def test_every_chapter_builds_on_the_shipped_starter(tmp_path):
    from cellvae.datasets import starter_path

    build({**os.environ, "CELLVAE_DATA": str(starter_path()), "CELLVAE_CACHE": RUN_CACHE or str(tmp_path / "cache")},
          "--path-output", str(tmp_path))
    for page in CHAPTERS:
        text = re.sub(r"<[^>]+>|\s+", " ", (tmp_path / "_build" / "html" / f"{page}.html").read_text())
        # every chapter ran on the real file and says so in its note
        assert re.search(r"ran on\s+the real file\s+bmmc_cite_starter_gex\.h5ad", text), page
