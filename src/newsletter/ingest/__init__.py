"""Ingest: feed URL to stored items.

`fetch` gets a feed's bytes (HTTP with conditional GET, or a local file), `parse` reads
them into raw entries, `entries` normalizes them and `sanitize` makes their HTML safe,
`feeds` runs all of it for every configured feed concurrently and stores what is new;
`health` reports how each feed's fetches have been going. The package imports none of
them itself: a build whose feeds brought nothing new never loads the parser.
"""
