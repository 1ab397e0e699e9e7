"""A templated-text feed corpus: machine-written news with a small vocabulary.

Many real feeds are written by machines: press-release wires, market updates, sports
results, weather and transit bulletins. Their items share most of their words: one
template per kind of story, slots filled from short lists (two dozen companies, a few
teams, a handful of cities) and a boilerplate paragraph under every release. That is hard
on a build in ways ordinary prose is not: word 3-grams repeat across hundreds of items
(near-duplicate candidates multiply), the vocabulary is tiny (topics blur) and every
item reads like every other of its kind.

`make_templated(feeds=100, items_per_feed=30)` returns a `benchmarks.corpus.Corpus` (so
`CorpusServer`, `write_files` and `evolve` work on it unchanged): 10 themes, each feed
writing about one to three of them, about 3 % of the items another feed's story (a wire
copy with its own link and a distributor line). Every word comes from the lists below
and a fixed seed: no dataset text.

    python benchmarks/templated.py --feeds 2 --items 2 --show     # look at one feed
"""

from __future__ import annotations

import argparse
import random
import sys
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.corpus import KINDS, Corpus, CorpusFeed, CorpusItem, render_feed  # noqa: E402

SEED = 20260612

COMPANIES = (
    "Altura Systems|Brightwell Foods|Castellan Energy|Dunmore Logistics|Everly Pharma|"
    "Foxglove Retail|Granite Peak Mining|Harbourline Shipping|Ironbridge Capital|Juniper Telecom|"
    "Kestrel Aerospace|Lakemont Insurance|Meridian Health|Northgate Motors|Oakridge Chemicals|"
    "Pinecrest Media|Quayside Property|Redfern Software|Silverline Rail|Tallis Semiconductors|"
    "Upland Water|Vantage Biotech|Westmoor Steel|Yarrow Apparel"
).split("|")
TICKERS = [("".join(w[0] for w in c.split()) + c.split()[0][1:3]).upper() for c in COMPANIES]
INDEXES = ("Composite 100", "Midcap 250", "Tech Select", "Industrials 50", "Dividend 30")
TEAMS = (
    "Ashford United|Bramley Rovers|Carrow City|Dalton Athletic|Elmstead Town|Fenwick Albion|"
    "Garston Wanderers|Hollin Park|Ivybridge FC|Kelsall Rangers|Linwood Harriers|Marston Vale"
).split("|")
CLUBS = (
    "Riverside Hawks|Summit Bears|Coastal Kings|Metro Flyers|Valley Storm|Harbor Giants|"
    "Prairie Wolves|Northern Lights"
).split("|")
CITIES = (
    "Ashford Bramley Carrow Dalton Elmstead Fenwick Garston Hollin Ivybridge Kelsall Linwood "
    "Marston Norbury Oxley Pendle Quarry"
).split()
FIRST = "Anna Ben Clara David Elena Frank Grace Henry Irene James Karen Leo Maria Noah Olga Paul"
LAST = "Adler Brooks Carter Dixon Ellis Foster Grant Hayes Irving Jensen Keller Lowe Moreno Nash"
ROLES = (
    "Chief Executive Officer|Chief Financial Officer|Chief Operating Officer|Chief Technology "
    "Officer|President|Head of Sales|General Counsel|Chair of the Board"
).split("|")
PRODUCTS = (
    "platform|service|device|app|system|programme|suite|range|solution|network|"
    "tool|line|plan|kit|engine|module"
).split("|")
PRODUCT_ADJS = "next-generation cloud-based compact wireless modular low-cost premium".split()
DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
QUARTERS = ("first", "second", "third", "fourth")
WIRES = ("Newswire One", "Press Desk", "Release Hub", "Market Wire", "Bulletin Service")
ROADS = "A12 A34 B1090 M6 M25 A40 A9 B42".split()
LINES = "Central Northern Circle Harbour Airport Riverside Valley Eastern".split()


def _pct(r: random.Random) -> str:
    return f"{r.uniform(0.1, 9.9):.1f}"


def _money(r: random.Random) -> str:
    return f"{r.uniform(1, 950):.1f} million"


def _name(r: random.Random) -> str:
    return f"{r.choice(FIRST.split())} {r.choice(LAST.split())}"


