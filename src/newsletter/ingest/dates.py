"""Dates feedparser cannot read: localized month and day names, numeric day-first dates.

Real feeds write `Seg, 24 Set 2018 19:42:40 -0300` (Portuguese RFC 822), `Mo, 05 Jan 2026`,
`lun., 05 janv. 2026`, `4. Januar 2026 14:10`, `05.01.2026, 07:40 Uhr`, `24 de setembro de
2018` or `2018-09-24 19:42`. `parse_date` reads those from the parts a date is made of (a
year, a month by number or by name in about twenty languages, a day, a time, a zone) and
ignores weekday names and filler words. A date without a zone is taken as UTC, as
feedparser does. Anything it cannot place with confidence is None: an undated item is
better than a wrongly dated one.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta

# Month names per language: full names (and genitive forms where dates use them) for each
# month, comma-separated alternatives; abbreviations follow in `_ABBREVIATIONS`.
_MONTHS = {
    "en": "january february march april may june july august september october november december",
    "de": "januar,jänner februar,feber märz april mai juni juli august september oktober "
    "november dezember",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre,setiembre octubre "
    "noviembre diciembre",
    "pt": "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro "
    "dezembro",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre "
    "dicembre",
    "nl": "januari februari maart april mei juni juli augustus september oktober november december",
    "sv": "januari februari mars april maj juni juli augusti september oktober november december",
    "da": "januar februar marts april maj juni juli august september oktober november december",
    "no": "januar februar mars april mai juni juli august september oktober november desember",
    "fi": "tammikuu,tammikuuta helmikuu,helmikuuta maaliskuu,maaliskuuta huhtikuu,huhtikuuta "
    "toukokuu,toukokuuta kesäkuu,kesäkuuta heinäkuu,heinäkuuta elokuu,elokuuta "
    "syyskuu,syyskuuta lokakuu,lokakuuta marraskuu,marraskuuta joulukuu,joulukuuta",
    "pl": "styczeń,stycznia luty,lutego marzec,marca kwiecień,kwietnia maj,maja czerwiec,czerwca "
    "lipiec,lipca sierpień,sierpnia wrzesień,września październik,października "
    "listopad,listopada grudzień,grudnia",
    "cs": "leden,ledna únor,února březen,března duben,dubna květen,května červen,června "
    "červenec,července srpen,srpna září říjen,října listopad,listopadu prosinec,prosince",
    "sk": "január,januára február,februára marec,marca apríl,apríla máj,mája jún,júna júl,júla "
    "august,augusta september,septembra október,októbra november,novembra december,decembra",
    "hu": "január február március április május június július augusztus szeptember október "
    "november december",
    "ro": "ianuarie februarie martie aprilie mai iunie iulie august septembrie octombrie "
    "noiembrie decembrie",
    "tr": "ocak şubat mart nisan mayıs haziran temmuz ağustos eylül ekim kasım aralık",
    "ca": "gener febrer març abril maig juny juliol agost setembre octubre novembre desembre",
    "id": "januari februari maret april mei juni juli agustus september oktober november desember",
    "ru": "январь,января февраль,февраля март,марта апрель,апреля май,мая июнь,июня июль,июля "
    "август,августа сентябрь,сентября октябрь,октября ноябрь,ноября декабрь,декабря",
    "uk": "січень,січня лютий,лютого березень,березня квітень,квітня травень,травня червень,червня "
    "липень,липня серпень,серпня вересень,вересня жовтень,жовтня листопад,листопада "
    "грудень,грудня",
}
_ABBREVIATIONS = {
    "en": "jan feb mar apr may jun jul aug sep,sept oct nov dec",
    "de": "jan,jän feb mär,mrz apr mai jun jul aug sep,sept okt nov dez",
    "fr": "janv févr,fév,fev mars avr mai juin juil août sept oct nov déc",
    "es": "ene feb mar abr may jun jul ago sep,sept,set oct nov dic",
    "pt": "jan fev mar abr mai jun jul ago set out nov dez",
    "it": "gen feb mar apr mag giu lug ago set ott nov dic",
    "nl": "jan feb mrt apr mei jun jul aug sep okt nov dec",
    "sv": "jan feb mar apr maj jun jul aug sep okt nov dec",
    "no": "jan feb mar apr mai jun jul aug sep okt nov des",
    "pl": "sty lut mar kwi maj cze lip sie wrz paź lis gru",
    "hu": "jan febr márc ápr máj jún júl aug szept okt nov dec",
    "ro": "ian feb mar apr mai iun iul aug sep oct noi dec",
    "tr": "oca şub mar nis may haz tem ağu eyl eki kas ara",
    "id": "jan feb mar apr mei jun jul agu,agt sep okt nov des",
    "ru": "янв фев мар апр май июн июл авг сен,сент окт ноя дек",
    "uk": "січ лют бер кві тра чер лип сер вер жов лис гру",
}


def _fold(word: str) -> str:
    """Lower case without accents or a trailing dot ("Févr." -> "fevr")."""
    word = unicodedata.normalize("NFKD", word.casefold().rstrip("."))
    return "".join(c for c in word if not unicodedata.combining(c))


def _month_table() -> dict[str, int]:
    """Every month form -> month number; a form two languages read differently is dropped."""
    table: dict[str, int] = {}
    clashes: set[str] = set()
    for source in (_MONTHS, _ABBREVIATIONS):
        for names in source.values():
            for number, forms in enumerate(names.split(), start=1):
                for form in forms.split(","):
                    for key in {form, _fold(form)}:
                        if table.setdefault(key, number) != number:
                            clashes.add(key)
    for key in clashes:
        del table[key]
    return table


MONTHS = _month_table()

# Zone abbreviations seen in feeds; ambiguous ones (IST, CST in Asia) take their most common
# meaning in English-language feeds, as feedparser does.
_ZONES = {
    "z": 0,
    "ut": 0,
    "utc": 0,
    "gmt": 0,
    "wet": 0,
    "bst": 60,
    "cet": 60,
    "mez": 60,
    "cest": 120,
    "mesz": 120,
    "eet": 120,
    "eest": 180,
    "msk": 180,
    "ist": 330,
    "pkt": 300,
    "jst": 540,
    "kst": 540,
    "aest": 600,
    "aedt": 660,
    "brt": -180,
    "art": -180,
    "ast": -240,
    "edt": -240,
    "est": -300,
    "cdt": -300,
    "cst": -360,
    "mdt": -360,
    "mst": -420,
    "pdt": -420,
    "pst": -480,
}

_TIME = re.compile(
    r"(?<![\d:])(\d{1,2})(?::|h(?=\d{2}))(\d{2})(?::(\d{2}))?(?:[.,]\d+)?"
    r"(?:\s*([ap])\.?\s?m\.?(?![^\W\d_]))?",
    re.I,
)
_OFFSET = re.compile(r"(?:^|(?<=[\s\d]))([+-])(\d{2}):?(\d{2})\b")
_ISO = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_DAY_FIRST = re.compile(r"(?<![\d.])(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})(?!\d)")
_TOKEN = re.compile(r"[^\W\d_]+\.?|\d+\.?")
_YEAR = re.compile(r"(?<!\d)(19[7-9]\d|20\d\d|2100)(?!\d)")


def parse_date(text: str | None, language: str = "") -> datetime | None:
    """A UTC datetime from a date string in any common format and language, or None."""
    s = " ".join((text or "").split())
    if not s or len(s) > 120:
        return None
    day = _date_part(s, language)
    if day is None:
        return None
    (year, month, date), rest = day
    hour = minute = second = 0
    t = _TIME.search(rest)
    if t:
        hour, minute, second = int(t.group(1)), int(t.group(2)), int(t.group(3) or 0)
        meridiem = (t.group(4) or "").lower()
        if meridiem and not 1 <= hour <= 12:
            return None
        if meridiem == "p" and hour < 12:
            hour += 12
        elif meridiem == "a" and hour == 12:
            hour = 0
        rest = rest[: t.start()] + " " + rest[t.end() :]
    try:
        local = datetime(year, month, date, hour, minute, second)
    except ValueError:
        return None
    return (local - timedelta(minutes=_offset_minutes(rest))).replace(tzinfo=UTC)


def _date_part(s: str, language: str) -> tuple[tuple[int, int, int], str] | None:
    """(year, month, day) and the text left for the time and zone."""
    m = _ISO.search(s)
    if m:
        return (int(m.group(1)), int(m.group(2)), int(m.group(3))), _cut(s, m)
    m = _DAY_FIRST.search(s)
    if m:
        a, b, year = int(m.group(1)), int(m.group(3)), int(m.group(4))
        year += 2000 if year < 70 else (1900 if year < 100 else 0)
        if m.group(2) == "/" and (b > 12 or (a <= 12 and _month_first(language))):
            a, b = b, a  # US style: month/day/year
        return (year, b, a), _cut(s, m)
    return _named_month(s)


def _named_month(s: str) -> tuple[tuple[int, int, int], str] | None:
    """A date written with the month's name: "24 Set 2018", "4. Januar 2026",
    "September 24, 2018", "24 de setembro de 2018".

    Weekday abbreviations can spell a month too ("mar." is Tuesday in French, Spanish and
    Italian): of several candidates, the one nearest to both a day and the year wins.
    """
    tokens = list(_TOKEN.finditer(s))
    year = _YEAR.search(s)
    if year is None:
        return None
    year_at = next((i for i, t in enumerate(tokens) if t.start() == year.start()), -1)
    best: tuple[int, int, int, int] | None = None  # (distance, token index, month, day)
    for i, tok in enumerate(tokens):
        word = tok.group(0)
        if word[0].isdigit() or _fold(word) not in MONTHS:
            continue
        day_at = _day_near(tokens, i, year_at)
        if day_at is None:
            continue
        distance = abs(day_at - i) + abs(year_at - i)
        if best is None or distance < best[0]:
            day = int(tokens[day_at].group(0).rstrip("."))
            best = (distance, i, MONTHS[_fold(word)], day)
    if best is None:
        return None
    month_tok = tokens[best[1]]
    start, end = min(month_tok.start(), year.start()), max(month_tok.end(), year.end())
    return (int(year.group(1)), best[2], best[3]), s[:start] + " " + s[end:]


def _day_near(tokens: list[re.Match[str]], month_at: int, year_at: int) -> int | None:
    """Index of the day number next to the month name: before it ("24 Set", "4. Januar",
    "24 de setembro") or after it ("September 24, 2018")."""
    for j in (month_at - 1, month_at + 1, month_at - 2):
        if not 0 <= j < len(tokens) or j == year_at:
            continue
        word = tokens[j].group(0).rstrip(".")
        if not word.isdigit() or not 1 <= int(word) <= 31:
            continue
        if j == month_at - 2 and not _filler(tokens[month_at - 1].group(0)):
            continue
        return j
    return None


def _filler(word: str) -> bool:
    """Words between a day and its month: "24 de setembro", "le 3 de"."""
    return _fold(word) in {"de", "del", "di", "of", "van", "d'"}


def _month_first(language: str) -> bool:
    return (language or "").lower().replace("_", "-") in ("en-us", "en-ph", "en-ca")


def _cut(s: str, m: re.Match[str]) -> str:
    return s[: m.start()] + " " + s[m.end() :]


def _offset_minutes(rest: str) -> int:
    """The zone's offset from UTC in minutes (0 when none is given)."""
    m = _OFFSET.search(rest)
    if m:
        sign = -1 if m.group(1) == "-" else 1
        return sign * (int(m.group(2)) * 60 + int(m.group(3)))
    for word in re.findall(r"[A-Za-z]+", rest):
        minutes = _ZONES.get(word.lower())
        if minutes is not None:
            return minutes
    return 0
