"""Offline text utilities: HTML to plain text, sentences, words, boilerplate removal.

Nothing here downloads data: sentence and word splitting are rule-based, so they work
for any language without NLTK's punkt models.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata

import lxml.html

_BLOCK_TAGS = {
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "table",
    "tr",
    "section",
    "article",
    "figure",
    "figcaption",
    "header",
    "footer",
    "dl",
    "dt",
    "dd",
    "hr",
}


def html_to_text(html: str) -> str:
    """Visible text of an HTML fragment; block elements become paragraphs (blank lines)."""
    if not html or not html.strip():
        return ""
    if "<" not in html:
        return _tidy(html)
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except Exception:  # lxml raises several types on hostile input; fall back to regex
        return _tidy(re.sub(r"<[^>]+>", " ", html))
    for bad in root.xpath("//script|//style|//noscript|//template"):
        bad.drop_tree()
    parts: list[str] = []
    _walk(root, parts)
    return _tidy("".join(parts))


def _walk(el: lxml.html.HtmlElement, parts: list[str]) -> None:
    """Append the element's text in document order, with breaks around block elements."""
    tag = el.tag if isinstance(el.tag, str) else ""
    block = tag in _BLOCK_TAGS
    if block:
        parts.append("\n\n")
    if el.text and tag:
        parts.append(el.text)
    for child in el:
        _walk(child, parts)
        if child.tail:
            parts.append(child.tail)
    if block:
        parts.append("\n\n")


def _tidy(text: str) -> str:
    """Collapse spaces inside paragraphs and keep single blank lines between them."""
    paragraphs = re.split(r"\n\s*\n", text.replace("\r", "\n"))
    cleaned = [" ".join(p.split()) for p in paragraphs]  # str.split: what \s+ matches, faster
    return "\n\n".join(p for p in cleaned if p)


def paragraphs(text: str) -> list[str]:
    """Paragraphs of plain text (blank-line separated), whitespace collapsed inside each."""
    return [p for p in _tidy(text or "").split("\n\n") if p]


# -- languages ----------------------------------------------------------------------------

# ISO 639-1 code -> the language name sumy uses for its stop-word lists and stemmers.
_LANGUAGE_NAMES = {
    "en": "english",
    "de": "german",
    "fr": "french",
    "es": "spanish",
    "it": "italian",
    "pt": "portuguese",
    "nl": "dutch",
    "ru": "russian",
    "uk": "ukrainian",
    "pl": "polish",
    "cs": "czech",
    "sk": "slovak",
    "el": "greek",
    "he": "hebrew",
    "iw": "hebrew",
    "ar": "arabic",
    "ur": "urdu",
    "fa": "persian",
    "hi": "hindi",
    "mr": "marathi",
    "ne": "nepali",
    "bn": "bengali",
    "zh": "chinese",
    "ja": "japanese",
    "ko": "korean",
    "th": "thai",
    "sv": "swedish",
    "da": "danish",
    "no": "norwegian",
    "nb": "norwegian",
    "nn": "norwegian",
    "fi": "finnish",
    "hu": "hungarian",
    "ro": "romanian",
    "tr": "turkish",
    "id": "indonesian",
    "ca": "catalan",
    "bg": "bulgarian",
    "sr": "serbian",
    "hr": "croatian",
    "vi": "vietnamese",
    "hy": "armenian",
    "am": "amharic",
    "my": "burmese",
}
_KNOWN_NAMES = frozenset(_LANGUAGE_NAMES.values())
_CODES = {name: code for code, name in reversed(_LANGUAGE_NAMES.items())}


def language_code(tag: str) -> str:
    """The lower-case primary subtag of a language tag or name ("pt-BR", "pt_br",
    "portuguese" -> "pt"); "" for an empty tag."""
    tag = (tag or "").strip().lower().replace("_", "-")
    return _CODES.get(tag) or tag.split("-", 1)[0]