def _fill(r: random.Random, slots: dict[str, str]) -> dict[str, str]:
    """Every slot a template may use, filled at random (the story's own slots win)."""
    company = r.randrange(len(COMPANIES))
    other = (company + r.randrange(1, len(COMPANIES))) % len(COMPANIES)
    a, b = r.sample(TEAMS, 2)
    c, d = r.sample(CLUBS, 2)
    values = {
        "company": COMPANIES[company],
        "ticker": TICKERS[company],
        "other": COMPANIES[other],
        "index": r.choice(INDEXES),
        "pct": _pct(r),
        "pct2": _pct(r),
        "price": f"{r.uniform(2, 400):.2f}",
        "money": _money(r),
        "money2": _money(r),
        "quarter": r.choice(QUARTERS),
        "day": r.choice(DAYS),
        "city": r.choice(CITIES),
        "person": _name(r),
        "person2": _name(r),
        "role": r.choice(ROLES),
        "product": r.choice(PRODUCTS),
        "adj": r.choice(PRODUCT_ADJS),
        "team_a": a,
        "team_b": b,
        "club_a": c,
        "club_b": d,
        "goals_a": str(r.randrange(0, 5)),
        "goals_b": str(r.randrange(0, 4)),
        "points_a": str(r.randrange(88, 131)),
        "points_b": str(r.randrange(80, 125)),
        "minute": str(r.randrange(2, 90)),
        "minute2": str(r.randrange(2, 90)),
        "crowd": f"{r.randrange(4, 60)},{r.randrange(100, 999)}",
        "temp": str(r.randrange(-3, 31)),
        "temp2": str(r.randrange(-8, 22)),
        "mm": str(r.randrange(0, 40)),
        "wind": str(r.randrange(5, 90)),
        "road": r.choice(ROADS),
        "line": r.choice(LINES),
        "delay": str(r.randrange(5, 120)),
        "count": str(r.randrange(2, 400)),
        "year": str(r.randrange(2018, 2027)),
        "rank": str(r.randrange(1, 20)),
    }
    values.update(slots)
    return values


