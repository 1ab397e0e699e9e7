"""Ingest: feed URL to stored items.

`fetch` gets a feed's bytes (HTTP with conditional GET, or a local file), `parse` reads
them into raw entries, `sanitize` makes their HTML safe, `feeds` runs all of it for every
configured feed concurrently and stores what is new; `health` reports how each feed's
fetches have been going.
"""

from newsletter.ingest.feeds import IngestReport, ingest
from newsletter.ingest.fetch import fetch
from newsletter.ingest.parse import read_feed

__all__ = ["IngestReport", "fetch", "ingest", "read_feed"]
