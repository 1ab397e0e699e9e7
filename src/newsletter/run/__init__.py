"""Runs: what `newsletter build` and cron's `newsletter run` do.

`digest` builds one digest from the store (select, summarize, merge, group, render),
`runner` ingests, builds and sends what is due under `lock`, and `report` says what it did.
"""

from newsletter.run.digest import build, plan_digest
from newsletter.run.runner import run

__all__ = ["build", "plan_digest", "run"]
