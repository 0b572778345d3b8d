"""Layer 4, figures: the report's figures, seaborn on matplotlib in one style (:mod:`.plots`)."""