def language_name(tag: str) -> str:
    """Normalize a language tag ("en", "de-DE", "pt_BR", "English") to a lower-case name.

    Unknown tags come back as their primary subtag, so callers can still compare them;
    an empty tag means English, the feeds' most common language.
    """
    tag = (tag or "").strip().lower().replace("_", "-")
    if not tag:
        return "english"
    if tag in _KNOWN_NAMES:
        return tag
    primary = tag.split("-", 1)[0]
    return _LANGUAGE_NAMES.get(primary, primary)


# Scripts written without spaces between words: a "word" there is a character.
_UNSPACED = (
    "\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3031-\u3035\u3040-\u30ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"  # CJK ideographs, kana
    "\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f\u1780-\u17ff"  # Thai, Lao, Myanmar, Khmer
)
_LETTERS = f"(?:(?![{_UNSPACED}])[^\\W_])+"  # letters and digits of spaced scripts
# A class of the 29,000 unspaced characters costs 1.5 ms to compile each time a pattern has it;
# a text of this cheap class (spaced scripts, symbols) has none and is split alike without it.
_SPACED_ONLY = re.compile(r"[\x00-\u0dff\u1e00-\u2bff\U00010000-\U0010ffff]*")
_SPACED_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")


def _spaced_only(text: str) -> bool:
    return text.isascii() or _SPACED_ONLY.fullmatch(text) is not None  # isascii: no scan


@functools.cache
def _unspaced_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    word = f"[{_UNSPACED}]|{_LETTERS}(?:['’\\-]{_LETTERS})*"
    return re.compile(word), re.compile(f"[{_UNSPACED}]")  # a word, an unspaced character


def words(text: str, language: str = "en") -> list[str]:
    """Word tokens of `text`: letters/digits runs (with inner ' and -), one per CJK character."""
    del language  # the rules are script-based, so one pattern serves every language
    text = text or ""
    return (_SPACED_WORD if _spaced_only(text) else _unspaced_patterns()[0]).findall(text)


def word_count(text: str) -> int:
    """Length of `text` in words as a reader sees them: whitespace-separated tokens, and
    two characters per word in unspaced scripts (Chinese words average under two)."""
    text = text or ""
    if _spaced_only(text):
        return len(text.split())
    total = 0
    unspaced_char = _unspaced_patterns()[1]
    for token in text.split():
        unspaced = len(unspaced_char.findall(token))
        if unspaced:
            rest = unspaced_char.sub("", token)
            total += math.ceil(unspaced / 2) + (1 if any(c.isalnum() for c in rest) else 0)
        else:
            total += 1
    return total


# -- sentences ----------------------------------------------------------------------------

# Abbreviations that precede a name or a number, so never end a sentence.
_TITLES = frozenset(
    """mr mrs ms mx dr prof st sr jr gen col lt capt cpt sgt cmdr adm maj rev hon gov sen rep
    pres supt insp det fr mt ft vs v cf viz al approx ca fig figs pp p vol vols ch nr no nos
    art arts e.g i.e z.b bzw vgl usw d.h u.a sog ggf evtl inkl mme mlle cie sra sres dña
    dto núm pág""".split()
)
# Abbreviations that may also end a sentence ("... joined Acme Inc. The firm ..."): they end
# one only when the next word is a typical sentence opener.
_AMBIGUOUS = frozenset(
    """inc ltd co corp plc llc bros etc u.s u.k u.n e.u a.m p.m jan feb mar apr jun jul aug
    sep sept oct nov dec tue tues thu thur thurs fri ave blvd rd dept
    univ assn govt""".split()
)
_OPENERS = frozenset(
    """the a an he she it they we i you this that these those there his her its their our
    in on at for but and so yet if when while after before as however meanwhile also then
    some many most one two mr mrs ms dr""".split()
)
# Russian and Ukrainian abbreviations (lower case, so the next word usually is too).
_CYRILLIC_ABBREVIATIONS = frozenset("г гг т.е т.д т.п др см им ул млн млрд руб тыс н.э".split())

