"""Analysis: what a digest says about its items, with no I/O.

`summary` writes extractive summaries (offline tokenizer, sumy rankers), `dedupe` merges
the same story told by several feeds, `themes` groups entries into labelled sections.
The heavy libraries (scikit-learn, sumy) load only when these modules are imported.
"""
