"""Short human labels for clusters of texts: their most distinctive words, readable.

A label is two terms (single words or two-word phrases found side by side in the text),
2-4 words in all, written as the texts spell them ("BBC", "iPod") and otherwise in
proper case: "Champions League & Chelsea", "Film & Box Office".
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from newsletter.analysis.language.detect import detect
from newsletter.analysis.language.stopwords import CONTRACTED, language_blind, stop_words
from newsletter.analysis.sparse_rows import SparseRows

_WORD = r"\b[^\W\d_][^\W\d_'’]+\b"
_BREAK = r"[^\w\s'’-]+|\s[-–—]+\s|\n"  # punctuation that ends a phrase
# one pass over a text: a word (the group), or a break (the group empty)
_WORD_OR_BREAK = re.compile(f"({_WORD})|{_BREAK}")
# Words that carry no topic in text of any language (newsletter.analysis.language).
STOP_WORDS = language_blind()
_SMALL = {"and", "or", "of", "the", "in", "on", "for", "to", "a", "an", "at", "by"}
_PAIR_BONUS = 1.25  # a two-word phrase reads better than either word alone
_SMOOTH = 0.05
_FUNCTION_SHARE = 0.25
_SHARES = (0.2, 0.1, 0.05, 0.0)  # share of the group a label term must occur in, in turn
_WEAK_FACTOR = 0.5
_PHRASE_SHARE = 0.6  # a phrase replaces its word when it covers this share of the word's texts
# A language this share of a group's stories are in keeps all its stop words out of the
# group's label, even those that are English words too ("die", "war").
_LANGUAGE_SHARE = 0.2


def terms(text: str) -> list[str]:
    """Lower-case topic words, and two-word phrases of topic words side by side (not
    across punctuation: "calendar, Aug." is no phrase)."""
    out: list[str] = []
    pairs: list[str] = []
    before = ""  # the word just before, when it is a topic word
    for word in _WORD_OR_BREAK.findall(text):
        if not word:  # punctuation: no phrase across it
            before = ""
            continue
        word = word.lower()  # word by word: lower() can change a text's length ("İ")
        if word in STOP_WORDS:
            before = ""
            continue
        out.append(word)
        if before and before != word:
            pairs.append(f"{before} {word}")
        before = word
    return out + pairs


def text_labels(
    texts: Sequence[str],
    titles: Sequence[str],
    groups: Sequence[Sequence[int]],
    fallback: str,
    background: tuple[Counter[str], int] | None = None,
    pooled: Sequence[tuple[Counter[str], int] | None] | None = None,
    languages: Sequence[str] | None = None,
) -> list[str]:
    """One distinct label per group of text indices, from terms frequent in it, rare elsewhere.

    A term scores by the share of the group's texts that hold it times how much more often
    than in the other texts (the square of the log ratio, so that distinctive words beat
    common ones). `background` adds the store's document counts to "elsewhere". `pooled`
    adds, per group, the counts of the store texts on the same topic to the group: a
    label then names the topic as the store knows it, backed by the digest's own entries
    (a label term must occur in at least two of them, or a fifth). Terms in the group's
    titles count extra, since titles name what a story is about. `languages` (one code per
    text, see newsletter.analysis.language) keeps every stop word of a group's languages
    out of its label, even one that is an English word too ("die", "war").
    """
    if not groups:
        return []
    found = [set(terms(t)) for t in texts]
    if not any(found):  # no topic words at all
        return _numbered(fallback, len(groups))
    names = _candidates(found, groups)
    index = {t: i for i, t in enumerate(names)}
    X = _incidence(found, index)
    titled = _incidence([set(terms(t)) for t in titles], index)
    bg_df, bg_n = _counts(background, index)
    is_pair = np.array([" " in t for t in names])
    weak = np.array([_weak(t) for t in names])
    n = X.shape[0]
    # Words in a quarter of all texts are function words of some language ("soll", "des"),
    # whatever the stop list knows; judged only with enough texts to tell.
    everywhere = X.column_sums()
    seen_in = (everywhere + bg_df) / (n + bg_n)
    function_word = (seen_in > _FUNCTION_SHARE) if n + bg_n >= 20 else np.zeros(len(names), bool)
    used: set[str] = set()
    labels = []
    for g, idx in enumerate(groups):
        inside = np.zeros(n, dtype=bool)
        inside[list(idx)] = True
        size = int(inside.sum())
        df_in = X.column_sums(inside)
        df_out = everywhere - df_in + bg_df
        n_out = (n - size) + bg_n
        topic_df, topic_n = _counts(pooled[g] if pooled else None, index)
        if topic_n:
            # The topic's store texts count with the group, not with the rest.
            df_out, n_out = np.maximum(df_out - topic_df, 0), max(1, n_out - topic_n)
        cov_in = (df_in + topic_df) / (size + topic_n)
        cov_out = df_out / n_out if n_out else np.zeros_like(cov_in)
        in_title = titled.column_sums(inside) / size
        lift = np.maximum(np.log((cov_in + _SMOOTH) / (cov_out + _SMOOTH)), 0.0)
        score = cov_in * lift**2 * (1.0 + in_title)
        score = np.where(is_pair, score * _PAIR_BONUS, score)
        score = np.where(weak, score * _WEAK_FACTOR, score)
        if size < 0.5 * (n + bg_n):  # a group that is most of the texts keeps its words
            score = np.where(function_word, -np.inf, score)
        foreign = _group_stop_words(
            [languages[i] for i in idx] if languages else [], [texts[i] for i in idx]
        )
        banned = np.array([any(w in foreign or w in CONTRACTED for w in t.split()) for t in names])
        score = np.where(banned, -np.inf, score)
        label = ""
        # A label term should be in a fifth of the group; a loose group settles for less.
        for share in _SHARES:
            need = max(2.0, share * size) if size > 1 else 1.0
            allowed = np.where(df_in >= need - 1e-6, score, -np.inf)
            label = _compose(_prefer_phrases(names, allowed, df_in), [texts[i] for i in idx], used)
            if label:
                break
        if not label:
            label = _numbered(fallback, 1, used)[0]
        used.add(label.casefold())
        labels.append(label)
    return labels


def _candidates(found: Sequence[set[str]], groups: Sequence[Sequence[int]]) -> list[str]:
    """The terms that can name a group, sorted: those of two texts or more (a group of
    several needs a label term in two of its texts), and the terms of a group of one.
    Text of rare words (names, codes, other alphabets) holds hundreds of thousands of
    terms seen once; every step below costs what the terms cost."""
    seen: Counter[str] = Counter()
    for terms_of_text in found:
        seen.update(terms_of_text)
    kept = {t for t, k in seen.items() if k >= 2}
    for idx in groups:
        if len(idx) == 1:
            kept |= found[idx[0]]
    return sorted(kept)


def _group_stop_words(languages: Sequence[str], texts: Sequence[str]) -> frozenset[str]:
    """Stop words of every language a fifth of a group's stories are in: as given (one
    code per story, "" unknown), else as the group's words show."""
    codes = [code for code in languages if code]
    if not codes:
        found = detect("\n".join(text[:400] for text in texts[:30]))
        return stop_words(found) if found else frozenset()
    counts = Counter(codes)
    words: set[str] = set()
    for code, k in counts.items():
        if k >= _LANGUAGE_SHARE * len(languages):
            words |= stop_words(code)
    return frozenset(words)