_CLOSERS = "\"'”’»)]」』）】〉》›"
_OPENERS_PUNCT = "\"'“‘«([「『（【〈《‹¿¡"
# Terminators after which a sentence always ends (no spaces needed between sentences in
# CJK; Arabic/Urdu/Devanagari/Ethiopic/Armenian/Myanmar marks are unambiguous).
_HARD_END = "。！？｡؟۔।॥።፧։။"
_CLOSERS_CLASS = re.escape(_CLOSERS)
_BOUNDARY = re.compile(
    rf"(?P<hard>[{_HARD_END}]+[!?！？]*[{_CLOSERS_CLASS}]*\s*)"
    # a soft stop starts at the first mark of a run and takes it whole (possessive): tried
    # from every mark of "....x", the run cost its square
    rf"|(?P<soft>(?<![.!?…])[.!?…]++[{_CLOSERS_CLASS}]*+)(?=\s|$)"
    # a space lost between sentences ("...last year.The firm"): lower-case word, stop, Capital
    r"|(?P<glued>(?<=[a-z]{2})[.!?][\"”’]?(?=[A-Z][a-z]))"
)
_LAST_TOKEN = re.compile(r"(\S+)$")
# How far the sentence splitter looks back for the word before a stop: further than any
# abbreviation, initial or ordinal it tests for. Looking back to the paragraph's start made
# every stop cost the paragraph's length: a 100,000-character paragraph took seconds.
_TOKEN_WINDOW = 100
_SPACES = re.compile(r"\s*")
_LEADING_OPENERS = re.compile(rf"[{re.escape(_OPENERS_PUNCT + '-–— ')}]*")
_ALNUM_RUN = re.compile(r"[^\W_]+")
_CAPITALIZED_WORD = re.compile(r"[A-Z][a-z]+[,;:]?(?!\S)")


def split_sentences(text: str, language: str = "en") -> list[str]:
    """Split plain text into sentences; paragraphs (blank lines) always end a sentence.

    Understands `.`, `!`, `?` and `…` with abbreviations, initials, decimals and closing
    quotes, and the sentence marks of CJK (`。！？`), Arabic/Urdu (`؟ ۔`), Devanagari (`।`)
    and other scripts. Never loses text: the sentences joined are the paragraphs.
    """
    lang = language_name(language)
    out: list[str] = []
    for paragraph in paragraphs(text):
        out.extend(_split_paragraph(paragraph, lang))
    return out


def _split_paragraph(paragraph: str, lang: str) -> list[str]:
    """Sentences of one whitespace-collapsed paragraph."""
    sentences: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(paragraph):
        end = m.end()
        if m.group("soft") is not None and not _ends_sentence(paragraph, m, lang):
            continue
        if m.group("glued") is not None and not _glued_end(paragraph, m):
            continue
        piece = paragraph[start:end].strip()
        if piece:
            sentences.append(piece)
        start = end
    rest = paragraph[start:].strip()
    if rest:
        # a trailing piece with no letters or digits ("—", "***") belongs to the last one
        if sentences and not any(c.isalnum() for c in rest):
            sentences[-1] = f"{sentences[-1]} {rest}"
        else:
            sentences.append(rest)
    return sentences


def _skip(pattern: re.Pattern[str], text: str, position: int) -> int:
    """Where a run of `pattern` (which may be empty) starting at `position` ends."""
    found = pattern.match(text, position)
    return found.end() if found else position


