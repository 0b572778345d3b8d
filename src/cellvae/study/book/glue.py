"""Helpers the report's pages share: gluing values, tables and figures into the page."""

from __future__ import annotations

import anndata as ad


def table_style(df, *, formats: dict | None = None):
    """A results table for the page: one decimal for nats, no index column.

    Parameters
    ----------
    df
        A table of results.
    formats
        Column -> format string overrides.

    Returns
    -------
    pandas.io.formats.style.Styler
    """
    fmt = {c: "{:.1f}" for c in df.select_dtypes("float").columns}
    fmt |= {"IWAE s.e.": "{:.2f}", "seconds": "{:.0f}", "active units": "{:.0f}", "epochs": "{:.0f}"}
    fmt |= formats or {}
    return df.style.format({k: v for k, v in fmt.items() if k in df}).hide(axis="index")


def glue_all(values: dict) -> None:
    """Glue each value under its key without displaying it (myst-nb).

    Parameters
    ----------
    values
        Glue name -> value (a number, string or other displayable object).
    """
    from myst_nb import glue

    for k, v in values.items():
        glue(k, v, display=False)


def glue_md(values: dict) -> None:
    """Glue strings as Markdown, for ``{glue:md}`` (bold, links and lists render).

    Parameters
    ----------
    values
        Glue name -> Markdown source string.
    """
    from IPython.display import Markdown
    from myst_nb import glue

    for k, v in values.items():
        glue(k, Markdown(v), display=False)


def glue_figure(name: str, fig) -> None:
    """Glue a matplotlib figure for a ``{glue:figure}`` directive, then close it.

    Parameters
    ----------
    name
        The glue name the directive refers to.
    fig
        A matplotlib Figure; it is closed after gluing.
    """
    import matplotlib.pyplot as plt
    from myst_nb import glue

    glue(name, fig, display=False)
    plt.close(fig)


def banner(adata: ad.AnnData) -> None:
    """Glue ``data_source`` for the note at the top of every page.

    Parameters
    ----------
    adata
        Data from :func:`book_data`, whose ``uns['source']`` is glued.
    """
    glue_all({"data_source": adata.uns["source"]})


def scope_sentence(adata: ad.AnnData) -> str:
    """What the build's data can show, for the conclusions' "does not show" section.

    Parameters
    ----------
    adata
        Data from :func:`book_data`.

    Returns
    -------
    str
        For simulated data: that its numbers test the pipeline and diagnostics, not BMMC,
        and how to run on the GEO file.  For a real file: its name and size.
    """
    if "simulation" in adata.uns:
        return ("This build ran the main chapters on simulated data, whose cell types, lineages and batch "
                "effects are drawn from a parametric model: their numbers show that the pipeline and the "
                "diagnostics work, not what the real BMMC data contain. Setting `CELLVAE_DATA` to the GEO "
                "file reruns every chapter on the real data (a GPU is advisable for the model grid at "
                "90,000 cells x 5,000 genes).")
    return (f"This build ran the main chapters on {adata.uns['source']}: {adata.n_obs:,} real cells. What a "
            "file of this size and design cannot separate is said in each chapter's design notes.")


def legend_note(labels) -> str:
    """How :func:`~cellvae.study.figures.plots.embedding_grid` shows these cell types, for a caption.

    Parameters
    ----------
    labels
        One cell-type label per cell.

    Returns
    -------
    str
        E.g. ``"9 types, legend below"``, or ``"44 types grouped into 8 lineages, legend below"``;
        past :data:`~cellvae.study.figures.plots.MAX_LEGEND` types of another tissue than BMMC
        the grid draws no legend, and the note says so.
    """
    import pandas as pd

    from ..figures.palette import lineages
    from ..figures.plots import MAX_LEGEND

    n = pd.Series(labels).nunique()
    if n <= MAX_LEGEND:
        return f"{n} types, legend below"
    groups = lineages(labels)
    if groups is not None:
        k = pd.Series(groups)
        other = " and other types" if (k == "other").any() else ""
        return f"{n} types grouped into {k[k != 'other'].nunique()} lineages{other}, legend below"
    return f"{n} types, too many for a legend, so the colours show separation only"


def csv_link(df, name: str, *, label: str):
    """A link that downloads ``df`` as a CSV file, carried inside the page (no file beside the book).

    Parameters
    ----------
    df
        The full table.
    name
        The downloaded file's name, without ``.csv``.
    label
        The link's text, e.g. ``"Table 3a, every run, as CSV"``.

    Returns
    -------
    IPython.display.HTML
        Displayed by a chapter's cell: an ``<a download>`` with the CSV as a data URI.
    """
    import base64
    import html

    from IPython.display import HTML

    data = base64.b64encode(df.to_csv(index=False).encode()).decode()
    return HTML(f'<p><a download="{html.escape(name)}.csv" href="data:text/csv;base64,{data}">'
                f"{html.escape(label)}</a> ({len(df):,} rows)</p>")
