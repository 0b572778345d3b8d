"""Regenerate the paired book/*.ipynb from the MyST sources.

Each chapter is executed; the .ipynb keeps only the outputs of cells marked
``# NBVAL_CHECK_OUTPUT`` (the references nbval compares against), so the repo
stays small and the pair stays in sync.  Run after editing a chapter:

    .venv/bin/python tools/update_notebooks.py            # all chapters
    .venv/bin/python tools/update_notebooks.py eda theory # some
"""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext
import nbclient

BOOK = Path(__file__).resolve().parents[1] / "book"
CHECK = "# NBVAL_CHECK_OUTPUT"


def update(md: Path) -> None:
    nb = jupytext.read(md)
    nbclient.NotebookClient(nb, timeout=3000, kernel_name="python3",
                            resources={"metadata": {"path": str(BOOK)}}).execute()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        if not cell.source.lstrip().startswith(CHECK):
            cell.outputs, cell.execution_count = [], None
        # checked cells keep their execution count: nbval rejects outputs of an "unrun" cell
    jupytext.write(nb, md.with_suffix(".ipynb"), fmt="ipynb")
    print(f"updated {md.with_suffix('.ipynb').name}")


if __name__ == "__main__":
    names = sys.argv[1:] or [p.stem for p in sorted(BOOK.glob("*.md"))]
    for name in names:
        update(BOOK / f"{name}.md")