def _ends_sentence(text: str, m: re.Match[str], lang: str) -> bool:
    """Whether the `.!?…` match is a sentence end, judged by the words around it."""
    # positions, not slices: a copy of the rest of the paragraph per stop is quadratic
    after = _skip(_SPACES, text, m.end())
    if after == len(text):
        return True
    nxt = _skip(_LEADING_OPENERS, text, after)
    first = text[nxt : nxt + 1]
    if not first:
        return True
    if first.islower():
        return False  # "e.g. this", "approx. five", "he said... and"
    punct = m.group("soft").rstrip(_CLOSERS)
    if "." not in punct or punct.endswith(("!", "?")):
        return True  # ! and ? before a capital end a sentence
    if len(punct) > 1:
        return True  # an ellipsis before a capital
    token = _token_before(text, m.start()).lstrip(_OPENERS_PUNCT)
    if not token:
        return True
    low = token.lower()
    if len(token) == 1 and token.isalpha():
        # an initial ("J. K. Rowling") or a spaced abbreviation ("z. B."), unless the next
        # word plainly opens a sentence ("... World War I. But ...")
        return _next_word(text, nxt) in _OPENERS and token.isupper()
    if low == "no" or low == "nr" or low == "p" or low == "pp":
        return not first.isdigit()  # "No. 5", "p. 12"; "... said no. Then" still ends
    if low in _TITLES and not (len(token) > 1 and token.isupper()):
        return False  # "Ms. Smith", but "MS." is an acronym ending a sentence
    dotted = re.fullmatch(r"(?:[^\W\d_]\.)+[^\W\d_]", token)
    if dotted and len(token) <= 5 and low not in _AMBIGUOUS:
        return False  # dotted abbreviation like "e.g", "z.B", "i.e"
    if low in _AMBIGUOUS:
        return _next_word(text, nxt) in _OPENERS
    if lang in ("russian", "ukrainian", "bulgarian", "serbian") and low in _CYRILLIC_ABBREVIATIONS:
        return False
    if lang == "german" and token.isdigit() and len(token) <= 2:
        return False  # German ordinals: "am 3. Oktober"
    return True


def _glued_end(text: str, m: re.Match[str]) -> bool:
    """Whether "word.Word" with no space is two sentences ("last year.The firm"), not code
    or a name ("System.Collections", "node.Js()")."""
    word_before = _token_before(text, m.start())
    return (
        word_before.isalpha()
        and word_before.islower()
        and _CAPITALIZED_WORD.match(text, m.end()) is not None
    )


def _token_before(text: str, end: int) -> str:
    """The non-space run ending at `end`, at most _TOKEN_WINDOW characters of it ("" if none)."""
    m = _LAST_TOKEN.search(text, max(0, end - _TOKEN_WINDOW), end)
    return m.group(1) if m else ""


def _next_word(text: str, pos: int) -> str:
    """The word starting at `pos`, lower-cased ("" if none)."""
    m = _ALNUM_RUN.match(text, pos)
    return m.group(0).lower() if m else ""


# -- readability ----------------------------------------------------------------------------

# Openers that point back at an earlier sentence, per language: a summary shouldn't start so.
_DANGLING = {
    "english": """he she it they this these those that his her its their him them but and or
        so also however meanwhile instead still yet then moreover furthermore nevertheless
        nonetheless besides otherwise therefore thus hence likewise similarly additionally
        conversely indeed accordingly consequently although though because which whose""",
    "german": "er sie es dies diese dieser dieses aber doch auch dann jedoch zudem",
    "french": "il elle ils elles cela ce ceci mais cependant pourtant aussi donc puis",
    "spanish": "él ella ellos ellas esto este esta estos estas pero también",
    "portuguese": "ele ela eles elas isto isso este esta mas porém também",
    "italian": "lui lei loro questo questa questi ma però anche inoltre",
    "dutch": "hij zij ze het dit deze dat maar ook echter",
    "russian": "он она оно они это этот эта эти но однако также тоже",
    "ukrainian": "він вона воно вони це цей ця ці але однак також",
}
_DANGLING_WORDS = {lang: frozenset(ws.split()) for lang, ws in _DANGLING.items()}
# "This week ..." names a time, not an earlier sentence.
_TIME_PHRASE = re.compile(
    r"(?:this|that|these|those)\s+(?:week|year|month|morning|afternoon|evening|night|"
    r"weekend|season|summer|spring|autumn|fall|winter|time|past|coming|last|next)\b",
    re.IGNORECASE,
)
_FIRST_WORD = re.compile(r"[\"'“‘«]?([^\W\d_]+)")