def _incidence(found: Sequence[set[str]], index: dict[str, int]) -> SparseRows:
    """1 where text i holds term j (of `index`), as a sparse text-by-term matrix."""
    rows = [i for i, seen in enumerate(found) for t in seen if t in index]
    cols = [index[t] for seen in found for t in seen if t in index]
    return SparseRows.from_entries(rows, cols, np.ones(len(rows)), (len(found), len(index)))


def _counts(
    counts: tuple[Counter[str], int] | None, index: dict[str, int]
) -> tuple[np.ndarray, int]:
    """A term table's counts of the named terms (by column), and its number of texts."""
    found = np.zeros(len(index))
    if counts is None:
        return found, 0
    table, total = counts
    # look the smaller of the two up in the other
    if len(table) < len(index):
        pairs = [(index[t], k) for t, k in table.items() if t in index]
    else:
        pairs = [(j, table[t]) for t, j in index.items() if t in table]
    if pairs:
        columns, values = zip(*pairs, strict=True)
        found[list(columns)] = values
    return found, total


def _weak(term: str) -> bool:
    """Past tenses and adverbs ("increased", "recently") rarely name a topic."""
    return any(w.endswith(("ed", "ly")) and len(w) > 4 for w in term.split())


def _prefer_phrases(names: list[str], score: np.ndarray, df_in: np.ndarray) -> list[str]:
    """Best terms first; a word drops out when a phrase holding it covers nearly as much."""
    order = [int(j) for j in _best(score, 60)]
    order = [j for j in order if np.isfinite(score[j]) and score[j] > 0]
    index = {names[j]: j for j in order}
    covered: set[str] = set()
    for j in order:
        if " " in names[j]:
            for word in names[j].split():
                w = index.get(word)
                if w is not None and df_in[j] >= _PHRASE_SHARE * df_in[w]:
                    covered.add(word)
    return [names[j] for j in order if names[j] not in covered]


