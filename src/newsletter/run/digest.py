"""Build one digest: select new items, summarize (cached), merge duplicates, group, render."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsletter.config import Config
from newsletter.ingest.feeds import IngestReport, ingest
from newsletter.model import Digest, Item
from newsletter.run.selection import fair_share
from newsletter.store import Store

logger = logging.getLogger(__name__)

# How many stored items the theme model may learn its vocabulary from (IDF and so on).
VOCABULARY_SIZE = 2000
# How much of an item's text summaries, duplicate detection and themes read. An article's
# first few thousand words decide them; all of it (ingest keeps up to 100,000 characters)
# made a 10 MB feed of long articles take seconds in each stage.
ANALYSIS_TEXT_CHARS = 10_000


@dataclass
class DigestPlan:
    """The items a digest would carry, before anything is written."""

    digest: Digest
    items: list[Item]
    summarized: int = 0  # summaries computed now (not found in the cache)
    cached: int = 0
    basis: str = ""  # what it is built from: see digest_basis


@dataclass
class BuildResult:
    """A built and written digest."""

    plan: DigestPlan | None  # None when an up-to-date digest was reused
    folder: Path | None = None
    digest_id: int | None = None
    reused: bool = False


def select_items(
    config: Config,
    store: Store,
    list_name: str | None = None,
    since: datetime | None = None,
    max_items: int | None = None,
) -> list[Item]:
    """Items of the list's feeds that no sent digest of the list carried, newest first: a
    fair share of each feed (see newsletter.run.selection), each with the head of its text
    that analysis reads and no HTML."""
    lst = config.list(list_name)
    urls = [f.url for f in config.feeds_for(lst.name)]
    limit = max_items if max_items is not None else config.digest.max_items
    if since is None and config.digest.since_days:
        since = store.clock() - timedelta(days=config.digest.since_days)
    per_feed = config.digest.max_per_feed
    # twice the limit: duplicates merge away; no feed can use more than the limit
    wanted = limit * 2 if limit else None
    # chosen on keys and dates alone; only the chosen stories' texts are read
    candidates = store.item_heads(
        feed_urls=urls,
        since=since,
        exclude_sent_to_list=lst.name,
        resend_edited=lst.resend_edited,
        per_feed=min(x for x in (per_feed, wanted) if x) if (per_feed or wanted) else None,
        enough=wanted,  # the feeds' turns fill the digest once they give this many
    )
    chosen = {row for row, _ in fair_share(candidates, wanted, per_feed, item_of=lambda c: c[1])}
    # newest first; texts read no further than analysis looks (one more character tells
    # `analysis_copy` that it must cut), HTML not at all: a digest shows neither whole
    return store.items_by_id(
        [row for row, _ in candidates if row in chosen], text_chars=ANALYSIS_TEXT_CHARS + 1
    )


def summaries_for(
    items: Sequence[Item],
    config: Config,
    store: Store,
    progress: Callable[[int], None] | None = None,
    write_cache: bool = True,
) -> tuple[dict[str, str], int]:
    """Summaries by content hash, from the cache or computed now; returns (summaries, computed).

    `write_cache=False` leaves the store untouched (a preview must change nothing)."""
    from newsletter.analysis.summary.summarize import (  # imported only when needed
        settings_key,
        summarize_many,
    )

    key = settings_key(config.summary)
    found = store.cached_summaries((i.content_hash for i in items), key)
    missing = {i.content_hash: i for i in items if i.content_hash not in found}
    todo = list(missing.values())
    # chunks keep the progress bar moving and each chunk's results safe in the cache
    chunk = 400 if progress else len(todo) or 1
    for start in range(0, len(todo), chunk):
        part = todo[start : start + chunk]
        workers = min(os.cpu_count() or 1, 4) if len(part) >= 200 else 1
        fresh = summarize_many(
            part, config.summary, workers=workers, default_language=config.site.language
        )
        if write_cache:
            store.put_summaries(fresh, key)
        found.update(fresh)
        if progress:
            progress(len(part))
    return found, len(todo)


def plan_digest(
    config: Config,
    store: Store,
    list_name: str | None = None,
    since: datetime | None = None,
    max_items: int | None = None,
    progress: Callable[[int], None] | None = None,
    failed: Sequence[tuple[str, str]] = (),
    read_only: bool = False,
) -> DigestPlan:
    """Select, merge, summarize what is shown, and group: the digest's data, nothing
    rendered yet.

    With `read_only` the store is only read (fresh summaries are not cached), for previews."""
    # imported here: the analysis libraries, which a build with nothing new never needs
    from newsletter.analysis.dedupe.index import story_groups
    from newsletter.analysis.dedupe.merge import entries_for
    from newsletter.analysis.themes.sections import TEXT_CHARS, group_sections
    from newsletter.analysis.themes.topics import Vocabulary

    lst = config.list(list_name)
    items = [analysis_copy(i) for i in select_items(config, store, lst.name, since, max_items)]
    groups, _ = story_groups(items, _cache_dir(config, store, "dedupe"))
    limit = max_items if max_items is not None else config.digest.max_items
    if limit:
        groups = _fair_groups(items, groups, limit, config.digest.max_per_feed)
    # only the stories shown are summarized (with their merged copies, whose summary
    # stands in when the kept version has none)
    carried = [items[i] for i in sorted(i for g in groups for i in g)]
    summaries, computed = summaries_for(carried, config, store, progress, not read_only)
    logger.info(
        "plan: %d stories of %d candidates; %d summaries computed, %d from the cache",
        len(groups),
        len(items),
        computed,
        len(carried) - computed,
    )
    entries = entries_for(items, groups, summaries)
    vocabulary = Vocabulary(
        store.item_texts(VOCABULARY_SIZE, TEXT_CHARS) if entries else [],
        cache_dir=_cache_dir(config, store, "themes"),
    )
    sections = group_sections(entries, config.themes, vocabulary=vocabulary)
    digest = Digest(
        list_name=lst.name,
        site_name=config.site.name,
        site_url=config.site.url,
        built_at=_unique_build_time(store, lst.name),
        sections=tuple(sections),
        feeds_total=len(config.feeds_for(lst.name)),
        feeds_failed=tuple(failed),
    )
    return DigestPlan(
        digest=digest,
        items=carried,
        summarized=computed,
        cached=len(carried) - computed,
        basis=digest_basis(config, lst.name, since, max_items),
    )


def digest_basis(
    config: Config, list_name: str, since: datetime | None, max_items: int | None
) -> str:
    """A digest of what a build of the list reads besides the stored items: its feeds and
    the settings that choose, summarize, group and render the stories (the template files
    are checked by their times). Equal bases and unchanged items build the same digest."""
    lst = config.list(list_name)
    read = (
        lst,
        config.feeds_for(lst.name),
        config.site,
        config.digest,
        config.summary,
        config.themes,
        since,
        max_items,
    )
    return hashlib.sha256(repr(read).encode()).hexdigest()[:32]


def analysis_copy(item: Item) -> Item:
    """The item with its text cut to ANALYSIS_TEXT_CHARS (the stored item keeps it all)."""
    head = _head(item.text)
    return item if head is item.text else replace(item, text=head)


def _head(text: str) -> str:
    """At most ANALYSIS_TEXT_CHARS of `text`, ending at a paragraph or word boundary."""
    if len(text) <= ANALYSIS_TEXT_CHARS:
        return text
    cut = text.rfind("\n\n", 0, ANALYSIS_TEXT_CHARS)
    if cut < ANALYSIS_TEXT_CHARS // 2:
        cut = text.rfind(" ", 0, ANALYSIS_TEXT_CHARS)
    return text[: cut if cut > 0 else ANALYSIS_TEXT_CHARS].rstrip()


def _cache_dir(config: Config, store: Store, name: str) -> Path | None:
    """Where derived data (the story index, the theme model) learned from this store is
    kept: beside the store and named after it, so two stores in one folder never trade. A
    PostgreSQL store's is kept on this host, where the config would keep a SQLite store."""
    path = config.store_path if store.path is None else store.path
    if path.name == ":memory:":
        return None
    return path.with_name(f"{path.stem}.{name}")