# Per theme: label, titles, an opening sentence, body sentences (several per item, in a
# random order) and an optional closing paragraph (the boilerplate under every release).
THEMES: dict[str, dict[str, object]] = {
    "markets": {
        "label": "Markets",
        "titles": [
            "{index} closes {pct}% {updown} as {company} leads",
            "Market update: {index} {updown} {pct}% on {day}",
            "Stocks {updown} for a {rank}th session; {company} in focus",
        ],
        "open": "The {index} index closed {pct}% {updown} on {day}, with {count} of its "
        "members ending the session {updown}.",
        "body": [
            "Shares of {company} ({ticker}) {moved} {pct2}% to {price} after the company "
            "updated its outlook for the year.",
            "{company} was the biggest mover in the {index}, {moved} {pct}% in heavy trading.",
            "Trading volume was {pct2}% above the {rank}-day average, according to exchange data.",
            "The yield on the ten-year bond {moved} to {pct} per cent, its highest level "
            "since {year}.",
            "Analysts at {other} said the market was waiting for inflation figures due next week.",
            "Energy and mining stocks {moved} while technology shares were mixed.",
            "The currency {moved} {pct2}% against the dollar in late trading.",
            "Of the {count} companies that have reported so far, most beat expectations.",
            "Oil prices {moved} {pct}% to {price} dollars a barrel.",
            "Gold {moved} {pct2}% to {price} dollars an ounce as investors sought safety.",
        ],
        "close": "Market data is delayed by at least fifteen minutes. Prices are indicative "
        "and are not an offer to buy or sell any security.",
    },
    "earnings": {
        "label": "Earnings",
        "titles": [
            "{company} reports {quarter} quarter results",
            "{company} {quarter} quarter revenue {updown} {pct}%",
            "{company} announces results for the {quarter} quarter of {year}",
        ],
        "open": "{city}, {day} -- {company} ({ticker}) today announced financial results for "
        "the {quarter} quarter of {year}.",
        "body": [
            "Revenue for the quarter was {money} dollars, {updown} {pct}% from a year earlier.",
            "Operating income was {money2} dollars, compared with {money} dollars in the same "
            "quarter last year.",
            "Net income per diluted share was {price} dollars.",
            "Cash and cash equivalents at the end of the quarter were {money} dollars.",
            '"We delivered another quarter of solid execution," said {person}, {role} of '
            "{company}.",
            "The company expects full-year revenue of between {money} and {money2} dollars.",
            "The board declared a quarterly dividend of {price} cents per share.",
            "Gross margin was {pct} per cent, {updown} {pct2} points from the prior year.",
            "The company repurchased {count} thousand shares during the quarter.",
            "{company} will host a conference call to discuss the results on {day}.",
        ],
        "close": "About {company}: {company} is a leading provider of products and services "
        "to customers in more than {count} countries. This release contains forward-looking "
        "statements that involve risks and uncertainties. Actual results may differ "
        "materially from those expressed or implied.",
    },
    "appointments": {
        "label": "Appointments",
        "titles": [
            "{company} appoints {person} as {role}",
            "{company} names new {role}",
            "{person} to join {company} as {role}",
        ],
        "open": "{city}, {day} -- {company} today announced the appointment of {person} as "
        "{role}, effective immediately.",
        "body": [
            "{person} joins from {other}, where they served as {role} for {rank} years.",
            '"{person} brings deep experience to our leadership team," said {person2}, '
            "{role} of {company}.",
            "{person} succeeds {person2}, who will retire after {rank} years with the company.",
            "{person} holds a degree in economics and has worked in {count} markets.",
            "The appointment follows a search process led by the board.",
            "{person} will be based in {city} and report to the board of directors.",
            "{company} also announced that {person2} will become {role}.",
            "The company said the change is part of its plan to expand in {city}.",
        ],
        "close": "About {company}: {company} is a leading provider of products and services "
        "to customers in more than {count} countries. This release contains forward-looking "
        "statements that involve risks and uncertainties. Actual results may differ "
        "materially from those expressed or implied.",
    },
    "products": {
        "label": "Product launches",
        "titles": [
            "{company} launches {adj} {product}",
            "{company} unveils new {product} for business customers",
            "{company} introduces {adj} {product} in {city}",
        ],
        "open": "{city}, {day} -- {company} today launched a {adj} {product} designed for "
        "business customers.",
        "body": [
            "The new {product} is available from {day} at a price of {price} dollars.",
            "It will be offered first in {city} and in {count} other markets later this year.",
            '"Our customers asked for a simpler {product}," said {person}, {role} of {company}.',
            "The {product} works with existing systems from {other}.",
            "Early customers reported savings of up to {pct} per cent.",
            "The company said it had invested {money} dollars in the {product}.",
            "A {adj} version of the {product} is planned for {year}.",
            "The launch follows a pilot with {count} customers in {city}.",
        ],
        "close": "About {company}: {company} is a leading provider of products and services "
        "to customers in more than {count} countries. This release contains forward-looking "
        "statements that involve risks and uncertainties. Actual results may differ "
        "materially from those expressed or implied.",
    },
    "football": {
        "label": "Football",
        "titles": [
            "{team_a} {goals_a}-{goals_b} {team_b}",
            "{team_a} beat {team_b} {goals_a}-{goals_b} at home",
            "Match report: {team_a} v {team_b}",
        ],
        "open": "{team_a} and {team_b} played out a {goals_a}-{goals_b} result in front of "
        "{crowd} supporters on {day}.",
        "body": [
            "{person} opened the scoring for {team_a} in the {minute}th minute.",
            "{person2} replied for {team_b} after {minute2} minutes.",
            "{team_a} move to {rank}th in the table after the result.",
            "The visitors had a goal ruled out for offside in the {minute2}th minute.",
            "{person} was booked in the {minute}th minute for a late challenge.",
            "{team_b} manager {person2} said his side had deserved more from the game.",
            "{team_a} have now won {rank} of their last {count} home games.",
            "Both sides meet again in the cup next {day}.",
            "{person} was substituted in the {minute2}th minute with a knock.",
        ],
        "close": "",
    },
    "basketball": {
        "label": "Basketball",
        "titles": [
            "{club_a} {points_a}, {club_b} {points_b}",
            "{club_a} hold off {club_b}",
            "{person} scores {count} as {club_a} beat {club_b}",
        ],
        "open": "The {club_a} beat the {club_b} {points_a}-{points_b} on {day} night.",
        "body": [
            "{person} led the {club_a} with {rank} points and {minute} rebounds.",
            "{person2} scored {minute2} points for the {club_b}.",
            "The {club_a} shot {pct} per cent from the field.",
            "The {club_b} have lost {rank} of their last {count} games.",
            "The {club_a} pulled away in the third quarter with a {rank}-point run.",
            "{person} hit {minute} free throws in the final minutes.",
            "The {club_a} play the {club_b} again on {day}.",
        ],
        "close": "",
    },
    "weather": {
        "label": "Weather",
        "titles": [
            "{city} weather: {temp}C and {sky} on {day}",
            "Forecast for {city}: {sky}, highs of {temp}C",
            "Weather warning for {city} as winds reach {wind} km/h",
        ],
        "open": "{city} can expect a {sky} {day} with highs of {temp}C and lows of {temp2}C.",
        "body": [
            "Winds from the west will reach {wind} km/h in exposed places.",
            "Up to {mm} mm of rain is expected overnight.",
            "The outlook for the weekend is {sky} with temperatures near {temp}C.",
            "A yellow warning for wind is in force until {day} evening.",
            "Pollen levels will be {level} and air quality {level}.",
            "Sunrise is at {rank} minutes past six and sunset at {minute} minutes past eight.",
            "Coastal areas may see fog patches early on {day}.",
        ],
        "close": "Forecasts are updated four times a day. Check local conditions before "
        "you travel.",
    },
    "transit": {
        "label": "Travel",
        "titles": [
            "Delays on the {line} line after signal fault",
            "{road} closed near {city} after collision",
            "Travel update for {city}: {delay}-minute delays",
        ],
        "open": "Passengers on the {line} line face delays of up to {delay} minutes on {day} "
        "after a signal fault near {city}.",
        "body": [
            "The {road} is closed in both directions near {city} after a collision.",
            "Replacement buses are running between {city} and the airport.",
            "Engineers expect the line to reopen by {minute} minutes past five.",
            "Traffic is queuing for {count} metres on the approach to {city}.",
            "Tickets will be accepted on other routes until the end of {day}.",
            "The operator apologised and said {rank} trains had been cancelled.",
            "Drivers are advised to allow an extra {delay} minutes for their journey.",
        ],
        "close": "Check before you travel: timetables can change at short notice.",
    },
    "property": {
        "label": "Property",
        "titles": [
            "House prices in {city} {updown} {pct}% in {month}",
            "{city} rents {updown} {pct}% as demand {moved}",
            "Property index: {city} prices {updown} for the {rank}th month",
        ],
        "open": "Average house prices in {city} {moved} {pct}% in {month} to {price} "
        "thousand dollars, according to the latest index.",
        "body": [
            "Prices were {pct2}% {updown} on the same month a year earlier.",
            "Average rents in {city} {moved} {pct}% to {price} dollars a month.",
            "The number of homes for sale {moved} {pct2}% compared with {month}.",
            "First-time buyers paid an average of {price} thousand dollars.",
            "Homes took an average of {rank} days to sell, {updown} from {count} days.",
            "Mortgage approvals {moved} {pct}% in {month}, lenders said.",
            "New building starts in {city} were {count}, the lowest since {year}.",
        ],
        "close": "The index is compiled from completed sales and is seasonally adjusted.",
    },
    "notices": {
        "label": "Public notices",
        "titles": [
            "{city} council approves {count}-home plan",
            "Public notice: road works on the {road} in {city}",
            "{city} council meeting: budget set at {money}",
        ],
        "open": "{city} council on {day} approved plans for {count} homes on a site near the "
        "{road}.",
        "body": [
            "The council set its budget for {year} at {money} dollars.",
            "Road works on the {road} will start on {day} and last {rank} weeks.",
            "Residents can comment on the plans until the end of {month}.",
            "The next full council meeting is on {day} at seven in the evening.",
            "Councillor {person} said the plan would bring jobs to {city}.",
            "The committee voted {rank} to {minute} in favour of the proposal.",
            "Parking restrictions apply on {count} streets during the works.",
        ],
        "close": "Notices are published under the Local Government Act. Documents can be "
        "inspected at the {city} civic centre during office hours.",
    },
}
SKY = ("sunny", "cloudy", "wet", "windy", "dry", "bright", "foggy", "showery")
LEVELS = ("low", "moderate", "high")
MONTHS = (
    "January February March April May June July August September October November December"
).split()
THEME_KEYS = tuple(THEMES)


