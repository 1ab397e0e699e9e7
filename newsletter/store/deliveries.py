"""Digests, the items they carried, and per-subscriber deliveries."""

from __future__ import annotations

import sqlite3


class DeliveriesMixin:
    db: sqlite3.Connection
