"""Genre-aware article text: what a podcast episode, a link aggregator or a news site's feed
wraps around the words that say what the item is about.

Applied at ingest to an item's plain text (the summarizer, the dedupe and the grouper all
read it), in any language:

* podcast episodes (an audio or video enclosure) are described by the episode's own
  description: `itunes:subtitle`, else the most prose-like of `itunes:summary`,
  `description` and `content:encoded`, with sponsor reads, chapter timestamps and link
  lists taken out;
* link-aggregator chrome ("submitted by /u/… to /r/… [link] [N comments]", "Article URL: …
  Comments URL: …") goes;
* "Read more" links go in every language the product summarizes ("Leia mais",
  "Weiterlesen", "Lire la suite", "Leer más", "مزید پڑھیں", …), and so do paragraphs that
  are only a byline ("Por X e Y", "Von X", "By X and Y") or only the title again.

Nothing here is tuned to one site: every rule is a pattern of the genre.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from newsletter.ingest.decode import decode_text, decode_title
from newsletter.ingest.parse import RawEntry
from newsletter.text import html_to_text, paragraphs, split_sentences, strip_chrome, words


def item_text(entry: RawEntry, html: str, language: str = "") -> str:
    """The plain text an item is summarized, deduplicated and grouped by: the sanitized body's
    text decoded once, an episode's own description, genre chrome removed."""
    title = decode_title(entry.title)
    text = decode_text(strip_chrome(html_to_text(html)))
    if is_episode(entry.media_types):
        bodies = [
            (decode_text(strip_chrome(html_to_text(v) if is_html else v)), False)
            for v, is_html in entry.bodies
        ]
        own = episode_text(title, decode_title(entry.subtitle), bodies, language)
        text = own or text
    return clean_text(text, title)


# -- podcasts -----------------------------------------------------------------------------------

EPISODE_TYPES = ("audio/", "video/")
# Players and playlists that stand for a video: YouTube's Flash player, HLS, DASH.
VIDEO_CONTAINERS = (
    "application/x-shockwave-flash",
    "application/x-mpegurl",
    "application/vnd.apple.mpegurl",
    "application/dash+xml",
)
MIN_SUBTITLE_WORDS = 6  # a shorter itunes:subtitle is a tagline or the title again
PROSE_MIN_WORDS = 8  # a paragraph this long that ends like a sentence is prose
LONG_PARAGRAPH_WORDS = 60  # a sponsor phrase in a longer paragraph costs one sentence only

_SPONSOR = (
    r"\b(?:sponsor(?:ed|s|ing)?\b|brought to you by|made possible by|supported by our|"
    r"promo(?:tional)? code|discount code|coupon code|(?:use|with|enter) (?:the )?(?:promo )?"
    r"code\b|code \w+ (?:at checkout|for)\b|\d+\s?% off\b|[$€£]\s?\d+ off\b|free (?:\d+[- ]day )?"
    r"trial\b|support (?:the|this|our) (?:show|podcast)|patreon\.com|become a (?:patron|member)|"
    r"(?:go|head) (?:to|over to) \S+\.(?:com|net|org|co|fm|io)\S*"
    # German, French, Spanish, Portuguese, Italian, Dutch
    r"|werbung\b|anzeige\b|gesponsert|rabattcode|gutscheincode|mit dem code|"
    r"sponsoris[ée]|code promo|patrocinad[oa]|c[oó]digo (?:de )?(?:descuento|desconto|promocional)|"
    r"cupom|sponsorizzat[oa]|codice sconto|gesponsord|kortingscode)"
)


# only podcast episodes are read for sponsors: compiled at the first one, not at import (1 ms)
@functools.cache
def _sponsor() -> re.Pattern[str]:
    return re.compile(_SPONSOR, re.IGNORECASE)


_TIMESTAMP = re.compile(r"[(\[]?\b(?:\d{1,2}:)?\d{1,2}:\d{2}\b[)\]]?")
_LEADING_TIMESTAMP = re.compile(r"^\s*[(\[]?(?:\d{1,2}:)?\d{1,2}:\d{2}\b")
_RAW_URL = re.compile(r"https?://\S+|www\.\S+\.\S+")


def is_episode(media_types: Sequence[str]) -> bool:
    """An item whose enclosure is audio or video: a podcast (or video podcast) episode."""
    return any(t.lower().startswith(EPISODE_TYPES + VIDEO_CONTAINERS) for t in media_types)