def _story(r: random.Random, theme: str) -> tuple[str, list[str]]:
    """(title, paragraphs) of one story: an opener, 14-22 body sentences, the boilerplate."""
    spec = THEMES[theme]
    up = r.random() < 0.5
    slots = _fill(
        r,
        {
            "updown": "higher" if up else "lower",
            "moved": r.choice(("rose", "gained", "climbed") if up else ("fell", "slipped", "lost")),
            "sky": r.choice(SKY),
            "level": r.choice(LEVELS),
            "month": r.choice(MONTHS),
        },
    )
    title = r.choice(spec["titles"]).format(**slots)  # type: ignore[union-attr]
    body = list(spec["body"])  # type: ignore[arg-type]
    n = r.randint(14, 22)
    chosen = [r.choice(body) for _ in range(n)]
    sentences = [str(spec["open"]).format(**slots)]
    for template in chosen:
        # each body sentence gets fresh numbers and names, the story keeps its subject
        fresh = _fill(
            r,
            {
                k: slots[k]
                for k in (
                    "company",
                    "ticker",
                    "team_a",
                    "team_b",
                    "club_a",
                    "club_b",
                    "city",
                    "updown",
                )
            },
        )
        fresh.update({k: slots[k] for k in ("sky", "level", "month")})
        fresh["moved"] = r.choice(("rose", "gained", "fell", "slipped"))
        sentences.append(template.format(**fresh))
    paragraphs = []
    i = 0
    while i < len(sentences):
        k = r.randint(2, 4)
        paragraphs.append(" ".join(sentences[i : i + k]))
        i += k
    if spec["close"]:
        paragraphs.append(str(spec["close"]).format(**slots))
    return title[0].upper() + title[1:], paragraphs


