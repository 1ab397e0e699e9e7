"""`newsletter run` killed at many random points, then a clean run: nothing is lost.

Round after round a new story appears in the feed and a `run` starts in a child process
that SIGKILLs itself at a random SQL statement of the run (see `support.crash`): in the
ingest, the build, the writing of the delivery rows, or any step of any message's send.
After KILLS kills and one final clean run, what each reader received is counted
at a real SMTP server:

- every confirmed reader has exactly one copy of each digest that went out, except
  deliveries reported as uncertain (at most one copy: DATA ended when the run died);
- every uncertain delivery is named by the final run, which exits 4;
- every story is in exactly one digest that went out: none lost, none sent twice;
- the store passes SQLite's integrity check.

The seed is fixed, so the points are the same each run of the suite.
"""

from __future__ import annotations

import random
import re
import signal
from collections import Counter
from datetime import timedelta
from pathlib import Path

from support.crash import Crasher
from support.feedserver import FeedServer
from support.run import START, add_readers, rss, story_numbers
from support.smtp import SmtpServer

from newsletter.run.report import EXIT_DELIVERY, EXIT_OK
from newsletter.store import Store

SEED = 20260105
KILLS = 40
READERS = 8


def test_a_run_killed_at_40_random_points_loses_nothing(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    stories = [1, 2]
    with (
        FeedServer({"/a.xml": rss(stories)}) as feeds,
        SmtpServer() as smtp,
        Crasher(log=tmp_path / "crash.log") as crasher,
    ):
        setup = Store(tmp_path / "store.sqlite")
        emails = add_readers(setup, READERS)
        setup.close()
        url = feeds.url("/a.xml")
        when = START
        # a clean first run tells how many statements a run takes
        code, output = crasher.run(tmp_path, smtp.port, when.isoformat(), 0, url)
        assert code == EXIT_OK, output
        longest = int(output.rsplit("statements ", 1)[1])
        kills = rounds = 0
        while kills < KILLS:
            rounds += 1
            assert rounds < 3 * KILLS, f"only {kills} kills in {rounds} rounds"
            stories.append(stories[-1] + 1)  # news arrives between runs
            feeds.set("/a.xml", rss(stories))
            when += timedelta(minutes=15)
            kill_at = rng.randint(1, longest)
            code, output = crasher.run(tmp_path, smtp.port, when.isoformat(), kill_at, url)
            if code == -signal.SIGKILL:
                kills += 1
            else:  # the run ended before its point came: a longer run than seen so far
                assert code in (EXIT_OK, EXIT_DELIVERY), output
                longest = max(longest, int(output.rsplit("statements ", 1)[1]))

        when += timedelta(minutes=15)
        final_code, output = crasher.run(tmp_path, smtp.port, when.isoformat(), 0, url)

        store = Store(tmp_path / "store.sqlite")
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        sent = [d for d in store.list_digests("daily") if store.has_deliveries(d.id)]
        carried = {d.id: _stories_of(store, d.id) for d in sent}
        # no story lost, none in two digests that went out
        assert sorted(n for numbers in carried.values() for n in numbers) == stories
        for digest in sent:  # every digest that went out is finished
            counts = store.delivery_counts(digest.id)
            assert counts["pending"] == counts["sending"] == counts["data_sent"] == 0
            assert digest.sent_at is not None or store.get_digest(digest.id).sent_at

        uncertain = store.uncertain_deliveries("daily")
        # in doubt only where SMTP is: each of them had its DATA ended when the run died
        assert all(u.data_ended_at is not None for u in uncertain)
        doubtful = {(u.digest_id, u.email) for u in uncertain}
        named = set(re.findall(r"UNCERTAIN digest (\d+) to (\S+?):", output))
        assert {(int(d), e) for d, e in named} == doubtful  # each one named, no other
        assert final_code == (EXIT_DELIVERY if doubtful else EXIT_OK), output
        for email in emails:
            got = Counter(frozenset(story_numbers(raw)) for raw in smtp.messages.get(email, []))
            for digest_id, numbers in carried.items():
                copies = got.pop(frozenset(numbers), 0)
                if (digest_id, email) in doubtful:
                    assert copies <= 1, (email, digest_id)
                else:
                    assert copies == 1, (email, digest_id, copies)
            assert not got, f"{email} got messages of no digest: {got}"
        store.close()
    print(f"{kills} kills in {rounds} rounds; {len(sent)} digests; {len(doubtful)} uncertain")


def _stories_of(store: Store, digest_id: int) -> list[int]:
    """The story numbers a digest carried, from its items' links."""
    ids = [item_id for item_id, _ in store.digest_items(digest_id)]
    marks = ",".join("?" * len(ids))
    rows = store.db.execute(f"SELECT link FROM items WHERE id IN ({marks})", ids)
    return sorted(int(r[0].rsplit("/", 1)[1]) for r in rows)
