#!/bin/bash
# Cold build of a checkout, timed: empty caches, `cellvae-grid` then `jupyter-book build book`.
# Usage: benchmarks/cold_build.sh REPO_DIR [GRID_MODULE]
#   REPO_DIR     a clean checkout (e.g. `git worktree add /tmp/x <commit>`); its _build is deleted
#   GRID_MODULE  the module whose main() is cellvae-grid at that commit
#                (default cellvae.study.book.cli; cellvae.study.cli before the study's layers)
# Uses this repository's .venv with PYTHONPATH set to the checkout's src, so two commits build
# with the same packages.  Writes REPO_DIR/_build_times.txt and the two logs beside it.
set -u
here="$(cd "$(dirname "$0")/.." && pwd)"
repo="$(cd "$1" && pwd)"
module="${2:-cellvae.study.book.cli}"
cd "$repo"
rm -rf _build _build_grid.log _build_book.log _build_times.txt
export PYTHONPATH="$repo/src" CELLVAE_CACHE="$repo/_build/cellvae-cache" PATH="$here/.venv/bin:$PATH"
s=$(date +%s)
/usr/bin/time -v python -c "import sys; from $module import main; sys.exit(main())" > _build_grid.log 2>&1
g=$(date +%s)
jupyter-book build book > _build_book.log 2>&1
e=$(date +%s)
echo "grid $((g-s)) s, book $((e-g)) s, total $((e-s)) s" | tee _build_times.txt
