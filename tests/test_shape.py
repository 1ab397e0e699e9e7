"""The mail's shape: a lead story, a few stories per section, a newsletter's length; the rest
on the web copy (newsletter.render.shape)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from lxml import html as lxml_html
from support.inbox import big_digest, make_config, sample_digest

from newsletter.render.renderer import render_digest
from newsletter.render.shape import lead_place, plan_shape


def test_lead_is_the_story_most_feeds_carried() -> None:
    digest = sample_digest()
    s, j = lead_place(digest)
    lead = digest.sections[s].entries[j]
    assert len(lead.sources) == 2 and lead.item.image  # rain gauges: two feeds, an image


def test_places_go_to_sections_in_turns_within_the_caps() -> None:
    digest = big_digest(60)
    shape = plan_shape(digest, mail_items=10, per_section=3, lead=True)
    shown = [len(js) for js in shape.shown]
    assert sum(shown) + 1 == 10 and max(shown) <= 3
    assert max(shown) - min(shown) <= 1  # no section starves while another gets three
    unlimited = plan_shape(digest, mail_items=0, per_section=0, lead=False)
    assert sum(len(js) for js in unlimited.shown) == 60 and unlimited.lead is None


def test_default_mail_reads_like_a_newsletter(tmp_path: Path) -> None:
    config = make_config(tmp_path / "output")
    digest = big_digest(60)
    rendered = render_digest(digest, config)
    root = lxml_html.document_fromstring(rendered.html)
    titles = root.find_class("title-link")
    leads = root.find_class("lead-title")
    assert len(leads) == 1 and len(titles) + len(leads) == 10
    assert rendered.trimmed == 50 == rendered.data["trimmed"]
    # the lead comes before the table of contents and every section
    html = rendered.html
    assert html.index('class="lead-title"') < html.index('class="toc-title"')
    # every section with stories left out links to them on the web copy, with the count
    more = [a for a in root.iter("a") if re.match(r"\d+ more in ", a.text_content())]
    counted = sum(int(a.text_content().split()[0]) for a in more)
    whole = [a for a in root.iter("a") if re.match(r"\d+ more stor", a.text_content())]
    counted += sum(int(a.text_content().split()[0]) for a in whole)
    assert counted == 50
    assert all("/archive/daily/" in a.get("href") for a in more + whole)
    # the web copy has all 60, the lead first; digest.json marks both
    web = lxml_html.document_fromstring(rendered.web_html)
    assert len(web.find_class("title-link")) + len(web.find_class("lead-title")) == 60
    items = [i for s in rendered.data["sections"] for i in s["items"]]
    assert sum(i["lead"] for i in items) == 1 and sum(i["in_mail"] for i in items) == 10
    # the text part carries the same ten stories
    assert rendered.text.count("Read more: https://") == 10
    assert rendered.text.index("TOP STORY") < rendered.text.index("In this issue")


def test_the_shape_is_the_editors_choice(tmp_path: Path) -> None:
    digest = big_digest(60)
    assert len(digest.sections) > 3
    config = make_config(tmp_path / "output", mail_items=3, per_section=1, lead=False)
    rendered = render_digest(digest, config)
    root = lxml_html.document_fromstring(rendered.html)
    assert not root.find_class("lead-title") and len(root.find_class("title-link")) == 3
    assert len(root.find_class("section-title")) == 3  # one story in each of three sections
    left_out = sum(len(s.entries) for s in digest.sections[3:])
    assert f"{left_out} more stories in " in root.text_content()  # the rest, linked


def test_a_lead_without_image_still_leads(tmp_path: Path) -> None:
    digest = sample_digest()
    plain = tuple(
        dataclasses.replace(
            s,
            entries=tuple(
                dataclasses.replace(e, item=dataclasses.replace(e.item, image=""))
                for e in s.entries
            ),
        )
        for s in digest.sections
    )
    rendered = render_digest(dataclasses.replace(digest, sections=plain), make_config(tmp_path))
    root = lxml_html.document_fromstring(rendered.html)
    assert len(root.find_class("lead-title")) == 1 and not root.find_class("lead-image")
