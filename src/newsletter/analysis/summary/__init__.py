"""Extractive summaries: `summarize` (budget, readability rules) over `rank` (the fused ranker)."""