def episode_text(
    title: str,
    subtitle: str,
    bodies: Sequence[tuple[str, bool]],
    language: str = "",
) -> str:
    """The episode's own description as plain text: the subtitle when it says more than the
    title, else the most prose of the bodies (summary, description, content), each without
    sponsor reads, timestamps and link lists. "" when no body has any text left."""
    sub = show_notes_prose(subtitle, language)
    if len(words(sub)) >= MIN_SUBTITLE_WORDS and not _same_words(sub, title):
        if not sub.rstrip().endswith(("…", "...")):
            return sub
    texts = [html_to_text(value) if is_html else value for value, is_html in bodies]
    # a sponsor's paragraph goes whole; if that leaves nothing, only its sponsor sentences
    for whole_paragraphs in (True, False):
        best, best_prose = "", -1
        for text in texts:
            notes = show_notes_prose(text, language, whole_paragraphs)
            prose = _prose_words(notes)
            if prose > best_prose and notes:
                best, best_prose = notes, prose
        if best:
            return best
    return sub


def show_notes_prose(text: str, language: str = "", whole_paragraphs: bool = True) -> str:
    """Show notes without sponsor reads, chapter timestamps, raw URLs and link-list lines.
    With `whole_paragraphs`, a short paragraph with a sponsor read goes whole (the list
    item "Acme: headphones for runners. Get 20% off with code X" names the sponsor twice)."""
    kept: list[str] = []
    for paragraph in paragraphs(text):
        if _LEADING_TIMESTAMP.match(paragraph):
            continue  # a chapter line: "(12:30) Sources", "00:00 Intro"
        sentences = split_sentences(paragraph, language or "en")
        sponsored = [bool(_sponsor().search(s)) for s in sentences]
        if whole_paragraphs and any(sponsored) and len(words(paragraph)) <= LONG_PARAGRAPH_WORDS:
            continue  # a sponsor's paragraph or list item, whatever else it says
        sentences = [
            s
            for s, bad in zip(sentences, sponsored, strict=True)
            if not bad
            and not _RAW_URL.search(s)
            and not _LEADING_TIMESTAMP.match(s)
            and len(_TIMESTAMP.findall(s)) < 2
        ]
        rest = _TIMESTAMP.sub(" ", " ".join(sentences))
        rest = " ".join(rest.split())
        if len(words(rest)) >= 2:
            kept.append(rest)
    # with prose to go by, list lines ("Follow-up:", a row of link titles) are notes
    prose = [p for p in kept if _prose_words(p)]
    return "\n\n".join(prose or kept)


def _prose_words(text: str) -> int:
    """Words in paragraphs that read like prose (long enough, ending like a sentence)."""
    total = 0
    for p in paragraphs(text):
        n = len(words(p))
        if n >= PROSE_MIN_WORDS and p.rstrip("\"'”’»)").endswith((".", "!", "?", "…", "。", "۔")):
            total += n
    return total


# -- chrome of every genre ------------------------------------------------------------------------

# Link aggregators: Reddit/Lemmy ("submitted by /u/x to /r/y [link] [12 comments]"), hnrss.
_AGGREGATOR = re.compile(
    r"^\s*(?:submitted\s*by|article url\s*:|comments url\s*:|points\s*:\s*\d"
    r"|#\s*comments\s*:\s*\d)",
    re.IGNORECASE,
)
MAX_CHROME_WORDS = 12  # "submitted by /u/name to /r/forum [link] [12 comments]" and no more
_AGGREGATOR_BUTTONS = re.compile(r"\s*\[(?:link|\d+\s+comments?|comments?)\]", re.IGNORECASE)