def new_item(r: random.Random, feed: CorpusFeed, published: datetime) -> CorpusItem:
    """One templated story for a feed (the same signature as corpus.py's writer)."""
    theme = r.choice(feed.topics)
    feed.serial += 1
    title, paragraphs = _story(r, theme)
    html = "\n".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    label = str(THEMES[theme]["label"])
    cats = {"topic": [label], "bland": ["Press Release"]}.get(feed.tagging, [])
    return CorpusItem(
        guid=f"{feed.site}/release/{feed.serial}",
        title=title,
        link=f"{feed.site}/{theme}/{feed.serial:06d}",
        published=published,
        author=r.choice(WIRES),
        topic=theme,
        categories=cats,
        html=html,
        words=sum(p.count(" ") + 1 for p in paragraphs),
    )


def update_paragraph(r: random.Random, item: CorpusItem) -> str:
    """A correction paragraph for an edited item, in the story's own template."""
    _, paragraphs = _story(r, item.topic)
    return paragraphs[1] if len(paragraphs) > 1 else paragraphs[0]


def make_templated(
    feeds: int = 100,
    items_per_feed: int = 30,
    seed: int = SEED,
    now: datetime | None = None,
    total_items: int | None = None,
    duplicate_rate: float = 0.03,
) -> Corpus:
    """100 feeds x 30 templated items in 10 themes (or `total_items` in all)."""
    r = random.Random(seed)
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    out: list[CorpusFeed] = []
    remaining = total_items if total_items is not None else feeds * items_per_feed
    for i in range(feeds):
        slug = f"{r.choice(CITIES).lower()}-wire-{i:03d}"
        feed = CorpusFeed(
            slug=slug,
            title=f"{slug.split('-')[0].title()} {r.choice(WIRES)}",
            site=f"https://{slug}.example",
            kind=KINDS[i % 3],
            topics=r.sample(THEME_KEYS, r.choice((1, 2, 2, 3))),
            tagging=r.choices(("topic", "bland", "none"), (0.35, 0.25, 0.4))[0],
        )
        n = min(items_per_feed, remaining)
        remaining -= n
        for j in range(n):
            published = now - timedelta(minutes=23 * j + 7 * i + 3)
            feed.items.append(new_item(r, feed, published))
        out.append(feed)
        if remaining <= 0:
            break
    corpus = Corpus(feeds=out, now=now, seed=seed, words=0, style="templated")
    _syndicate(corpus, r, duplicate_rate)
    return corpus


def _syndicate(corpus: Corpus, r: random.Random, rate: float) -> None:
    """Some items are another feed's story: a wire copy with a distributor line added."""
    pool = [(f, i) for f in corpus.feeds for i in f.items]
    if len(corpus.feeds) < 2:
        return
    for _ in range(int(len(pool) * rate)):
        feed, item = r.choice(pool)
        other, original = r.choice(pool)
        if other is feed:
            continue
        item.title, item.topic, item.words = original.title, original.topic, original.words
        item.html = original.html + f"\n<p>Distributed by {escape(r.choice(WIRES))}.</p>"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--items", type=int, default=30, help="items per feed")
    parser.add_argument("--show", action="store_true", help="print the first feed")
    args = parser.parse_args(argv)
    corpus = make_templated(args.feeds, args.items)
    print(
        f"{len(corpus.feeds)} feeds, {corpus.items} items, {corpus.total_words()} words",
        file=sys.stderr,
    )
    if args.show:
        sys.stdout.write(render_feed(corpus.feeds[0], corpus.now).decode())


if __name__ == "__main__":
    main()
