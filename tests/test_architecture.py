"""The package's architecture: the library never imports the study, and no import cycle exists.

Imports are read with ``ast`` from the source files (module level and inside functions alike),
so a lazy import inside a function counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "cellvae"
STUDY = "cellvae.study"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str], *, top_level: bool = False) -> set[str]:
    """The cellvae modules that ``name`` imports (``from x import y`` counts x.y when it is a module).

    With ``top_level``, only the imports made when the module loads (not inside a function).
    """
    is_pkg = path.name == "__init__.py"
    here = name.split(".") if is_pkg else name.split(".")[:-1]
    out = set()
    tree = ast.parse(path.read_text(), str(path))
    for node in tree.body if top_level else ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in known else mod for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:  # `import cellvae.model.vae` -> that module, or its package
                t = t.rpartition(".")[0]
            if t and t != name:
                out.add(t)
    return out


def import_graph() -> dict[str, set[str]]:
    mods = modules()
    return {n: imports_of(n, p, set(mods)) for n, p in mods.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None (iterative three-colour DFS)."""
    colour = dict.fromkeys(graph, 0)
    for root in graph:
        if colour[root]:
            continue
        stack, path = [(root, iter(sorted(graph[root])))], [root]
        colour[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                colour[node] = 2
                stack.pop()
                path.pop()
            elif colour.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif colour.get(nxt) == 0:
                colour[nxt] = 1
                stack.append((nxt, iter(sorted(graph[nxt]))))
                path.append(nxt)
    return None


#: The study's layers, lowest first: a module imports only study modules of its own layer or below.
LAYERS = ("runner", "scoring", "calls", "figures", "chapters", "book")
#: The longest chain of module-level imports inside the study (issue #26: at most 6 modules).
MAX_CHAIN = 6


def layer_of(module: str) -> int | None:
    """Index in :data:`LAYERS` of a study module; None for the study package itself."""
    parts = module.split(".")
    return LAYERS.index(parts[2]) if len(parts) > 2 else None


def upward_imports(graph: dict[str, set[str]]) -> dict[str, list[str]]:
    """Study modules that import a study module of a higher layer."""
    bad = {}
    for m, deps in graph.items():
        if not m.startswith(STUDY + "."):
            continue
        up = sorted(d for d in deps if d.startswith(STUDY + ".") and layer_of(d) is not None
                    and layer_of(d) > layer_of(m))
        if up:
            bad[m] = up
    return bad


def module_level_graph() -> dict[str, set[str]]:
    """Study-internal imports made at module level (not inside a function or class)."""
    mods = modules()
    known = set(mods)
    out = {}
    for name, path in mods.items():
        if not name.startswith(STUDY + "."):
            continue
        deps = imports_of(name, path, known, top_level=True)
        out[name] = {d for d in deps if d.startswith(STUDY + ".")}
    return out


def longest_chain(graph: dict[str, set[str]]) -> list[str]:
    """The longest import path (in modules) of an acyclic graph."""
    memo: dict[str, list[str]] = {}

    def walk(n: str) -> list[str]:
        if n not in memo:
            memo[n] = [n] + max((walk(d) for d in graph.get(n, ())), key=len, default=[])
        return memo[n]

    return max((walk(n) for n in graph), key=len, default=[])


def test_study_is_layered():
    mods = [m for m in modules() if m.startswith(STUDY + ".")]
    unplaced = [m for m in mods if m.split(".")[2] not in LAYERS]
    assert not unplaced, f"study modules outside a layer package: {unplaced}"
    bad = upward_imports(import_graph())
    assert not bad, f"imports of a higher layer: {bad}"


def test_import_chains_are_short():
    chain = longest_chain(module_level_graph())
    assert len(chain) <= MAX_CHAIN, " -> ".join(chain)


def test_layer_checks_can_fail():
    assert upward_imports({f"{STUDY}.runner.runs": {f"{STUDY}.book.glue"}}) == {
        f"{STUDY}.runner.runs": [f"{STUDY}.book.glue"]}
    assert upward_imports({f"{STUDY}.book.glue": {f"{STUDY}.runner.runs"}}) == {}
    assert longest_chain({"a": {"b"}, "b": {"c"}, "c": set(), "d": {"c"}}) == ["a", "b", "c"]


def test_layout_shows_the_split():
    mods = modules()
    for pkg in ("cellvae.data", "cellvae.model", "cellvae.study"):
        assert pkg in mods, pkg
    assert {"cellvae.cli", "cellvae.model.vae", "cellvae.model.trainer", "cellvae.study.runner.runs"} <= set(mods)


def test_library_never_imports_the_study():
    bad = {m: sorted(t for t in deps if t == STUDY or t.startswith(STUDY + "."))
           for m, deps in import_graph().items() if not (m == STUDY or m.startswith(STUDY + "."))}
    bad = {m: d for m, d in bad.items() if d}
    assert not bad, f"library modules import the study: {bad}"


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle)


def test_the_checks_can_fail(tmp_path):
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    fake = tmp_path / "m.py"
    fake.write_text("def f():\n    from .study import plots\n")
    known = {"cellvae", "cellvae.study", "cellvae.study.plots", "cellvae.m"}
    assert imports_of("cellvae.m", fake, known) == {"cellvae.study.plots"}
    assert imports_of("cellvae.m", fake, known, top_level=True) == set()


def test_public_entry_point():
    import cellvae

    assert cellvae.CellVAE.__module__ == "cellvae.model.vae"


@pytest.mark.parametrize("path", sorted(PKG.rglob("*.py")), ids=lambda p: str(p.relative_to(PKG)))
def test_files_stay_short(path):
    n = len(path.read_text().splitlines())
    assert n <= 320, f"{path.name} has {n} lines; split it"