def _unique_build_time(store: Store, list_name: str) -> datetime:
    """Now, to the second, and later than the list's previous digest: the build time names
    the digest's output folder and archive URL, so two builds never share one."""
    now = store.clock()
    latest = store.latest_digest(list_name)
    if latest is not None and now.replace(microsecond=0) <= latest.built_at:
        return latest.built_at.replace(microsecond=0) + timedelta(seconds=1)
    return now


def _fair_groups(
    items: Sequence[Item], groups: list[list[int]], limit: int, per_feed: int
) -> list[list[int]]:
    """The `limit` stories (groups of item indices) the digest shows."""
    from newsletter.analysis.dedupe.merge import kept_index

    def kept(group: list[int]) -> Item:
        return items[kept_index(items, group)]

    # feeds take turns (a fair share each), dated stories of a round before undated ones
    return fair_share(groups, limit, per_feed, item_of=kept)


def write_plan(plan: DigestPlan, config: Config, store: Store, record: bool = True) -> BuildResult:
    """Render the plan to a folder of its own in output/ and (when `record`) remember the
    digest in the store. The build time moves on a second when another build took its
    folder (see `claim_folder`); the archive link in the mail names the folder written."""
    from newsletter.render.renderer import (  # Jinja: not needed by a build with no news
        claim_folder,
        note_digest_id,
        release_folder,
        render_digest,
        write_digest,
    )

    list_name = plan.digest.list_name
    built_at = claim_folder(config, list_name, plan.digest.built_at)
    plan.digest = replace(plan.digest, built_at=built_at)
    try:
        rendered = render_digest(plan.digest, config)
        folder = write_digest(rendered, config, list_name, built_at)
    except BaseException:
        release_folder(config, list_name, built_at)
        raise
    digest_id = None
    if record:
        digest_id = store.create_digest(
            plan.digest.list_name,
            plan.digest.built_at,
            str(folder),
            subject="",
            items=_digest_item_rows(plan, store),
            stories=len(plan.digest.entries),
            basis=plan.basis,
        )
        note_digest_id(rendered, folder, digest_id)
    return BuildResult(plan=plan, folder=folder, digest_id=digest_id)


