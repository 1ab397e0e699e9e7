"""Parsing feeds on more than one core.

Parsing and normalizing a feed is pure CPU work (feedparser, lxml, nh3 and the text
clean-up), and threads cannot share it. A build of many changed feeds hands some of them
to a worker process while the calling thread parses others, so a cold build of a hundred
feeds uses two cores. A worker starts only once a body is there to parse (a build whose
feeds all answer 304 starts none: starting one with the requests cost such a build more
than it saved one with news) and only for builds of several feeds. Jobs go to it only
once it is ready (its start-up, the parser's imports included, costs ~0.3 s): until then
the caller parses everything itself, so a handful of changed feeds never waits on a worker
that is still starting.

The worker is a child process of `newsletter.children` (a command of its own, not a fork:
the fetch threads run). Messages it logs are replayed in the calling process, so `-v`
shows them as before.

If the worker dies (a parser crash on hostile input, the OOM killer), the feeds it had are
parsed again in the calling process and no worker is used for the rest of the build: a
worker only ever makes a build faster, never different.
"""

from __future__ import annotations

import importlib
import logging
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    import subprocess

logger = logging.getLogger(__name__)

K = TypeVar("K")
V = TypeVar("V")

# One worker beside the calling thread on a machine of two cores or more: the caller
# parses while the worker does, and a build never holds more than two parsers' memory.
WORKERS = 1 if (os.cpu_count() or 1) > 1 else 0
MIN_JOBS = 4  # fewer feeds than this are parsed where they arrive: a worker costs ~0.3 s
IN_FLIGHT = 2  # jobs sent ahead, so the worker never waits for the next one
_DIED = object()  # what the reader thread reports when the worker's output ends
_WARM_UP = 0  # the job number of the first job: imports, then says the worker is ready


def warm_up(module: str) -> bool:
    """A worker's first job: load what its jobs will need."""
    importlib.import_module(module)
    return True


class ParsePool(Generic[K, V]):
    """Runs `fn(*args)` (a module-level function) in the worker when it has room, else
    says so (`has_room`) and the caller runs it itself. Results come back with their key.

    with ParsePool(jobs=len(feeds)) as pool:
        for key, args in work:
            if pool.has_room():
                pool.submit(key, fn, *args)
            else:
                handle(key, fn(*args))
            for key, value in pool.finished():
                handle(key, value)
        for key, value in pool.rest():
            handle(key, value)
    """

    def __init__(self, jobs: int, workers: int | None = None, preload: str = "") -> None:
        """`preload`: a module the worker imports before it takes jobs."""
        workers = WORKERS if workers is None else workers
        self._preload = preload
        self._ready = threading.Event()
        # no interpreter to start (Python embedded in another program): parse here
        self.enabled = workers > 0 and jobs >= MIN_JOBS and bool(sys.executable)
        self._worker: subprocess.Popen[bytes] | None = None
        self._outbox: queue.Queue[tuple[int, Callable[..., Any], tuple[Any, ...]] | None]
        self._outbox = queue.Queue()
        self._inbox: queue.Queue[Any] = queue.Queue()
        self._pending: dict[int, tuple[K, Callable[..., V], tuple[Any, ...]]] = {}
        self._next_id = 0
        self._broken = False

    def has_room(self) -> bool:
        """Whether a job sent now would go to the worker (started here, the first time)."""
        if not self.enabled or self._broken:
            return False
        if self._worker is None:
            try:
                self._start()
            except OSError as e:  # no process to be had (limits): parse here, as before
                logger.warning("cannot start a parser process (%s); parsing in this one", e)
                self._broken = True
                return False
        return self._ready.is_set() and len(self._pending) < IN_FLIGHT

    @property
    def started(self) -> bool:
        """Whether a worker process was started (it is not for a few feeds, or none new)."""
        return self._worker is not None or self._broken

    def submit(self, key: K, fn: Callable[..., V], *args: Any) -> None:
        """Send a job to the worker; only after `has_room` said yes."""
        self._next_id += 1
        self._pending[self._next_id] = (key, fn, args)
        self._outbox.put((self._next_id, fn, args))

    def finished(self, block: bool = False) -> Iterator[tuple[K, V]]:
        """Results that are ready (with `block`, waiting for at least one)."""
        while self._pending:
            try:
                message = self._inbox.get(block=block)
            except queue.Empty:
                return
            block = False
            if message is _DIED:
                yield from self._parse_here()
                return
            job, value, records = message
            key, _, _ = self._pending.pop(job)
            from newsletter.children import replay

            replay(records)
            yield key, value

    def rest(self) -> Iterator[tuple[K, V]]:
        """Every result still to come, as each is ready."""
        while self._pending:
            yield from self.finished(block=True)

    def _parse_here(self) -> Iterator[tuple[K, V]]:
        """The worker died: do its jobs here, and give it no more."""
        if not self._broken:
            logger.warning("the parser process died; parsing the rest in this process")
        self._broken = True
        while self._pending:
            _, (key, fn, args) = self._pending.popitem()
            yield key, fn(*args)

    def _start(self) -> None:
        # `newsletter.children` (pickle, subprocess) loads with the first worker: a build
        # whose feeds brought nothing starts none, and spent ~4 ms importing it
        from newsletter.children import start_child

        self._worker = start_child()
        assert self._worker.stdin is not None and self._worker.stdout is not None
        # threads do the pipe work, so neither side ever blocks the other on a full pipe
        for target, pipe in (
            (self._write, self._worker.stdin),
            (self._read, self._worker.stdout),
        ):
            threading.Thread(target=target, args=(pipe,), daemon=True).start()
        self._outbox.put((_WARM_UP, warm_up, (self._preload or __name__,)))

    def _write(self, pipe: IO[bytes]) -> None:
        from newsletter.children import send_job

        try:
            while (job := self._outbox.get()) is not None:
                send_job(pipe, *job)
        except (OSError, ValueError):
            pass  # the worker is gone: the reader reports it
        finally:
            try:
                pipe.close()
            except OSError:
                pass

    def _read(self, pipe: IO[bytes]) -> None:
        from newsletter.children import read_result

        try:
            while True:
                result = read_result(pipe)
                if result[0] == _WARM_UP:
                    self._ready.set()
                else:
                    self._inbox.put(result)
        except Exception:  # EOF, a cut-off result: either way the worker is gone
            self._inbox.put(_DIED)

    def close(self) -> None:
        if self._worker is None:
            return
        self._outbox.put(None)  # the worker ends when its input does
        if not self._pending:
            # Every result is in (or no job was sent): its exit, the interpreter's teardown,
            # is not worth waiting for (~30 ms).
            self._worker.kill()
        from subprocess import TimeoutExpired

        try:
            self._worker.wait(timeout=10)
        except TimeoutExpired:
            self._worker.kill()
            self._worker.wait()
        self._worker = None

    def __enter__(self) -> ParsePool[K, V]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None and self._worker is not None:
            self._worker.kill()  # a build that failed does not wait for its parses
        self.close()
