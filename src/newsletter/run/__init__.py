"""Runs: what `newsletter build` and cron's `newsletter run` do.

`digest` builds one digest from the store (select, summarize, merge, group, render),
`runner` ingests, builds and sends what is due under `lock`, and `report` says what it did.
The package imports none of them itself: `newsletter.run.report` alone is what the command
line needs to start.
"""