def _digest_item_rows(plan: DigestPlan, store: Store) -> list[tuple[int, str]]:
    """(item id, content hash) of every item the digest carries, merged duplicates included."""
    ids = store.item_ids(plan.items)
    return [
        (ids[(i.feed_url, i.key)], i.content_hash) for i in plan.items if (i.feed_url, i.key) in ids
    ]


def build(
    config: Config,
    store: Store,
    list_name: str | None = None,
    since: datetime | None = None,
    max_items: int | None = None,
    fetch_progress: Callable[[object], None] | None = None,
    fetch: bool = True,
    force: bool = False,
    refetch: bool = False,
) -> tuple[IngestReport | None, BuildResult | None]:
    """Ingest the list's feeds, then build and write its digest (None when nothing to show).

    When the feeds brought nothing new or changed and the list's latest digest is unsent and
    newer than every stored item, that digest is returned as is (`reused`) unless `force`.
    When every feed failed nothing is built or reused (None): nothing can be up to date;
    `force` builds from the stories already stored all the same.
    `refetch` requests every feed, even one still fresh.
    """
    lst = config.list(list_name)
    report = None
    if fetch:
        report = ingest(
            config,
            store,
            feeds=config.feeds_for(lst.name),
            progress=fetch_progress,
            refetch=refetch,
        )
        if report.feeds and len(report.failed) == report.feeds and not force:
            return report, None
        if not (force or since or max_items or report.new or report.changed):
            current = up_to_date_digest(config, store, lst.name)
            if current is not None:
                return report, current
    failed = report.failed if report else []
    plan = plan_digest(config, store, lst.name, since, max_items, failed=failed)
    if not plan.digest.entries:
        return report, None
    return report, write_plan(plan, config, store)


def up_to_date_digest(config: Config, store: Store, list_name: str) -> BuildResult | None:
    """The list's latest digest if it is unsent, no item changed after it was built, and
    it was built from these feeds and settings (not with --max-items or --since, not
    before a feed was added, not by another config sharing the store with a list of the
    same name)."""
    latest = store.latest_digest(list_name)
    if latest is None or latest.sent_at is not None or store.has_deliveries(latest.id):
        return None
    if latest.basis != digest_basis(config, list_name, None, None):
        return None
    folder = config.resolve(latest.path)
    if not (folder / "digest.html").is_file():
        return None
    urls = [f.url for f in config.feeds_for(list_name)]
    if store.items_changed_since(urls, latest.built_at):
        return None
    if _templates_changed_since(config, latest.built_at):
        return None
    return BuildResult(plan=None, folder=folder, digest_id=latest.id, reused=True)


def _templates_changed_since(config: Config, built_at: datetime) -> bool:
    """Whether a file of the user's template folder changed after `built_at` (an editor
    who changes a template wants to see it, not the digest rendered before)."""
    if not config.digest.template_dir:
        return False
    folder = config.resolve(config.digest.template_dir)
    when = built_at if built_at.tzinfo else built_at.replace(tzinfo=UTC)
    try:
        return any(
            datetime.fromtimestamp(f.stat().st_mtime, UTC) >= when
            for f in folder.rglob("*")
            if f.is_file()
        )
    except OSError:  # unreadable: render again, which names the problem
        return True