# "Read more" in the languages the summarizer knows, as a paragraph of its own or at the end
# of one (after a sentence's end): never in the middle of a sentence.
_READ_MORE_PHRASES = (
    "read more|continue reading|keep reading|read the (?:full|whole|rest of the) "
    "(?:story|article|post)|read full (?:story|article|post)|full story|"
    "weiterlesen|mehr lesen|zum (?:vollständigen )?artikel|ganzen artikel lesen|mehr dazu|"
    "lire la suite|lire plus|en savoir plus|"
    "leer más|seguir leyendo|sigue leyendo|continuar leyendo|ver más|"
    "leia mais|saiba mais|continue lendo|ler mais|leia a (?:matéria|reportagem) completa|"
    "continua a leggere|leggi tutto|leggi di più|"
    "lees meer|lees verder|verder lezen|läs mer|läs vidare|læs mere|les mer|les videre|lue lisää|"
    "czytaj więcej|czytaj dalej|číst dál|čítať ďalej|tovább|bővebben|citește mai mult|"
    "devamını oku|baca selengkapnya|selengkapnya|xem thêm|đọc tiếp|"
    "читать далее|читать дальше|подробнее|читати далі|детальніше|διαβάστε περισσότερα|"
    "مزید پڑھیں|مزید پڑھیے|اقرأ المزيد|और पढ़ें|"
    "阅读更多|閱讀更多|查看全文|続きを読む|더 보기|계속 읽기"
)
_MORE_WORDS = "more|mehr|plus|más|mais|meer|więcej|ещё|еще"
_DECOR = r"[\s.…»›→>\]\)…]*"
_READ_MORE = re.compile(
    rf"(?:^|(?<=[.!?…:;»\"”’)\]。۔]))\s*[\[(«]?\s*"
    rf"(?:(?:{_READ_MORE_PHRASES})\b|(?:{_MORE_WORDS})\s*(?:…|\.\.\.|»|›|→))"
    rf"{_DECOR}$",
    re.IGNORECASE,
)

_NAME = r"(?:[^\W\d_][\w'’.-]*)"
_PARTICLE = r"(?:de|da|do|dos|das|del|della|di|du|la|le|van|von|der|den|ten|ter|bin|al|el|y)"
_PERSON = rf"{_NAME}(?:\s+(?:{_PARTICLE}\s+)*{_NAME}){{0,4}}"
# "By X and Y", "Von X und Y", "Por X e Y", "Par X et Y", "Di X", "Door X", "Av X"...
_BYLINE = re.compile(
    rf"^(?:by|von|por|par|di|door|av|af|przez|od|автор|от)\s*:?\s+{_PERSON}"
    rf"(?:\s*(?:,|&|\band\b|\bund\b|\bet\b|\by\b|\be\b|\ben\b|\boch\b|\bog\b|\bi\b)\s*{_PERSON})*"
    r"(?:\s*[,|–—-]\s*[^\n.]{0,40})?\.?$",
    re.IGNORECASE,
)
MAX_BYLINE_WORDS = 14


def clean_text(text: str, title: str = "") -> str:
    """Article text without aggregator chrome, read-more links, byline-only paragraphs and a
    leading paragraph that only repeats the title. May come back empty: an item whose whole
    text was chrome has nothing to summarize."""
    kept: list[str] = []
    heading = _words_key(title)
    for paragraph in paragraphs(text):
        if _AGGREGATOR.match(paragraph) and len(paragraph.split()) <= MAX_CHROME_WORDS:
            continue
        if "[" in paragraph:
            paragraph = _AGGREGATOR_BUTTONS.sub("", paragraph)
        paragraph = _strip_read_more(paragraph).strip()
        if not paragraph or is_byline(paragraph):
            continue
        if not kept and heading and _words_key(paragraph) == heading:
            continue  # the title again, as the text's first paragraph
        kept.append(paragraph)
    return "\n\n".join(kept)


READ_MORE_TAIL = 200  # a read-more link ends its paragraph: look at the last characters


def _strip_read_more(paragraph: str) -> str:
    for _ in range(2):  # "… Leia mais »" after "Continue reading" is rare, twice is plenty
        m = _READ_MORE.search(paragraph, max(0, len(paragraph) - READ_MORE_TAIL))
        if not m:
            break
        paragraph = paragraph[: m.start()].rstrip()
    return paragraph


def is_byline(paragraph: str) -> bool:
    """A line that only names the authors: "By Ana Lima and Tom Berg", "Von Jana Vogt"."""
    s = paragraph.strip()
    if not s or len(s.split()) > MAX_BYLINE_WORDS:
        return False
    if not _BYLINE.match(s):
        return False
    # names are capitalized in scripts that have case: "by the way…" is not a byline
    first = [w.lstrip(":") for w in s.split()[1:3]]
    return all(not w[:1].isalpha() or w[:1].isupper() or w[:1] == w[:1].upper() for w in first)


def _words_key(text: str) -> str:
    return " ".join(w.casefold() for w in words(text))


def _same_words(a: str, b: str) -> bool:
    ka, kb = _words_key(a), _words_key(b)
    return bool(ka) and (ka == kb or ka in kb)
