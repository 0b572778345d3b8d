"""A Sphinx extension that leaves figure numbering to the captions.

Every caption opens with the report's own number (Fig 1-16 in reading order, R1-R3 on the real
cells page).  Sphinx's ``numfig`` would put a second number in front ("Fig. 7 Fig 5b"), and
``sphinx-jupyterbook-latex``, which Jupyter Book loads, turns ``numfig`` on for every builder when
the configuration is read.  This extension turns it off again, after it.

Enable it in ``_config.yml`` under ``sphinx: extra_extensions``.
"""

from __future__ import annotations

#: Runs after sphinx-jupyterbook-latex's handler of the same event (default priority 500).
PRIORITY = 900


def no_numfig(app, config) -> None:
    """``config-inited`` handler: no automatic figure, table or code-block numbers.

    Parameters
    ----------
    app
        The Sphinx application.
    config
        Its configuration.
    """
    config["numfig"] = False


def setup(app) -> dict:
    """Register the handler.

    Parameters
    ----------
    app
        The Sphinx application.

    Returns
    -------
    dict
        Extension metadata.
    """
    app.connect("config-inited", no_numfig, priority=PRIORITY)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
