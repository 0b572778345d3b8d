"""Optional baselines (Harmony, scVI) say so when they are not installed."""


def test_missing_baselines_say_so(monkeypatch):
    from cellvae.study.scoring import baselines

    assert baselines.installed("cellvae") and not baselines.installed("no_such_module_here")
    monkeypatch.setattr(baselines, "installed", lambda m: False)
    assert baselines.harmony(None) is None
    assert baselines.scvi_baseline(None, None) is None