def is_dangling(sentence: str, language: str = "en") -> bool:
    """True when a sentence can't open a summary: it refers back ("He", "This", "But"),
    starts in lower case, or continues a quotation opened in an earlier sentence."""
    s = sentence.strip()
    if not s:
        return True
    if s[0] in "”’»)]},;:-–—" or (s[0].isalpha() and s[0].islower()):
        return True
    if _continues_quote(s):
        return True
    m = _FIRST_WORD.match(s)
    if not m:
        return False
    lang = language_name(language)
    dangling = _DANGLING_WORDS.get(lang, _DANGLING_WORDS["english"])
    if m.group(1).lower() not in dangling:
        return False
    return not _TIME_PHRASE.match(s, m.start(1))


def _continues_quote(s: str) -> bool:
    """True when the sentence closes a quotation it never opened (a quote's middle or tail)."""
    close, open_ = s.find("”"), s.find("“")
    if close != -1:
        return open_ == -1 or close < open_
    if s.count('"') % 2 == 1:
        # one straight quote: a tail if it closes a word ('over," he said'), not if it opens
        i = s.index('"')
        return i > 0 and not s[i - 1].isspace() and s[i - 1] not in "([—–-"
    return False


def ends_cleanly(sentence: str) -> bool:
    """True when a sentence ends with terminal punctuation, not cut off ("…", "[…]", none)."""
    s = sentence.rstrip()
    for marker in ("[…]", "[...]", "…", "..."):
        if s.endswith(marker):
            # "... ends here. [...]" is whole; "... and then [...]" was cut
            return ends_cleanly(s[: -len(marker)]) if s[: -len(marker)].strip() else False
    s = s.rstrip(_CLOSERS).rstrip()
    return bool(s) and s[-1] in ".!?\u037e" + _HARD_END


# -- boilerplate ----------------------------------------------------------------------------

