"""Tables and figure inputs that the batch and conclusions chapters read from their modules."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from cellvae.study.chapters.batch_tables import (
    SHORT_NAMES,
    data_points,
    metric_tables,
    scope_table,
    stops_text,
)
from cellvae.study.chapters.conclusions import summary_table
from cellvae.study.scoring.integration import AGGREGATES, BATCH_COLS, BIO_COLS


def test_data_points_pick_each_scopes_pca_and_nb_mixing():
    scoped = pd.DataFrame({"scope": ["site within donor"] * 2 + ["donor within site"] * 2,
                           "embedding": ["PCA", "our NB", "our NB", "PCA"],
                           "Batch mixing": [0.1, 0.2, 0.3, 0.4]})
    pts = data_points(SimpleNamespace(scoped=scoped))
    assert pts == {"donor within site": {"PCA": 0.4, "NB VAE": 0.3},
                   "site within donor": {"PCA": 0.1, "NB VAE": 0.2}}
    no_nb = data_points(SimpleNamespace(scoped=scoped[scoped["embedding"] == "PCA"]))
    assert np.isnan(no_nb["site within donor"]["NB VAE"])  # not scored: a gap, never a crash


def test_metric_tables_split_and_shorten_the_columns():
    cols = list(dict.fromkeys(list(BATCH_COLS) + list(BIO_COLS)))
    table = pd.DataFrame(np.arange(2 * len(cols), dtype=float).reshape(2, -1), index=["PCA", "our NB"],
                         columns=cols)
    batch, bio = metric_tables(SimpleNamespace(table=table))
    assert list(batch.columns) == [SHORT_NAMES.get(c, c) for c in BATCH_COLS]
    assert list(bio.columns) == [SHORT_NAMES.get(c, c) for c in BIO_COLS]
    assert batch.loc["our NB"].iloc[0] == table.loc["our NB", BATCH_COLS[0]]


def test_summary_table_names_the_rows_and_leaves_pca_without_a_bound():
    rows = ["PCA", "our NB", "our NB +batch", "Harmony"]
    table = pd.DataFrame(0.5, index=rows, columns=list(AGGREGATES))
    ev = SimpleNamespace(table=table, nb=SimpleNamespace(metrics={"test_iwae": -260.0}),
                         cond=SimpleNamespace(metrics={"test_iwae": -259.0}))
    s = summary_table(ev, "M3")
    assert list(s.index) == ["PCA (log data)", "M3 NB", "M3 NB +batch"]
    plain, cond = s["test IWAE, log p(x | l)"], s["test IWAE, log p(x | s, l)"]
    assert plain.isna().tolist() == [True, False, True] and plain.iloc[1] == -260.0
    assert cond.isna().tolist() == [True, True, False] and cond.iloc[2] == -259.0


def test_scope_table_names_each_scope_and_keeps_the_call():
    scoped = pd.DataFrame({"scope": ["site within donor", "donor within site"], "embedding": ["PCA", "PCA"], "K": 5,
                           "Batch mixing": [0.1, 0.9], "mixing low": [0.05, 0.85], "mixing high": [0.15, 0.95],
                           "mixing threshold": [0.5, 0.5], "mixing call": ["below", "above"]})
    labels = {"site within donor": "site within donor 1", "donor within site": "donor within site 2"}
    t = scope_table(SimpleNamespace(scoped=scoped, labels=labels))
    assert list(t.columns) == ["K", "Batch mixing", "low", "high", "threshold", "call"]
    assert t.loc[("site within donor 1", "PCA"), "call"] == "below"
    assert t.loc[("donor within site 2", "PCA"), "call"] == "above"
    none = scope_table(SimpleNamespace(scoped=pd.DataFrame(columns=["scope", "embedding"]), labels={}))
    assert none.empty and list(none.columns) == list(t.columns)  # a file without sites has no scopes


def test_stops_text_says_how_each_run_ended_and_names_a_diverged_one():
    ok = SimpleNamespace(metrics={"epochs": 120, "stopped": "early_stopping"})
    ev = SimpleNamespace(nb=ok, cond=SimpleNamespace(metrics={"epochs": 3}))
    assert stops_text(ev) == "NB: 120 epochs, stopped by early stopping; NB +batch: 3 epochs, stopped by divergence"


def test_original_sentence_carries_each_claim():
    from cellvae.study.chapters.conclusions import original_sentence

    s = original_sentence({"raw_claim": "A", "recon_claim": "B", "collapse_claim": "C"})
    assert "raw counts is A;" in s and "0.0002 is B;" in s and "posterior is C." in s


def test_random_wins_names_a_metric_the_random_embedding_wins_and_nothing_otherwise():
    from cellvae.study.chapters.batch_tables import random_wins

    bio = pd.DataFrame({"iso": [0.50, 0.40, 0.55, 0.45], "NMI": [0.7, 0.6, 0.1, 0.7]},
                       index=["PCA", "our NB", "random embedding", "shuffled labels"])
    s = random_wins(bio)
    assert "on this metric (iso 0.55 against at most 0.50)" in s and "NMI" not in s
    bio.loc["random embedding", "NMI"] = 0.7  # a tie counts: the metric cannot tell the two apart
    assert "these metrics (iso 0.55 against at most 0.50; NMI 0.70 against at most 0.70)" in random_wins(bio)
    bio.loc["random embedding"] = [0.3, 0.1]
    assert random_wins(bio) == ""
    assert random_wins(bio.drop(index="random embedding")) == ""


def test_the_scope_section_says_why_it_is_empty_on_a_file_without_sites():
    from cellvae.study.chapters.batch_tables import scope_texts

    empty = SimpleNamespace(scoped=pd.DataFrame(columns=["scope", "embedding"]))
    t = scope_texts(empty, fpr="5%", scope_null="x")
    assert "cannot be told apart here" in t["scope_intro"] and t["scope_caption"] == ""
    full = SimpleNamespace(scoped=pd.DataFrame({"scope": ["donor within site"], "embedding": ["PCA"]}))
    t = scope_texts(full, fpr="5%", scope_null="its own labels permuted")
    assert t["scope_caption"].startswith("**Table 6.**") and "(its own labels permuted)" in t["scope_caption"]


def test_the_power_sentence_leaves_out_an_effect_not_simulated_here():
    from cellvae.study.chapters.batch_text import power_sentence

    power = pd.DataFrame({"effect": "donor", "kind": ["PCA", "NB VAE"], "strength": 0.2, "detected": [2.0, 1.0],
                          "n": 5.0, "power": [0.4, 0.2], "low": [0.05, 0.01], "high": [0.85, 0.72]})
    ev = SimpleNamespace(power=power, fpr=pd.DataFrame())
    s = power_sentence(ev)
    assert "site effect" not in s and "PCA detects a donor effect of 0.2" in s
    assert power_sentence(SimpleNamespace(power=power.iloc[:0], fpr=pd.DataFrame())).startswith(
        "No power was simulated at the simulator's own strengths here.")


def test_pooled_donors_read_as_a_donor_difference_and_an_unsimulated_site_is_not_described():
    from cellvae.study.calls.verdicts import BELOW
    from cellvae.study.chapters.batch_text import _simulated_effects, data_sentence

    v = pd.DataFrame({"K": [5], "Batch mixing": [0.8], "mixing low": [0.78], "mixing high": [0.82],
                      "mixing threshold": [0.95], "mixing call": [BELOW]}, index=["PCA"])
    ev = SimpleNamespace(verdicts=v)
    assert "**a batch effect is detected**" in data_sentence(ev, truth=None)
    assert "**a donor difference is detected**" in data_sentence(ev, truth=None, pooled=True)
    assert "site" not in _simulated_effects({"donor"})["dose_panels"]
    assert "no site effect is simulated" in _simulated_effects({"donor"})["effects_simulated"]
    assert "site effect (left" in _simulated_effects({"site", "donor"})["dose_panels"]