def _best(score: np.ndarray, k: int) -> np.ndarray:
    """The indices of the k highest scores, highest first, ties in index order (`names` is
    sorted, so in alphabetical order): a stable sort of the scores, cut at k, without
    sorting all of them."""
    if len(score) <= k:
        return np.argsort(-score, kind="stable")
    kth = np.partition(score, len(score) - k)[len(score) - k]
    top = np.flatnonzero(score >= kth)  # ties with the k-th included, in index order
    return top[np.argsort(-score[top], kind="stable")][:k]


def _compose(candidates: list[str], texts: Sequence[str], used: set[str]) -> str:
    """Join the two best unrelated terms (2-4 words), avoiding labels already taken."""
    for start in range(min(len(candidates), 5)):
        chosen: list[str] = []
        for term in candidates[start:]:
            if any(_related(a, b) for t in chosen for a in t.split() for b in term.split()):
                continue
            if sum(len(t.split()) for t in chosen) + len(term.split()) > 4:
                continue
            chosen.append(term)
            if len(chosen) == 2:
                break
        if sum(len(t.split()) for t in chosen) < 2:
            continue
        label = _join([_surface(t, texts) for t in chosen])
        if label.casefold() not in used:
            return label
    return ""


def _related(a: str, b: str) -> bool:
    """Same word up to an ending: "economy"/"economic", "film"/"films", "tory"/"tories"."""
    if _stem(a) == _stem(b):
        return True
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    return common >= max(4, min(len(a), len(b)) - 2)


def _stem(word: str) -> str:
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", ""), ("ing", ""), ("ed", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + repl
    return word


def _join(parts: list[str]) -> str:
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " & " + parts[-1]


def _surface(term: str, texts: Sequence[str]) -> str:
    """The spelling the texts use most for a term, in proper case unless it is special."""
    pattern = re.compile(r"\b" + r"\s+".join(map(re.escape, term.split())) + r"\b", re.I)
    seen: Counter[str] = Counter()
    for text in texts:
        for m in pattern.finditer(text):
            seen[" ".join(m.group(0).split())] += 1
            if sum(seen.values()) >= 50:
                break
    # Prefer a spelling with capitals inside a sentence ("BBC", "iPod") when common.
    forms = sorted(seen.items(), key=lambda fk: (-fk[1], fk[0]))
    best = forms[0][0] if forms else term
    words = []
    for w in best.split():
        if w.islower() or (w.istitle() and len(w) > 1) or w.isupper() and len(w) > 4:
            w = w.lower()
            w = w[0].upper() + w[1:] if w not in _SMALL else w
        words.append(w)
    return " ".join(words)


def _numbered(fallback: str, count: int, used: set[str] | None = None) -> list[str]:
    used = used or set()
    out: list[str] = []
    n = 1
    while len(out) < count:
        taken = fallback.casefold() in used
        if n == 1 and taken:  # "Stories" is taken: the next is "Stories 2", not "Stories 1"
            n += 1
            continue
        label = f"{fallback} {n}" if n > 1 or count > 1 else fallback
        if label.casefold() not in used:
            out.append(label)
            used = used | {label.casefold()}
        n += 1
    return out
