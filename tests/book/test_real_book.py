"""The whole book builds on real cells: `cellvae-grid` and `jupyter-book build book`, CELLVAE_DATA at the starter.

Slow (every chapter on 600 real cells, cold but for the runs it shares with the default book); CI runs it.
"""

from __future__ import annotations

import os
import re

import pytest

from bookbuild import CHAPTERS, RUN_CACHE, build

pytestmark = pytest.mark.slow


def test_every_chapter_builds_on_the_shipped_starter(tmp_path):
    from cellvae.datasets import starter_path

    build({**os.environ, "CELLVAE_DATA": str(starter_path()), "CELLVAE_CACHE": RUN_CACHE},
          "--path-output", str(tmp_path))
    for page in CHAPTERS:
        text = re.sub(r"<[^>]+>|\s+", " ", (tmp_path / "_build" / "html" / f"{page}.html").read_text())
        # every chapter ran on the real file and says so in its note
        assert re.search(r"ran on\s+the real file\s+bmmc_cite_starter_gex\.h5ad", text), page
