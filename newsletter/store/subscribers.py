"""Subscribers of each list."""

from __future__ import annotations

import sqlite3


class SubscribersMixin:
    db: sqlite3.Connection
