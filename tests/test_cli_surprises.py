"""The command line does what it says: dry runs never connect, stores never mix, counts
agree between commands, and an empty list says so.

Real parts only: the bundled seed feeds, SQLite files, and a TCP listener on 127.0.0.1
that records every connection a dry run might (wrongly) open.
"""

from __future__ import annotations

import itertools
import re
import socket
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsletter.cli import cli
from newsletter.config import BUNDLED_SEEDS
from newsletter.store import Store

SECRET = "test-secret-key-0123456789abcdefghij"
SEED = BUNDLED_SEEDS / "harbour-daily.xml"
ENV = {"NEWSLETTER_SECRET_KEY": SECRET}


class Listener:
    """A TCP socket on 127.0.0.1 that accepts and counts every connection attempt."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound once, then released)."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return sock.getsockname()[1]


def write_config(
    path: Path, port: int, feeds: tuple[str, ...] = (str(SEED),), extra="", language="en"
):
    feed_tables = "".join(f'[[feeds]]\nurl = "{url}"\n' for url in feeds)
    path.write_text(
        f"""[site]
name = "Example News"
url = "https://news.example.org"
language = "{language}"

[list]
name = "daily"
from = "Example News <digest@news.example.org>"

{feed_tables}
[smtp]
host = "127.0.0.1"
port = {port}
security = "none"
{extra}""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    for name in ("NEWSLETTER_SECRET_KEY", "NEWSLETTER_CONFIG", "NEWSLETTER_SMTP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def invoke(runner: CliRunner, *args: str):
    return runner.invoke(cli, list(args), env=ENV)


# -- 1. a dry run never opens an SMTP connection ------------------------------------------
DRY_RUN_FLAGS = [
    [*to, *digest, *resend, *retry, *lst]
    for to, digest, resend, retry, lst in itertools.product(
        ([], ["--to", "me@example.org"]),
        ([], ["--digest", "latest"], ["--digest", "1"]),
        ([], ["--resend-uncertain"]),
        ([], ["--retry-failed"]),
        ([], ["--list", "daily"]),
    )
]


def test_no_dry_run_combination_connects_to_smtp(runner, tmp_path):
    listener = Listener()
    try:
        write_config(tmp_path / "newsletter.toml", listener.port)
        assert invoke(runner, "build").exit_code == 0
        added = invoke(runner, "subscribers", "add", "ada@example.org", "--status", "confirmed")
        assert added.exit_code == 0
        for flags in DRY_RUN_FLAGS:
            result = invoke(runner, "send", "--dry-run", *flags)
            if "--to" in flags and ("--resend-uncertain" in flags or "--retry-failed" in flags):
                assert result.exit_code == 2 and "use them without --to" in result.output
                continue
            assert result.exit_code == 0, (flags, result.output)
            assert result.output.startswith("dry run: wrote"), (flags, result.output)
        # with the delivery rows already written (an interrupted send) as well
        with Store(tmp_path / "newsletter.sqlite") as store:
            store.create_deliveries(1)
        for flags in DRY_RUN_FLAGS:
            result = invoke(runner, "send", "--dry-run", *flags)
            assert result.exit_code in (0, 2), (flags, result.output)
        assert listener.connections == 0
        # and with nothing listening at all, nothing fails for want of a server
        write_config(tmp_path / "newsletter.toml", closed_port())
        for flags in DRY_RUN_FLAGS:
            result = invoke(runner, "send", "--dry-run", *flags)
            assert result.exit_code in (0, 2), (flags, result.output)
            assert "cannot connect" not in result.output
    finally:
        listener.close()
    # the control: the same listener does see a real send's connection
    probe = Listener()
    try:
        write_config(tmp_path / "newsletter.toml", probe.port)
        real = invoke(runner, "send", "--to", "me@example.org")
        assert real.exit_code != 0 and probe.connections >= 1
    finally:
        probe.close()


def test_dry_run_with_to_writes_that_one_message(runner, tmp_path):
    write_config(tmp_path / "newsletter.toml", closed_port())
    assert invoke(runner, "build").exit_code == 0
    result = invoke(runner, "send", "--dry-run", "--to", "Me@Example.org")
    assert result.exit_code == 0, result.output
    assert "for Me@Example.org" in result.output and "nothing sent" in result.output
    [eml] = (tmp_path / "output" / "daily").glob("*/dry-run/*.eml")
    assert eml.name.endswith("me@example.org.eml")
    data = eml.read_bytes()
    assert re.search(rb"(?m)^To: me@example\.org\r$", data)
    assert b"List-Unsubscribe: <https://news.example.org/" in data
    # nothing was recorded: no delivery rows, the digest still unsent
    with Store(tmp_path / "newsletter.sqlite") as store:
        assert store.deliveries(1) == []
        assert store.get_digest(1).sent_at is None
    # a digest whose deliveries are all done says why a dry run writes nothing
    invoke(runner, "subscribers", "add", "ada@example.org", "--status", "confirmed")
    with Store(tmp_path / "newsletter.sqlite") as store:
        store.create_deliveries(1)
        store.db.execute("UPDATE deliveries SET status = 'sent'")
    done = invoke(runner, "send", "--dry-run", "--digest", "1")
    assert done.exit_code == 0 and "wrote 0 messages" in done.output
    assert "no delivery left to send" in done.output and "deliveries --digest 1" in done.output
    # --to with a flag that acts on the list's deliveries is refused, not ignored
    mixed = invoke(runner, "send", "--to", "me@example.org", "--retry-failed")
    assert mixed.exit_code == 2 and "without --to" in mixed.output


# -- 3. an empty list says so ---------------------------------------------------------------
def test_send_to_an_empty_list_says_so_and_names_the_fixes(runner, tmp_path):
    write_config(tmp_path / "newsletter.toml", closed_port())
    assert invoke(runner, "build").exit_code == 0
    for args in (["--dry-run"], []):
        result = invoke(runner, "send", *args)
        assert result.exit_code == 1, result.output
        assert "list 'daily' has no confirmed subscribers" in result.output
        assert "--to you@example.org" in result.output
        assert "subscribers add" in result.output and "subscribers import" in result.output
    assert "cannot connect" not in result.output
    # the real send refused before touching anything: the digest is still to be sent
    listing = invoke(runner, "digests").output.splitlines()
    assert listing[1].split("\t")[2] == "not sent"


# -- 2. stores belong to their config ------------------------------------------------------
def test_configs_in_one_folder_never_share_a_store(runner, tmp_path):
    write_config(tmp_path / "tech.toml", closed_port())
    write_config(tmp_path / "gone.toml", closed_port(), feeds=(str(tmp_path / "missing.xml"),))
    built = invoke(runner, "build", "-c", "tech.toml")
    assert built.exit_code == 0, built.output
    folder = built.output.strip().split(" -> ")[-1].removesuffix("/digest.html")

    failed = invoke(runner, "build", "-c", "gone.toml")
    assert failed.exit_code == 5, failed.output  # every feed failed: run's code
    assert "every feed failed (1 of 1" in failed.output
    assert "up to date" not in failed.output and folder not in failed.output
    assert (tmp_path / "tech.sqlite").is_file() and (tmp_path / "gone.sqlite").is_file()
    assert not (tmp_path / "data").exists()
    empty = invoke(runner, "digests", "-c", "gone.toml")
    assert "list 'daily' has no digest yet" in empty.output
    assert "`newsletter -c gone.toml build`" in empty.output  # hints keep the config
    assert folder in invoke(runner, "digests", "-c", "tech.toml").output


def test_every_feed_failed_never_reuses_the_lists_digest(runner, tmp_path):
    feed = tmp_path / "feed.xml"
    feed.write_bytes(SEED.read_bytes())
    write_config(tmp_path / "newsletter.toml", closed_port(), feeds=(str(feed),))
    assert invoke(runner, "build").exit_code == 0
    feed.unlink()
    again = invoke(runner, "build")
    assert again.exit_code == 5, again.output
    assert "up to date" not in again.output and "--force builds" in again.output
    # --force is not ignored: it builds from what the store holds, and says feeds failed
    forced = invoke(runner, "build", "--force")
    assert forced.exit_code == 3, forced.output
    assert re.match(r"\d+ stories from 1 feed \(1 failed: ", forced.output), forced.output


def test_send_refuses_a_digest_of_another_list(runner, tmp_path):
    write_config(
        tmp_path / "newsletter.toml",
        closed_port(),
        extra='[[lists]]\nname = "weekly"\nfrom = "N <n@news.example.org>"\n',
    )
    text = (tmp_path / "newsletter.toml").read_text(encoding="utf-8")
    text = text.replace("[list]\n", "[[lists]]\n")
    (tmp_path / "newsletter.toml").write_text(text, encoding="utf-8")
    assert invoke(runner, "build", "--list", "weekly").exit_code == 0
    result = invoke(runner, "send", "--dry-run", "--list", "daily", "--digest", "1")
    assert result.exit_code == 1, result.output
    assert "digest 1 is of list 'weekly', not 'daily'; pass --list weekly" in result.output


def test_feed_and_no_config_builds_keep_their_store_in_the_output_folder(runner, tmp_path):
    write_config(tmp_path / "newsletter.toml", closed_port())
    quick = invoke(runner, "build", "--feed", str(SEED), "--output", "try")
    assert quick.exit_code == 0, quick.output
    assert (tmp_path / "try" / ".newsletter" / "newsletter.sqlite").is_file()
    assert not (tmp_path / "newsletter.sqlite").exists()  # the list's store is untouched
    (tmp_path / "newsletter.toml").unlink()
    sample = invoke(runner, "build")
    assert sample.exit_code == 0, sample.output
    assert (tmp_path / "output" / ".newsletter" / "newsletter.sqlite").is_file()
    assert not (tmp_path / "data").exists()


def _legacy_store(tmp_path: Path, list_name: str = "daily") -> Path:
    path = tmp_path / "data" / "newsletter.sqlite"
    with Store(path) as store:
        store.add_subscriber(list_name, "ada@example.org", "Ada", "confirmed")
    return path


def test_an_upgrade_keeps_using_the_old_store_of_its_list(runner, tmp_path):
    _legacy_store(tmp_path)
    write_config(tmp_path / "newsletter.toml", closed_port())
    count = invoke(runner, "subscribers", "count")
    assert count.output.startswith("1 subscriber: 0 pending, 1 confirmed"), count.output
    assert not (tmp_path / "newsletter.sqlite").exists()


def test_an_old_store_two_configs_could_own_stops_with_the_fix(runner, tmp_path):
    _legacy_store(tmp_path)
    write_config(tmp_path / "newsletter.toml", closed_port())
    write_config(tmp_path / "other.toml", closed_port())
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
    result = invoke(runner, "subscribers", "count")
    assert result.exit_code == 2, result.output
    assert "other.toml" in result.output and "newsletter.toml" in result.output
    assert 'Add [store] path = "data/newsletter.sqlite"' in result.output
    assert "pyproject" not in result.output
    assert not (tmp_path / "newsletter.sqlite").exists()  # no empty store started
    # once the owner says so, the other config gets a store of its own
    write_config(
        tmp_path / "other.toml", closed_port(), extra='[store]\npath = "data/newsletter.sqlite"\n'
    )
    assert "1 confirmed" in invoke(runner, "subscribers", "count", "-c", "other.toml").output
    mine = invoke(runner, "subscribers", "count")
    assert mine.output.startswith("0 subscribers"), mine.output
    assert (tmp_path / "newsletter.sqlite").is_file()


def test_an_old_store_of_another_list_is_left_alone(runner, tmp_path):
    _legacy_store(tmp_path, "weekly")
    write_config(tmp_path / "newsletter.toml", closed_port())
    assert invoke(runner, "subscribers", "count").output.startswith("0 subscribers")
    assert (tmp_path / "newsletter.sqlite").is_file()


# -- 4. digests: a header row, and stories counted as build counts them ---------------------
def test_digests_has_a_header_and_counts_stories_like_build(runner, tmp_path):
    built = invoke(runner, "build")  # the bundled seeds carry duplicates across feeds
    assert built.exit_code == 0, built.output
    stories = int(re.match(r"(\d+) stories from", built.output)[1])
    listing = invoke(runner, "digests")
    assert listing.exit_code == 0
    header, row = listing.output.splitlines()
    assert header.split("\t") == ["id", "built", "sent", "stories", "folder"]
    assert int(row.split("\t")[3]) == stories
    with Store(tmp_path / "output" / ".newsletter" / "newsletter.sqlite") as store:
        record = store.get_digest(1)
    # the count the old listing showed (items, merged duplicates included) differs
    assert record.item_count > record.story_count == stories


def test_digests_built_before_the_story_count_read_it_from_digest_json(runner, tmp_path):
    built = invoke(runner, "build")
    stories = int(re.match(r"(\d+) stories from", built.output)[1])
    with Store(tmp_path / "output" / ".newsletter" / "newsletter.sqlite") as store:
        store.db.execute("UPDATE digests SET story_count = NULL")
    row = invoke(runner, "digests").output.splitlines()[1]
    assert int(row.split("\t")[3]) == stories


# -- 6. the subject follows the site's language ----------------------------------------------
def test_a_german_site_sends_a_german_subject_that_fits(runner, tmp_path):
    from email import message_from_bytes, policy

    write_config(tmp_path / "newsletter.toml", closed_port(), language="de")
    assert invoke(runner, "build").exit_code == 0
    assert invoke(runner, "send", "--dry-run", "--to", "me@example.org").exit_code == 0
    [eml] = (tmp_path / "output" / "daily").glob("*/dry-run/*.eml")
    subject = message_from_bytes(eml.read_bytes(), policy=policy.default)["Subject"]
    assert re.search(r" und \d+ weitere \(\d+\. \w+\.?\)$", subject), subject
    assert " more " not in subject and len(subject) <= 70


# -- the pass over every command: an unknown --list is a usage error everywhere -------------
@pytest.mark.parametrize(
    "command",
    [
        ["build"],
        ["send", "--dry-run"],
        ["digests"],
        ["deliveries"],
        ["preview", "--no-browser"],
        ["subscribers", "list"],
        ["subscribers", "add", "a@example.org"],
        ["run"],
    ],
)
def test_an_unknown_list_is_named_by_every_command(runner, command):
    result = invoke(runner, *command, "--list", "nope")
    assert result.exit_code == 2, result.output
    assert "no list named 'nope'; the config defines: digest" in result.output


def test_init_creates_the_folder_it_writes_into(runner, tmp_path):
    result = invoke(runner, "init", "--path", "site/news.toml")
    assert result.exit_code == 0, result.output
    assert "newsletter -c site/news.toml build" in result.output
    assert (tmp_path / "site" / "news.toml").is_file()


def test_the_cli_reads_newsletter_config_like_the_web_app(runner, tmp_path):
    elsewhere = tmp_path / "srv"
    elsewhere.mkdir()
    write_config(elsewhere / "news.toml", closed_port())
    (tmp_path / "work").mkdir()
    env = {**ENV, "NEWSLETTER_CONFIG": str(elsewhere / "news.toml")}
    added = runner.invoke(
        cli, ["subscribers", "add", "ada@example.org", "--status", "confirmed"], env=env
    )
    assert added.exit_code == 0 and "to daily" in added.output, added.output
    assert "note: no config" not in added.output
    assert (elsewhere / "news.sqlite").is_file()


def test_changing_the_sample_list_says_so(runner, tmp_path):
    added = invoke(runner, "subscribers", "add", "ada@example.org")
    assert added.exit_code == 0
    assert "note: no config (-c, $NEWSLETTER_CONFIG or ./newsletter.toml)" in added.output
    assert "output/.newsletter/newsletter.sqlite" in added.output
    assert "newsletter init" in added.output
    quiet = invoke(runner, "-q", "subscribers", "add", "bob@example.org")
    assert "note:" not in quiet.output


def test_configs_sharing_a_store_by_name_never_pass_off_each_others_digest(runner, tmp_path):
    # two configs as older `newsletter init` wrote them: one explicit shared store path
    shared = '[store]\npath = "data/newsletter.sqlite"\n'
    other_feed = BUNDLED_SEEDS / "northlight.xml"
    write_config(tmp_path / "a.toml", closed_port(), extra=shared)
    write_config(tmp_path / "b.toml", closed_port(), feeds=(str(other_feed),), extra=shared)
    first_b = invoke(runner, "build", "-c", "b.toml")
    assert first_b.exit_code == 0, first_b.output
    assert "a.toml" in first_b.output and "mix" in first_b.output  # the warning names both
    a_built = invoke(runner, "build", "-c", "a.toml")
    a_folder = a_built.output.strip().split(" -> ")[-1]
    again_b = invoke(runner, "build", "-c", "b.toml")
    assert again_b.exit_code == 0, again_b.output
    assert "up to date" not in again_b.output and a_folder not in again_b.output
    assert re.search(r"\d+ stories from 1 feed in", again_b.output), again_b.output


# -- the run lock: builds wait their turn ------------------
def _lock_of(config_file: Path) -> Path:
    from newsletter.config import load_config
    from newsletter.run.runner import lock_path
    from newsletter.store.location import settle_store

    return lock_path(settle_store(load_config(config_file)))


def test_two_builds_of_one_config_at_once_record_one_digest(tmp_path):
    """The second build waits for the first's lock, then finds its digest up to date,
    instead of recording a second unsent digest of the same stories."""
    import subprocess
    import sys

    from newsletter import cli as cli_module
    from newsletter.run.lock import RunLock
    from newsletter.run.report import EXIT_LOCKED

    config = write_config(tmp_path / "tech.toml", closed_port())
    first = RunLock(_lock_of(config), command="build")
    first.acquire()  # the first build has the lock...
    second = subprocess.Popen(
        [sys.executable, "-m", "newsletter", "-c", "tech.toml", "build"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        waiting = second.stderr.readline()  # ...the second says it waits for it
        assert waiting.startswith("waiting for `newsletter build` (pid"), waiting
        first.release()
        built = CliRunner().invoke(cli, ["-c", str(config), "build"], env=ENV)
        out, err = second.communicate(timeout=120)
    finally:
        if second.poll() is None:
            second.kill()
    assert built.exit_code == 0 and " -> " in built.output, built.output
    assert second.returncode == 0, err
    # whichever got the lock first built; the other found that digest up to date
    assert "is up to date" in out + built.output
    with Store(tmp_path / "tech.sqlite") as store:
        assert len(store.list_digests("daily")) == 1
    assert cli_module.EXIT_LOCKED == EXIT_LOCKED
