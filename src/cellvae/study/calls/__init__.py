"""Layer 3, calls: every verdict the report makes, decided by a computed condition.

- :mod:`.selection`: the model choice on validation cells over seeds;
- :mod:`.collapse`: posterior collapse and the beta sweep;
- :mod:`.controls`, :mod:`.calibration`, :mod:`.verdicts`: batch-effect nulls and verdicts;
- :mod:`.embeddings`: the embeddings the batch chapter compares;
- :mod:`.original_study`, :mod:`.raw_gaussians`: the original study's numbers and failures;
- :mod:`.nat_units`: what each family's nats are;
- :mod:`.zero_inflation`: whether ZINB is needed.
"""
