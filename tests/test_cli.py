"""The command line, driven through click's runner and, once, as a real subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from newsletter.cli import cli
from newsletter.config import BUNDLED_SEEDS, check_secret


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEWSLETTER_SECRET_KEY", raising=False)
    return CliRunner()


def test_build_sample_digest(runner, tmp_path):
    result = runner.invoke(cli, ["build"])
    assert result.exit_code == 0, result.output
    line = result.output.strip().splitlines()[-1]
    m = re.match(r"(\d+) stories from (\d+) feeds in (\d+) sections -> (\S+)/digest\.html$", line)
    assert m, line
    assert int(m[2]) == len(list(BUNDLED_SEEDS.glob("*.xml")))
    assert int(m[3]) >= 4
    folder = tmp_path / m[4]
    data = json.loads((folder / "digest.json").read_text(encoding="utf-8"))
    items = [i for s in data["sections"] for i in s["items"]]
    assert len(items) == int(m[1])
    assert all(i["summary"] and i["title"] and i["link"] for i in items)
    seed = [i for i in items if "Ceasefire" in i["title"]]
    assert len(seed) == 1
    assert "Subscribe to get the latest posts" not in seed[0]["summary"]
    assert "Discover more from" not in seed[0]["summary"]
    assert (tmp_path / "output" / "latest.html").is_file()
    assert (tmp_path / "output" / "index.html").is_file()
    marker = data["placeholders"]["unsubscribe_url"]
    assert marker.startswith("%%UNSUBSCRIBE_URL_")
    assert marker in (folder / "digest.html").read_text(encoding="utf-8")
    assert "%%" not in (tmp_path / "output" / "latest.html").read_text(encoding="utf-8")


def test_second_build_summarizes_nothing_new(runner, tmp_path):
    from newsletter.config import default_config
    from newsletter.run.digest import build as build_digest
    from newsletter.store import Store

    config = default_config(tmp_path)
    store = Store(config.store_path)
    _, first = build_digest(config, store)
    _, second = build_digest(config, store, force=True)
    assert first.plan.summarized > 0
    assert second.plan.summarized == 0
    assert second.plan.cached == first.plan.summarized + first.plan.cached


def test_unchanged_build_reuses_the_unsent_digest(runner, tmp_path):
    first = runner.invoke(cli, ["build"])
    again = runner.invoke(cli, ["build"])
    assert again.exit_code == 0
    assert "is up to date" in again.output and "--force" in again.output
    folder = first.output.strip().split(" -> ")[-1]
    assert folder in again.output
    forced = runner.invoke(cli, ["build", "--force"])
    assert "sections ->" in forced.output and folder not in forced.output


def test_build_reports_a_broken_feed_and_still_builds(runner, tmp_path):
    broken = tmp_path / "broken.xml"
    broken.write_text("<html><body>not a feed</body></html>", encoding="utf-8")
    good = next(BUNDLED_SEEDS.glob("*.xml"))
    result = runner.invoke(cli, ["build", "--feed", str(good), "--feed", str(broken)])
    assert result.exit_code == 3, result.output  # run's code: some feeds failed
    assert "1 failed: " in result.output
    assert str(broken) in result.output


def test_build_with_only_broken_feeds_exits_5(runner, tmp_path):
    broken = tmp_path / "empty.xml"
    broken.write_text("", encoding="utf-8")
    result = runner.invoke(cli, ["build", "--feed", str(broken)])
    assert result.exit_code == 5  # run's code: every feed failed, nothing done
    assert "no digest: every feed failed (1 of 1; first: " in result.output
    assert "newsletter feeds -v" in result.output


def test_config_errors_exit_2_and_name_the_key(runner, tmp_path):
    (tmp_path / "bad.toml").write_text("[fetch]\nconcurency = 3\n", encoding="utf-8")
    result = runner.invoke(cli, ["build", "-c", "bad.toml"])
    assert result.exit_code == 2
    assert "fetch.concurency" in result.output
    result = runner.invoke(cli, ["build", "-c", "missing.toml"])
    assert result.exit_code == 2
    assert "newsletter init" in result.output
    (tmp_path / "type.toml").write_text('[summary]\nmax_words = "fifty"\n', encoding="utf-8")
    result = runner.invoke(cli, ["build", "-c", "type.toml"])
    assert result.exit_code == 2
    assert "summary.max_words must be an integer" in result.output


def test_init_writes_a_loadable_config_and_refuses_to_overwrite(runner, tmp_path):
    first = runner.invoke(cli, ["init"])
    assert first.exit_code == 0
    assert (tmp_path / "newsletter.toml").is_file()
    # it offers a fresh key that the key check accepts, different every time
    keys = re.findall(r"export NEWSLETTER_SECRET_KEY=([\w-]+)\n", first.output)
    assert len(keys) == 1 and check_secret(keys[0]) == keys[0]
    other = runner.invoke(cli, ["init", "--path", "other.toml"]).output
    assert keys[0] not in other
    again = runner.invoke(cli, ["init"])
    assert again.exit_code == 2 and "--force" in again.output


def test_subscribers_commands(runner, tmp_path):
    assert (
        runner.invoke(
            cli, ["subscribers", "add", "Ada@Example.org", "--status", "confirmed"]
        ).exit_code
        == 0
    )
    bad = runner.invoke(cli, ["subscribers", "add", "not-an-address"])
    assert bad.exit_code == 1 and "not a valid email" in bad.output
    csv_in = tmp_path / "in.csv"
    csv_in.write_text(
        "email,name,status\nb@example.org,B,\nc@example.org,C,pending\nnope,N,\n", encoding="utf-8"
    )
    imported = runner.invoke(cli, ["subscribers", "import", str(csv_in), "--status", "confirmed"])
    assert imported.exit_code == 0
    assert "added 2" in imported.output and "nope" in imported.output
    count = runner.invoke(cli, ["subscribers", "count"])
    assert "3 subscribers: 1 pending, 2 confirmed" in count.output
    exported = runner.invoke(cli, ["subscribers", "export"])
    assert exported.output.splitlines()[0].startswith("email,name")
    assert "ada@example.org" in exported.output
    assert runner.invoke(cli, ["subscribers", "remove", "c@example.org"]).exit_code == 0
    assert "c@example.org" not in runner.invoke(cli, ["subscribers", "list"]).output


def test_import_keeps_every_opt_out_and_names_each_row(runner, tmp_path):
    for email, status in (("left@example.org", "unsubscribed"), ("dead@example.org", "bounced")):
        added = runner.invoke(cli, ["subscribers", "add", email, "--status", status])
        assert added.exit_code == 0
    csv_in = tmp_path / "in.csv"
    csv_in.write_text(
        "email,name,status\nleft@example.org,L,\ndead@example.org,D,confirmed\n"
        "new@example.org,N,\n",
        encoding="utf-8",
    )
    imported = runner.invoke(cli, ["subscribers", "import", str(csv_in), "--status", "confirmed"])
    assert imported.exit_code == 0
    assert "line 2: left@example.org stays unsubscribed" in imported.output
    assert "line 3: dead@example.org stays bounced" in imported.output
    assert "2 unsubscribed or bounced addresses kept out" in imported.output
    listed = runner.invoke(cli, ["subscribers", "list", "--status", "confirmed"]).output
    assert "new@example.org" in listed and "left@" not in listed and "dead@" not in listed


def test_send_without_secret_names_the_variable(runner):
    assert runner.invoke(cli, ["build"]).exit_code == 0
    result = runner.invoke(cli, ["send"])
    assert result.exit_code == 2
    assert "NEWSLETTER_SECRET_KEY" in result.output


@pytest.mark.parametrize("command", [["send", "--dry-run"], ["run"], ["serve"]])
def test_a_short_secret_key_stops_every_command_that_signs(runner, monkeypatch, command):
    assert runner.invoke(cli, ["build"]).exit_code == 0
    monkeypatch.setenv("NEWSLETTER_SECRET_KEY", "hunter2")
    result = runner.invoke(cli, command)
    assert result.exit_code == 2, result.output
    assert "too short (7 bytes; at least 32)" in result.output


def _commands(group: click.Group, prefix: str = ""):
    for name, command in sorted(group.commands.items()):
        yield prefix + name, command
        if isinstance(command, click.Group):
            yield from _commands(command, prefix + name + " ")


def test_every_command_is_documented_with_an_example():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for name, command in _commands(cli):
        assert command.help and "Example" in command.help, f"`{name}` --help has no example"
        top = name.split()[0]
        assert f"newsletter {top}" in readme, f"README does not mention `newsletter {top}`"


def _newsletter_in(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m newsletter ARGS` run in `folder`, as from a fresh shell there."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    return subprocess.run(
        [sys.executable, "-m", "newsletter", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_build_leaves_its_store_whole_in_the_database_file(tmp_path):
    """The command closes the store: what it wrote is in the .sqlite file itself, not
    left in a write-ahead log that a copy of the file alone would miss."""
    import sqlite3

    built = _newsletter_in(tmp_path, "build")
    assert built.returncode == 0, built.stderr
    stores = list(tmp_path.rglob("*.sqlite"))
    assert len(stores) == 1 and not list(tmp_path.rglob("*.sqlite-wal"))
    copy = tmp_path / "copy.db"
    copy.write_bytes(stores[0].read_bytes())
    with sqlite3.connect(copy) as db:
        (items,) = db.execute("SELECT COUNT(*) FROM items").fetchone()
        (digests,) = db.execute("SELECT COUNT(*) FROM digests").fetchone()
    assert items > 0 and digests == 1


def test_python_m_newsletter_runs_in_a_fresh_folder(tmp_path):
    result = _newsletter_in(tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    assert "build" in result.stdout and "subscribers" in result.stdout


REAL_WORLD = (
    Path(__file__).resolve().parents[2] / "shared" / "datasets" / "feeds_real_world" / "files"
)


@pytest.mark.skipif(not REAL_WORLD.is_dir(), reason="needs ../shared/datasets beside the repo")
def test_every_real_world_feed_builds_without_a_traceback(runner):
    files = sorted(p for p in REAL_WORLD.rglob("*") if p.is_file())
    assert len(files) > 200
    args = ["build", "--max-items", "80"]
    for path in files:
        args += ["--feed", str(path)]
    result = runner.invoke(cli, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 3, result.output  # some of them are broken on purpose
    assert "Traceback" not in result.output
    line = result.output.strip().splitlines()[-1]
    m = re.match(rf"(\d+) stories from {len(files)} feeds \((\d+) failed: ", line)
    assert m, line
    assert int(m[1]) == 80
