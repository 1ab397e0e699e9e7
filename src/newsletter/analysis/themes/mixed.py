"""Sections from text and the feeds' categories together.

Categories are evidence, not buckets (see themes_categories for how they are read).
Two entries are alike by their text (cosine) plus CATEGORY_WEIGHT times the likeness of
their categories; an entry without categories loses nothing by it. Because the bonus is
added, not mixed in, it decides where the text is weak (short teasers, a small store:
every text cosine is small) and only tips the balance where the text is strong.

* A digest with no store topics to lean on is clustered on that likeness: average
  linkage, cut where the silhouette is best; members unlike the rest of their cluster
  are left over.
* With store topics, the text partition stands (it is the stronger signal there).

Then `settle`: a cluster most of whose entries share a concept is named after it, two
clusters given one name become one, and every entry whose categories name a section
other than its own moves there, so that no story sits under a label its categories
contradict while the section they name is in the digest. A leftover joins the section
it is clearly closest to, unless that section is named after categories it lacks while
it has a beat of its own.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

from newsletter.analysis.sparse_rows import SparseRows
from newsletter.analysis.themes.categories import Categories
from newsletter.analysis.themes.silhouette import silhouette

CATEGORY_WEIGHT = 0.1  # what sharing categories adds to two entries' text cosine
MEMBER_MIN = 0.15  # share of its cluster's median closeness a member must reach to stay
JOIN_RATIO = 2.0  # a leftover joins a section this many times closer than any other
SPLIT_SHARE = 0.1  # a beat splits off a cluster when it is on this share of its entries
SPLIT_MARGIN = 1.2  # ... and its texts are this much more alike than to the rest
_ROUNDS = 3
# joint_clusters holds all pairs (n x n): only for digests up to this size. Bigger ones
# always have store topics (the store holds at least the digest's items).
MAX_PAIRWISE = 1000

Labels = dict[int, tuple[str, frozenset[str]]]  # cluster → (label, its concepts)


class Likeness:
    """Pairwise likeness of entries: text cosine (unit rows) plus CATEGORY_WEIGHT times
    category cosine (unit rows, sparse). A big digest has too many pairs to hold: what
    grouping asks for is an entry's mean likeness to a group, from the group's sums."""

    def __init__(self, text: np.ndarray | None, cats: SparseRows) -> None:
        n = cats.shape[0]
        self.text = text if text is not None and text.shape[1] else np.zeros((n, 0))
        self.cats = cats
        self._groups: dict[int, tuple] = {}  # id(list) -> (list, members, totals...)
        self._self_text = np.einsum("ij,ij->i", self.text, self.text)
        self._self = self._self_text + CATEGORY_WEIGHT * self.cats.self_dots()

    def full(self) -> np.ndarray:
        """The whole matrix (small digests only: see MAX_PAIRWISE)."""
        return self.text @ self.text.T + CATEGORY_WEIGHT * self.cats.gram()

    def closeness(self, i: int, idx: Sequence[int], text_only: bool = False) -> float:
        """Mean likeness (or text cosine) of entry i to the other members of a group, from
        every entry's likeness to the group's sum (computed once per group): the pairs of
        a big digest are never all computed."""
        _, members, text_total, total = self._group(idx)
        score = float(text_total[i] if text_only else total[i])
        count = len(idx)
        if i in members:  # not with itself
            score -= float(self._self_text[i] if text_only else self._self[i])
            count -= 1
        return score / count if count else 0.0

    def _group(self, idx: Sequence[int]) -> tuple:
        """Members of a group and each entry's summed likeness to them (kept while the
        same list is asked about)."""
        found = self._groups.get(id(idx))
        if found is None or found[0] is not idx:
            if len(self._groups) > 256:
                self._groups.clear()
            rows = list(idx)
            text_total = self.text @ self.text[rows].sum(axis=0)
            cats_total = self.cats.matvec(self.cats.column_sums(rows))
            found = (idx, frozenset(rows), text_total, text_total + CATEGORY_WEIGHT * cats_total)
            self._groups[id(idx)] = found
        return found


def joint_clusters(likeness: Likeness, k_max: int, min_size: int) -> list[int]:
    """Average-linkage clusters on likeness at the best silhouette; entries like no
    other, and clusters smaller than `min_size`, are left over (-1). Quadratic: for
    digests without store topics, which are small."""
    # imported here: most builds never get this far, and these cost a tenth of a second
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform
    from threadpoolctl import threadpool_limits

    S = likeness.full()
    n = S.shape[0]
    off = S - np.diag(np.diag(S))
    rows = np.flatnonzero(off.max(axis=1) > 0) if n else np.zeros(0, dtype=int)
    out = [-1] * n
    if len(rows) < 3:
        return [0 if i in set(rows.tolist()) else -1 for i in range(n)]
    D = np.clip(1.0 + CATEGORY_WEIGHT - S[np.ix_(rows, rows)], 0.0, None)
    np.fill_diagonal(D, 0.0)
    D = (D + D.T) / 2
    with threadpool_limits(1):
        tree = linkage(squareform(D, checks=False), method="average")
        best, labels = -2.0, np.ones(len(rows), dtype=int)
        for k in range(2, min(k_max, len(rows) - 1) + 1):
            cut = fcluster(tree, k, criterion="maxclust")
            if len(set(cut)) < 2:
                continue
            score = silhouette(D, cut)
            if score > best + 1e-9:
                best, labels = score, cut
    for i, c in zip(rows, labels, strict=True):
        out[int(i)] = int(c)
    _drop_outliers(out, likeness, min_size)
    return out


def settle(
    assignment: list[int],
    cats: Categories,
    S: Likeness,
    min_size: int,
    room: int,
    split_lumps: bool = False,
    priority: Sequence[tuple[float, str]] | None = None,
) -> dict[int, str]:
    """Split, name clusters after their categories, merge, keep the `room` biggest, move
    and join (in place); returns the category label of each named cluster. With
    `split_lumps` (weak text), a cluster no category names may lose a beat too.
    `priority` (smaller first, one per entry) breaks ties between clusters of one size
    whatever order the entries came in."""
    order = (
        list(priority)
        if priority is not None
        else [(0.0, f"{i:09d}") for i in range(len(assignment))]
    )
    _split_by_beats(assignment, cats, S, min_size, split_lumps)
    labels = _name_and_move(assignment, cats, S, min_size, room, order)
    if _join_leftovers(assignment, labels, cats, S):
        labels = _name_and_move(assignment, cats, S, min_size, room, order)
    return {g: text for g, (text, _) in labels.items()}


def _members(assignment: Sequence[int]) -> dict[int, list[int]]:
    groups: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(assignment):
        if g >= 0:
            groups[g].append(i)
    return dict(groups)


def _closeness(S: Likeness, i: int, idx: Sequence[int]) -> float:
    """Mean likeness of entry i to the other members of a group."""
    return S.closeness(i, idx)


def _drop_outliers(assignment: list[int], S: Likeness, min_size: int) -> None:
    """Members unlike the rest of their cluster, and clusters too small to show, leave."""
    for _ in range(2):
        for idx in _members(assignment).values():
            if len(idx) < min_size:
                for i in idx:
                    assignment[i] = -1
                continue
            inner = np.array([_closeness(S, i, idx) for i in idx])
            floor = MEMBER_MIN * float(np.median(inner))
            for i, c in zip(idx, inner, strict=True):
                if c < floor:
                    assignment[i] = -1


def _name_and_move(
    assignment: list[int],
    cats: Categories,
    S: Likeness,
    min_size: int,
    room: int,
    order: Sequence[tuple[float, str]],
) -> Labels:
    """Name clusters after their categories, merge clusters given one name, leave over
    what will not be shown, and move entries whose categories name another section
    there, until nothing changes."""
    labels: Labels = {}
    for _ in range(_ROUNDS):
        _keep_biggest(assignment, min_size, room, order)
        labels = {}
        merged = False
        for g, idx in sorted(_members(assignment).items()):
            found = cats.label(idx) if len(idx) >= min_size else None
            if found is None:
                continue
            # One category names two clusters ("Business" and "Business & Money"): one
            # section, named again on the next round.
            same = [h for h, (_, concepts) in labels.items() if concepts & found[1]]
            if same:
                for i in idx:
                    assignment[i] = same[0]
                merged = True
                continue
            labels[g] = found
        moved = _move_to_named(assignment, labels, cats, S)
        if not merged and not moved:
            return labels
    groups = _members(assignment)
    named = {g: cats.label(groups[g]) for g in labels if g in groups}
    return {g: found for g, found in named.items() if found is not None}


def _split_by_beats(
    assignment: list[int], cats: Categories, S: Likeness, min_size: int, lumps: bool
) -> None:
    """Split a cluster that holds several beats its feeds tell apart ("Defence" and
    "Economy" from one feed), or a lump no category names that holds a beat: each part
    gets the entries that carry its beat (their earliest listed one); entries with none
    stay. Text alone can lump beats together when the store's topics do not fit the
    feeds, or when short, unrelated texts chain together. Alternative names of one beat
    ("Business" / "Money") are never told apart by a feed, and their stories read
    alike, so they are not split."""
    next_id = max(assignment, default=0) + 1
    for _, idx in sorted(_members(assignment).items()):
        count = Counter(
            c for i in idx for c in cats.concepts[i] if c in cats.leading and cats.informed(i)
        )
        floor = max(min_size, SPLIT_SHARE * len(idx))
        # A cluster no category names is a lump: any cohesive beat may leave it.
        lump = lumps and cats.label(idx) is None
        beats: list[str] = []
        for c, k in sorted(count.items(), key=lambda ck: (-ck[1], ck[0])):
            if k < floor or not all(lump or cats.contrast(c, b) for b in beats):
                continue
            inside = [i for i in idx if c in cats.concepts[i]]
            if _cohesive(S, inside, [i for i in idx if c not in cats.concepts[i]]):
                beats.append(c)
        if len(beats) < (1 if lump else 2):
            continue
        parts = {b: next_id + n for n, b in enumerate(beats)}
        next_id += len(beats)
        for i in idx:
            carried = [b for b in beats if b in cats.concepts[i]]
            if carried:
                best = max(carried, key=lambda b: (cats.concepts[i][b], count[b], b))
                assignment[i] = parts[best]


def _cohesive(S: Likeness, part: Sequence[int], rest: Sequence[int]) -> bool:
    """Whether a part's texts are more alike among themselves than to the rest's by
    SPLIT_MARGIN (a few cross-listed stories of another beat are not)."""
    if len(part) < 2 or not rest:
        return True
    within = float(np.mean([S.closeness(i, part, text_only=True) for i in part]))
    across = float(np.mean([S.closeness(i, rest, text_only=True) for i in part]))
    return bool(within > SPLIT_MARGIN * max(across, 0.0))


def _keep_biggest(
    assignment: list[int], min_size: int, room: int, order: Sequence[tuple[float, str]]
) -> None:
    """Clusters too small to show, or beyond the `room` biggest (on a tie, the one with
    the first entry in `order`), are left over: their entries may still go where their
    categories or their text say."""
    groups = _members(assignment)
    ranked = sorted(groups, key=lambda g: (-len(groups[g]), min(order[i] for i in groups[g])))
    for rank, g in enumerate(ranked):
        if rank >= room or len(groups[g]) < min_size:
            for i in groups[g]:
                assignment[i] = -1


def _move_to_named(assignment: list[int], labels: Labels, cats: Categories, S: Likeness) -> int:
    """Entries left over, or under a category label they do not carry, go to a section
    their categories name (the one their earliest category names, then the closest);
    an entry in a section named by its text stays. Returns how many moved."""
    if not labels:
        return 0
    groups = _members(assignment)
    moved = 0
    for i, g in enumerate(assignment):
        own = labels.get(g)
        if g >= 0 and (own is None or cats.has(i, own[1])):
            continue
        named = [h for h, (_, concepts) in labels.items() if cats.has(i, concepts)]
        if not named:
            continue
        best = max(
            named,
            key=lambda h: (cats.weight(i, labels[h][1]), _closeness(S, i, groups[h]), -h),
        )
        if best != g:
            assignment[i] = best
            moved += 1
    return moved


def _join_leftovers(assignment: list[int], labels: Labels, cats: Categories, S: Likeness) -> int:
    """A leftover joins the section it is clearly closest to (JOIN_RATIO times the next:
    short texts make every likeness small), unless that section is named after
    categories it lacks while it has a beat of its own; returns how many joined."""
    groups = _members(assignment)
    keys = sorted(groups)
    joined = 0
    for i, g in enumerate(assignment):
        if g >= 0 or not keys:
            continue
        close = {key: _closeness(S, i, groups[key]) for key in keys}
        allowed = [
            key
            for key in keys
            if key not in labels or not cats.informed(i) or cats.has(i, labels[key][1])
        ]
        if not allowed:
            continue
        best = max(allowed, key=lambda key: (close[key], -key))
        runner_up = max((v for key, v in close.items() if key != best), default=0.0)
        if close[best] > 0 and close[best] >= JOIN_RATIO * max(runner_up, 0.0):
            assignment[i] = best
            joined += 1
    return joined
