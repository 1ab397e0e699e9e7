"""The store: SQLite by default, PostgreSQL for many hosts. Only this package speaks SQL.

`Store` is assembled from one mixin per aggregate (feeds and items, subscribers, digests
and deliveries, delivery claims, run state, rate limits), all sharing one connection
opened by `StoreBase`: a `SqliteConnection` or a `PgConnection`, which run the same SQL.
"""

import sqlite3
from collections.abc import Callable
from datetime import datetime

from newsletter.config import Config
from newsletter.model import utcnow
from newsletter.store.base import StoreBase, from_iso, to_iso
from newsletter.store.batches import BatchesMixin
from newsletter.store.bounces import BouncesMixin
from newsletter.store.claims import ClaimsMixin, UncertainDelivery
from newsletter.store.deliveries import DeliveriesMixin
from newsletter.store.dialect import IntegrityError
from newsletter.store.items import ItemsMixin
from newsletter.store.ratelimits import RateLimitsMixin
from newsletter.store.runs import RunsMixin
from newsletter.store.subscribers import SubscribersMixin


class Store(
    ItemsMixin,
    SubscribersMixin,
    DeliveriesMixin,
    ClaimsMixin,
    BatchesMixin,
    RunsMixin,
    BouncesMixin,
    RateLimitsMixin,
    StoreBase,
):
    """One database: feeds, items, summaries, subscribers, digests, deliveries and their
    claims, bounce events, rate-limit counts."""


def open_store(config: Config, clock: Callable[[], datetime] = utcnow) -> Store:
    """The store a config names: [store] url (PostgreSQL) or [store] path (SQLite)."""
    return Store(config.store_target, clock=clock, password=config.database_password)


# what a database failure the store did not translate looks like to its callers (PostgreSQL
# failures arrive as StoreError)
DatabaseError = sqlite3.DatabaseError

__all__ = [
    "DatabaseError",
    "IntegrityError",
    "Store",
    "UncertainDelivery",
    "from_iso",
    "open_store",
    "to_iso",
]
