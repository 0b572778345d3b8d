"""Every public function and method of the package has a numpydoc docstring.

A function that takes parameters documents them under ``Parameters``; one that returns
a value has ``Returns`` (or ``Yields``); one whose body raises has ``Raises``.  Read
with ``ast``, so nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "src" / "cellvae"


def _sections(doc: str) -> set[str]:
    lines = doc.splitlines()
    return {a.strip() for a, b in zip(lines, lines[1:]) if b.strip() and set(b.strip()) == {"-"}}


def _public(tree: ast.Module):
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith("_"):
            yield node.name, node
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for sub in node.body:
                if isinstance(sub, ast.FunctionDef) and not sub.name.startswith("_"):
                    yield f"{node.name}.{sub.name}", sub


def problems(path: Path) -> list[str]:
    out = []
    for name, fn in _public(ast.parse(path.read_text())):
        doc = ast.get_docstring(fn)
        if not doc:
            out.append(f"{name}: no docstring")
            continue
        sec = _sections(doc)
        args = [a.arg for a in fn.args.args + fn.args.kwonlyargs if a.arg not in ("self", "cls")]
        if fn.args.vararg or fn.args.kwarg:
            args.append("*")
        if args and "Parameters" not in sec:
            out.append(f"{name}: no Parameters section")
        is_prop = any(isinstance(d, ast.Name) and d.id == "property" for d in fn.decorator_list)
        returns = fn.returns is not None and not (isinstance(fn.returns, ast.Constant) and fn.returns.value is None)
        if returns and not is_prop and not sec & {"Returns", "Yields"}:
            out.append(f"{name}: no Returns section")
        own = [n for n in ast.walk(fn) if isinstance(n, ast.Raise) and n.exc is not None]
        if own and "Raises" not in sec:
            out.append(f"{name}: raises but has no Raises section")
    return out


@pytest.mark.parametrize("path", sorted(PKG.rglob("*.py")), ids=lambda p: str(p.relative_to(PKG)))
def test_numpydoc(path):
    bad = problems(path)
    assert not bad, "\n".join(bad)


def test_checker_catches_a_bare_function(tmp_path):
    f = tmp_path / "m.py"
    f.write_text('def f(x) -> int:\n    """Do."""\n    raise ValueError\n')
    assert problems(f) == ["f: no Parameters section", "f: no Returns section",
                           "f: raises but has no Raises section"]
