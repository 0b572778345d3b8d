"""Layer 1, the runner: what each run is, training it or loading it from the cache, in a pool.

- :mod:`.grid`: the run specs and the book's training budget;
- :mod:`.runs`: train and evaluate a run, or load it; fan out over a pool;
- :mod:`.cache`: the run cache and its key (the code that shapes a run, and nothing else);
- :mod:`.store`: the one cache helper every cache uses;
- :mod:`.ppc`: posterior predictive statistics, computed as part of a run;
- :mod:`.pool`: torch threads per run and a local process pool;
- :mod:`.bookdata`: which data the book runs on;
- :mod:`.scored`: the cells every score and "all cells" figure uses (at most 20,000 held out);
- :mod:`.tables`, :mod:`.progress`: the runs as a table and as log lines (outside the run key).
"""