_AGENCIES = (
    r"Reuters|AP|AFP|CNN|Bloomberg|UPI|dpa|DPA|AA|Xinhua|PTI|IANS|ANI|BBC|CNBC|Sputnik|TASS|"
    r"Interfax|EFE|ANSA|Kyodo|Yonhap|NNA|KUNA|WAM|SPA|IRNA|Anadolu|CP|PA|NPR|ABC|NBC|CBS"
)
# "LONDON (Reuters) - ", "NEW YORK, Jan 5 (Reuters) -", "WASHINGTON — ", "(CNN) —"
_DATELINE = re.compile(
    r"^(?:(?P<city>[^\W\d_][\w.'’\-]+(?:\s+[^\W\d_][\w.'’\-]+){0,3})"
    r"(?:,\s*[^\W\d_][\w.]*(?:\s+[^\W\d_][\w.]*)?\.?(?:\s+\d{1,2})?){0,2}\s*)?"
    rf"(?P<agency>\((?:{_AGENCIES})(?:[ /][\w. ]{{1,20}})?\)\s*)?"
    r"[-–—]{1,2}\s+(?=\S)"
)
# Whole paragraphs or sentences that are site chrome (matched case-insensitively, in full).
_CHROME = re.compile(
    r"(?:"
    r"the post\b.{1,300}\bappeared first on\b.{0,200}"
    r"|(?:continue reading|read more|read the rest(?: of this (?:entry|post|article))?|read full "
    r"(?:story|article|post)|keep reading|full story|more\.{3}|more…)\b.{0,100}"
    r"|discover more from\b.{0,200}"
    r"|subscribe to get the latest posts\b.{0,80}"
    r"|type your email.{0,40}"
    r"|(?:share|like|tweet|print|email) this(?: story| article| post)?\s*:.{0,300}"
    r"|click to (?:share|email|print|tweet|pin|like)\b.{0,300}"
    r"|(?:leave|post|add|write) a (?:comment|reply)\b.{0,80}"
    r"|(?:no |\d+ )?(?:comments?|responses?|replies)(?: \(\d+\))?(?: (?:are )?closed)?"
    r"|view (?:all )?comments?.{0,40}"
    r"|(?:posted|published|filed|written|submitted) (?:on|by|in|under)\b.{0,120}"
    r"|(?:\[(?:link|comments|\d+ comments?)\]\s*)+"
    r"|(?:tags|tagged|filed under|categories|category|related(?: posts| articles| stories)?"
    r"|see also|more on this story|top stories|most read|follow us)\s*:.{0,300}"
    r"|(?:related|advertisement|sponsored(?: content)?|loading\.{3}|like loading\.{3}|"
    r"skip to content|back to top)"
    # a row of share buttons: "X", "Facebook", "Share | Tweet | Email"
    r"|(?:(?:share(?: on)?|tweet|print|e-?mail|subscribe|x|twitter|facebook|linkedin|reddit|"
    r"whatsapp|telegram|pinterest|tumblr|pocket|mastodon|bluesky|threads|messenger|"
    r"copy link|more)[\s,|·•/]*){1,12}"
    r"|(?:sign up|subscribe)\b.{0,60}\b(?:newsletter|inbox|email)\b.{0,80}"
    r"|follow (?:us|me) on\b.{0,80}"
    r"|this (?:article|story|post) (?:was )?(?:originally|first) (?:published|appeared)\b.{0,150}"
    r"|(?:photo|photograph|picture|image|illustration|video|graphic|credit|photo credit|"
    r"image credit|image source|source)\s*(?:by)?\s*[:©].{0,250}"
    r"|image (?:copyright|caption)\b.{0,250}"
    r"|(?:copyright\s*)?©.{0,120}|copyright \d{4}\b.{0,120}|all rights reserved"
    r"|(?:\((?:photo|image|picture|getty|ap photo|afp)[^()]{0,80}\))"
    r")[.!…\s]*",
    re.IGNORECASE | re.DOTALL,
)
_BYLINE = re.compile(
    r"(?:[Bb]y|[Vv]on|[Pp]ar|[Pp]or|[Dd]i)\s+(?:[A-Z][\w'’.\-]*\s*){2,4}"
    r"(?:(?:,|and|&|und|et|y|e)\s*(?:[A-Z][\w'’.\-]*\s*){1,4})*"
    r"(?:[,|–—-]\s*[\w .,'’-]{0,50})?[.]?"
)
# Chrome glued to the end of a paragraph by inline markup.
_TAIL_CHROME = re.compile(
    r"\s*(?:(?<![\w,])\bThe post\b.{1,300}?\bappeared first on\b"
    r"|(?:…|\.\.\.|\[(?:…|\.\.\.)\])?\s*\[?(?:Continue reading|Read more|Read the rest of "
    r"this (?:entry|post|article)|Read full (?:story|article|post)|Keep reading)\b"
    r"|Discover more from\b|Subscribe to get the latest posts\b|Share this:|Like this:"
    r"|Click to share on\b|Related posts?:)"
    r"[^\n]{0,400}$"
)
# Literal phrases one of which every _TAIL_CHROME match contains.
_TAIL_HINTS = (
    "The post",
    "Continue reading",
    "Read more",
    "Read the rest of this",
    "Read full",
    "Keep reading",
    "Discover more from",
    "Subscribe to get the latest posts",
    "Share this:",
    "Like this:",
    "Click to share on",
    "Related post",
)
# Link-aggregator buttons ("[link] [275 comments]").
_BRACKET_CHROME = re.compile(r"\s*\[(?:link|comments?|\d+ comments?|permalink|source)\]", re.I)
_INLINE_CREDIT = re.compile(
    r"\s*\((?:(?:photo|photograph|picture|image|illustration|credit)(?: by| credit)?\s*[:©]"
    r"[^()]{0,80}|photo by [^()]{1,80}|(?:[\w.]+\s*/\s*)?(?:Getty Images|AP Photo|Shutterstock|"
    r"iStock|Alamy)[^()]{0,40}|(?:AFP|EPA|Reuters|AP|PA|dpa)\s*/\s*[^()]{1,40}"
    r"|photo|foto|bild|image|picture|video|file photo|archive photo|archivbild)\)",
    re.IGNORECASE,
)


