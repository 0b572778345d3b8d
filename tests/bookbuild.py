"""The book's pages, and building it as the README and ``make book`` do: ``cellvae-grid``, then ``jupyter-book build book``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
PAGES = [TOC["root"]] + [c["file"] for c in TOC["chapters"]]
#: The executed chapters (MyST notebooks); the other pages (references, glossary, ...) are plain MyST.
CHAPTERS = [p for p in PAGES if (ROOT / "book" / f"{p}.md").read_text().startswith("---\njupytext:")]
# The run cache the Makefile exports, read at import, before conftest's per-test isolation replaces
# it: both book builds and the nbval run after them share trained models, as a user's builds do
# (the default book's starter runs serve the starter book; every entry is keyed by its data).
RUN_CACHE = os.environ.get("CELLVAE_CACHE", str(ROOT / "_build" / "cellvae-cache"))


def build(env: dict, *jb_args: str) -> str:
    """Run both commands from the repo root with ``env`` and every core; return their joined output.

    The grid trains in one pool whose rounds and scores overlap; the book then runs its chapters in
    parallel, reading only caches.  ``jupyter-book build book`` alone, where each chapter computes
    what the cache misses one after another, took 1,425 s for the default book in CI, against a
    cold grid of 1,127 s and about 90 s of chapters (2026-12-08, docs/measurements.md).
    """
    bin_ = Path(sys.executable).parent
    env = {**env, "PATH": f"{bin_}{os.pathsep}{env.get('PATH', '')}"}
    env.pop("CELLVAE_JOBS", None)  # as a user builds it: runs in a pool over every core
    log = ""
    for cmd in ([str(bin_ / "cellvae-grid")], [str(bin_ / "jupyter-book"), "build", "book", *jb_args]):
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
        log += proc.stdout + proc.stderr
        assert proc.returncode == 0, f"{cmd[0]} failed:\n{log[-4000:]}"
    assert "Execution Failed" not in log and "CellExecutionError" not in log, log[-4000:]
    return log
