"""The SQLite store. Only this package speaks SQL.

`Store` is assembled from one mixin per aggregate (feeds and items, subscribers, digests
and deliveries, delivery claims, run state), all sharing one connection opened by `StoreBase`.
"""

import sqlite3

from newsletter.store.base import StoreBase, from_iso, to_iso
from newsletter.store.bounces import BouncesMixin
from newsletter.store.claims import ClaimsMixin, UncertainDelivery
from newsletter.store.deliveries import DeliveriesMixin
from newsletter.store.items import ItemsMixin
from newsletter.store.runs import RunsMixin
from newsletter.store.subscribers import SubscribersMixin


class Store(
    ItemsMixin,
    SubscribersMixin,
    DeliveriesMixin,
    ClaimsMixin,
    RunsMixin,
    BouncesMixin,
    StoreBase,
):
    """One database: feeds, items, summaries, subscribers, digests, deliveries and their
    claims, bounce events."""


# what a database failure the store did not translate looks like to its callers
DatabaseError = sqlite3.DatabaseError

__all__ = ["DatabaseError", "Store", "UncertainDelivery", "from_iso", "to_iso"]
