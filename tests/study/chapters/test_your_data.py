"""The "Run it on your data" page reads its settings from the library and its costs from the runs."""

from __future__ import annotations

from types import SimpleNamespace

from cellvae.data.design import ENV
from cellvae.study.chapters import your_data


def _run(family, seconds, epochs, status="ok"):
    return SimpleNamespace(spec=SimpleNamespace(family=family),
                           metrics={"status": status, "seconds": seconds, "epochs": epochs})


def test_every_setting_is_listed_with_its_guesses():
    t = your_data.settings_table()
    assert list(t["variable"]) == list(ENV.values())
    assert "sample_id" in t.set_index("variable").loc["CELLVAE_BATCH_KEY", "guessed from"]
    assert "pooled donors" in set(your_data.kinds_table()["CELLVAE_BATCH_IS"])


def test_costs_are_medians_per_family_and_a_failed_run_is_left_out():
    runs = [_run("nb/raw", 10.0, 100), _run("nb/raw", 30.0, 100), _run("original", 5.0, 50),
            _run("nb/raw", 1.0, 1, status="diverged")]
    t = your_data.cost_table(runs, 1000).set_index("family")
    assert t.loc["nb/raw", "runs"] == 2 and t.loc["nb/raw", "median s"] == 20.0
    assert t.loc["nb/raw", "cells/s"] == (10_000 + 100_000 / 30) / 2
    s = your_data.cost_sentence(runs)
    assert "3 runs took 45 seconds of training in all" in s and "median 10 s per run" in s
    assert "1 run took" in your_data.cost_sentence(runs[:1])
    assert "No run" in your_data.cost_sentence([])
