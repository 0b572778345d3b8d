"""Layer 5, chapters: what a chapter computes beyond single calls, one module per chapter.

:mod:`.eda` and :mod:`.fidelity` (exploration), :mod:`.results`, :mod:`.batch_effects`,
:mod:`.real_cells` with :mod:`.side_by_side`, and :mod:`.conclusions`.
"""