def strip_boilerplate(text: str, language: str = "en") -> str:
    """Plain text without site chrome: "The post … appeared first on …", "Continue reading",
    share/comment lines, datelines ("LONDON (Reuters) -"), bylines and photo credits.

    Paragraphs stay separated by blank lines; if everything looks like chrome, the text is
    returned tidied but whole, so a caller never ends up with nothing.
    """
    kept = [" ".join(s) for s in clean_paragraphs(text, language)]
    return "\n\n".join(p for p in kept if p)


def strip_chrome(text: str) -> str:
    """A cheap, paragraph-level `strip_boilerplate` for ingest: drops chrome paragraphs and
    chrome glued to a paragraph's end, without splitting sentences. Never empties a text."""
    kept = []
    for paragraph in paragraphs(text):
        if any(hint in paragraph for hint in _TAIL_HINTS):  # literal test: cheaper than the regex
            paragraph = _TAIL_CHROME.sub("", paragraph)
        if "[" in paragraph:
            paragraph = _BRACKET_CHROME.sub("", paragraph)
        paragraph = paragraph.strip()
        # chrome lines are short; a long paragraph is article text
        if paragraph and (len(paragraph) > 500 or not is_boilerplate(paragraph)):
            kept.append(paragraph)
    return "\n\n".join(kept) if kept else text


def clean_paragraphs(text: str, language: str = "en") -> list[list[str]]:
    """Sentences of each paragraph, with boilerplate paragraphs and sentences removed."""
    lang = language_name(language)
    original = paragraphs(text)
    out: list[list[str]] = []
    for paragraph in original:
        paragraph = _TAIL_CHROME.sub("", paragraph)
        paragraph = _BRACKET_CHROME.sub("", _INLINE_CREDIT.sub("", paragraph)).strip()
        paragraph = _strip_dateline(paragraph)
        if not paragraph or is_boilerplate(paragraph):
            continue
        sentences = [s for s in _split_paragraph(paragraph, lang) if not is_boilerplate(s)]
        if sentences:
            sentences[0] = _strip_dateline(sentences[0])
            out.append(sentences)
    if not out and original:
        return [_split_paragraph(p, lang) for p in original]
    return out


def is_boilerplate(sentence: str) -> bool:
    """True when a whole line or sentence is chrome: share/comment/subscribe lines, a byline,
    a photo credit, "Continue reading", "The post … appeared first on …"."""
    s = sentence.strip()
    if not s:
        return True
    if _CHROME.fullmatch(s):
        return True
    return len(s) < 120 and _BYLINE.fullmatch(s) is not None


def _strip_dateline(paragraph: str) -> str:
    """Remove a leading "CITY (Agency) -" dateline; the city must be in capitals."""
    m = _DATELINE.match(paragraph)
    if not m:
        return paragraph
    city = m.group("city") or ""
    if city and not (city.isupper() and sum(c.isalpha() for c in city) >= 3):
        return paragraph  # "Apple - the company ..." is a sentence, not a dateline
    if not city and not m.group("agency"):
        return paragraph
    rest = paragraph[m.end() :]
    return rest[:1].upper() + rest[1:]


_HEADER_SPACES = re.compile(r"\s+")


def safe_header_value(value: str, limit: int = 0) -> str:
    """One line of text that cannot add a header: no CR/LF or other control characters,
    no encoded-word opener, single spaces; cut to `limit` characters when given."""
    kept = []
    for ch in value or "":
        category = unicodedata.category(ch)
        if category in ("Cc", "Zl", "Zp"):
            kept.append(" ")
        elif not category.startswith("C"):  # format, private-use, unassigned: dropped
            kept.append(ch)
    text = _HEADER_SPACES.sub(" ", "".join(kept)).strip()
    # "=?" could open an RFC 2047 encoded word that the header parser would decode
    # (possibly into a newline); a space between the two characters keeps the text readable
    text = text.replace("=?", "= ?")  # cannot create a new "=?"
    if limit and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text
