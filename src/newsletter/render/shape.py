"""The shape of a digest in the mail: a lead story, a few stories per section, a length that
reads like a newsletter; the rest is on the web copy, linked as "N more on the web".

`digest.lead` puts one story first, larger and with its image: the story most feeds
carried (a story told by several sources is the day's news), then one with an image, then
the newest of the biggest section. `digest.per_section` caps each section in the mail and
`digest.mail_items` the whole mail (the lead included); the places go to the sections in
turns, biggest first, and within a section to one story per feed before a second from any.
"""

from __future__ import annotations

from dataclasses import dataclass

from newsletter.model import Digest, Entry

Place = tuple[int, int]  # (section index, entry index in the section)


@dataclass(frozen=True)
class Shape:
    """What the mail shows: the lead story and, per section, the entries in the mail (in
    section order, the lead left out)."""

    lead: Place | None
    shown: tuple[tuple[int, ...], ...]


def lead_place(digest: Digest) -> Place | None:
    """The lead story: most sources, then an image, then the first section's newest."""
    best: tuple[tuple[int, int, int, int], Place] | None = None
    for s, section in enumerate(digest.sections):
        for j, entry in enumerate(section.entries):
            key = (_source_count(entry), 1 if entry.item.image else 0, -s, -j)
            if best is None or key > best[0]:
                best = (key, (s, j))
    return best[1] if best else None


def plan_shape(digest: Digest, mail_items: int, per_section: int, lead: bool) -> Shape:
    """The mail's lead and stories per section; 0 means no limit."""
    place = lead_place(digest) if lead else None
    candidates = [
        [j for j in _diverse(section.entries) if (s, j) != place]
        for s, section in enumerate(digest.sections)
    ]
    caps = [len(c) if per_section <= 0 else min(per_section, len(c)) for c in candidates]
    budget = None if mail_items <= 0 else max(0, mail_items - (1 if place else 0))
    taken = [0] * len(candidates)
    depth = max(caps, default=0)
    for round_ in range(depth):
        for s, cap in enumerate(caps):
            if budget is not None and budget <= 0:
                break
            if round_ < cap:
                taken[s] += 1
                if budget is not None:
                    budget -= 1
    shown = tuple(tuple(sorted(c[:k])) for c, k in zip(candidates, taken, strict=True))
    return Shape(place, shown)


def full_shape(digest: Digest, lead: Place | None) -> Shape:
    """Every story (the web copy), the same lead first."""
    return Shape(
        lead,
        tuple(
            tuple(j for j in range(len(section.entries)) if (s, j) != lead)
            for s, section in enumerate(digest.sections)
        ),
    )


def _diverse(entries: tuple[Entry, ...]) -> list[int]:
    """Entry indices, the first of each feed before the second of any (section order
    within a round): which stories take a section's few places in the mail."""
    rounds: dict[str, int] = {}
    keyed = []
    for j, entry in enumerate(entries):
        feed = entry.item.feed_url
        keyed.append((rounds.get(feed, 0), j))
        rounds[feed] = rounds.get(feed, 0) + 1
    return [j for _, j in sorted(keyed)]


def _source_count(entry: Entry) -> int:
    return len({name for name, _ in entry.sources}) or 1
