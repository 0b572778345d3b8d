"""Dump what a built book shows: each page's text, its glued values and its figures' hashes.

Usage: ``python tools/dump_book.py [BUILD_DIR] > dump.json`` (BUILD_DIR defaults to ``_build``).
A page's code cells are kept apart from its text, so a renamed import shows as code, not text.
Two dumps compared with ``diff`` show whether a change altered any number or word of the report
(issue #26: "every glued value and the text of every page are equal before and after").
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

from bs4 import BeautifulSoup
from jupyter_cache import get_cache


def _text(node) -> str:
    lines = (re.sub(r"\s+", " ", s).strip() for s in node.get_text("\n").splitlines())
    return "\n".join(s for s in lines if s)


def page_text(html: Path) -> tuple[str, str]:
    """The article's prose and outputs, and apart from them its code cells' source.

    Returns
    -------
    text : str
        Everything a reader sees but the code: prose, tables, glued values, captions.
    code : str
        The source of the code cells shown on the page.
    """
    soup = BeautifulSoup(html.read_text(), "html.parser")
    main = soup.find("article") or soup.find("main") or soup
    for tag in main.find_all(["script", "style"]):
        tag.decompose()
    inputs = main.select("div.cell_input")
    code = "\n".join(_text(c) for c in inputs)
    for c in inputs:
        c.decompose()
    return _text(main), code


def glued(build: Path) -> dict[str, dict[str, str]]:
    """Glue name -> its text/plain or text/markdown value, per executed notebook."""
    out = {}
    cache = get_cache(build / ".jupyter_cache")
    for rec in cache.list_cache_records():
        nb = cache.get_cache_bundle(rec.pk).nb
        name = Path(rec.uri).stem if rec.uri else str(rec.pk)
        values = {}
        for cell in nb.cells:
            for o in cell.get("outputs", []):
                scrap = o.get("metadata", {}).get("scrapbook", {})
                if scrap.get("name"):
                    pre = scrap.get("mime_prefix", "")
                    data = {k.removeprefix(pre): v for k, v in o.get("data", {}).items()}
                    values[scrap["name"]] = data.get("text/markdown") or data.get("text/plain") or (
                        "image sha256 " + hashlib.sha256(data.get("image/png", "").encode()).hexdigest()[:16])
        out.setdefault(name, values)
    return out


def main(build: Path) -> dict:
    html = build / "html"
    pages = {p.stem: dict(zip(("text", "code"), page_text(p))) for p in sorted(html.glob("*.html"))
             if p.stem not in {"genindex", "search"}}
    images = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:16]
              for p in sorted((html / "_images").glob("*"))} if (html / "_images").exists() else {}
    return {"pages": pages, "glue": glued(build), "images": images}


if __name__ == "__main__":
    build = Path(sys.argv[1] if len(sys.argv) > 1 else "_build")
    json.dump(main(build), sys.stdout, indent=1, sort_keys=True)
