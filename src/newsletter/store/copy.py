"""`newsletter store copy`: every row of one store into another, empty one, then counted.

The usual move is a SQLite file to a PostgreSQL database when a list outgrows one host;
the other way works too. Both stores are opened by this program, so both have its
schema. Tables are copied parents first (by their foreign keys), the source read from
one snapshot and the target written in one transaction: a failed copy leaves the target
as empty as it was. Row ids are kept (links in mail already sent name subscribers by id),
and the target's id sequences are moved past them. The counts of every table are then
compared on both sides.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from newsletter.errors import StoreError
from newsletter.store.base import StoreBase

# tables a new store fills itself (the highest subscriber id given): the copy replaces them
SEEDED = frozenset({"subscriber_ids"})


@dataclass
class CopyReport:
    """What a copy moved: (table, rows in the source, rows in the target) in copy order."""

    source: str
    target: str
    tables: list[tuple[str, int, int]] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def matches(self) -> bool:
        return all(source == target for _, source, target in self.tables)

    @property
    def rows(self) -> int:
        return sum(target for _, _, target in self.tables)

    def format(self) -> str:
        width = max([len("table"), *(len(t) for t, _, _ in self.tables)])
        lines = [f"{'table':<{width}}  {'source':>10}  {'copied':>10}"]
        for table, source, target in self.tables:
            flag = "" if source == target else "  MISMATCH"
            lines.append(f"{table:<{width}}  {source:>10,}  {target:>10,}{flag}")
        verdict = "every count matches" if self.matches else "COUNTS DIFFER"
        lines.append(
            f"copied {self.rows:,} rows from {self.source} to {self.target} in "
            f"{self.elapsed:.1f} s: {verdict}"
        )
        return "\n".join(lines)


def copy_order(store: StoreBase) -> list[str]:
    """The store's tables, each after the tables its foreign keys point to."""
    tables = sorted(store.db.tables())
    refs = {t: store.db.references(t) & set(tables) for t in tables}
    ordered: list[str] = []
    while len(ordered) < len(tables):
        ready = [t for t in tables if t not in ordered and refs[t] <= set(ordered) | {t}]
        if not ready:
            raise StoreError(
                f"foreign keys form a cycle among {sorted(set(tables) - set(ordered))}"
            )
        ordered.extend(ready)
    return ordered


def row_counts(store: StoreBase) -> dict[str, int]:
    """Rows of every table."""
    return {
        table: int(store.db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])
        for table in sorted(store.db.tables())
    }


def copy_store(source: StoreBase, target: StoreBase) -> CopyReport:
    """Copy every row of `source` into the empty `target`; StoreError when the target holds
    data or the two schemas differ. Check `CopyReport.matches`."""
    started = time.monotonic()
    if source.schema_version != target.schema_version:
        raise StoreError(
            f"schema versions differ ({source.schema_version} here, {target.schema_version} "
            "in the target): open both with the same newsletter version"
        )
    tables = copy_order(source)
    if set(tables) != target.db.tables():
        raise StoreError(
            f"the target's tables differ from the source's: {sorted(target.db.tables())}"
        )
    held = {t: n for t, n in row_counts(target).items() if n and t not in SEEDED}
    if held:
        some = ", ".join(f"{n:,} in {t}" for t, n in sorted(held.items()))
        raise StoreError(
            f"the target {target.where} already holds rows ({some}); copy into a new, empty "
            "database (or an absent SQLite file)"
        )
    report = CopyReport(source.where, target.where)
    source.db.begin_read()
    try:
        with target.transaction():
            for table in tables:
                if table in SEEDED:
                    target.db.execute(f'DELETE FROM "{table}"')
                columns = source.db.columns(table)
                if set(columns) != set(target.db.columns(table)):
                    raise StoreError(f"table {table} has other columns in the target")
                names = ", ".join(f'"{c}"' for c in columns)
                rows = source.db.stream(f'SELECT {names} FROM "{table}"')
                target.db.copy_rows(table, columns, (tuple(r) for r in rows))
                target.db.after_copy(table)
        counted = row_counts(source)
    finally:
        source.db.rollback()  # a read: nothing to keep
    copied = row_counts(target)
    report.tables = [(t, counted[t], copied.get(t, 0)) for t in tables]
    report.elapsed = time.monotonic() - started
    return report
