"""The web app's own messages (confirm, welcome, manage link) and a background sender.

Each message is a template pair, `mail/<kind>.txt` and `mail/<kind>.html`, overridable like
the digest templates. The text template sets the subject with
`{% set subject = "..." %}`; the HTML one gets its <style> inlined. Messages are small and
rare, so they are built with the stdlib's EmailMessage (unlike digests, see mail.py).

`Outbox` sends them from one background thread, so a page never waits for SMTP and its
timing cannot tell a new address from a known one.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

import jinja2

from newsletter.audience import tokens as tokens_mod
from newsletter.audience.signup import CONFIRM, MailJob
from newsletter.audience.tokens import DATA, DATA_HOURS, Tokens, link_url
from newsletter.config import Config
from newsletter.errors import ConfigError, SendError
from newsletter.mail.compose import (
    ONE_CLICK,
    SUBJECT_MAX,
    DkimSigner,
    list_id,
    parse_sender,
    safe_header_value,
    to_line,
)
from newsletter.mail.transport import Transport
from newsletter.render import archive
from newsletter.render.renderer import inline_css

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class OutgoingMail:
    """A composed message and its envelope."""

    kind: str
    sender: str  # envelope sender (the list's From address)
    recipient: str
    subject: str
    data: bytes  # RFC 5322 bytes with CRLF line ends


class MailComposer:
    """Renders MailJobs into messages for one config."""

    def __init__(
        self, config: Config, env: jinja2.Environment, tokens: Tokens, clock: Clock = _utcnow
    ) -> None:
        self.config = config
        self.env = env
        self.tokens = tokens
        self.clock = clock
        self.dkim = DkimSigner.from_config(config)

    def context(self, job: MailJob) -> dict:
        """What the mail templates see."""
        config = self.config
        subscriber = job.subscriber
        lst = config.list(subscriber.list_name)
        site = config.site.url.rstrip("/")
        context = {
            "site": config.site,
            "language": config.site.language or "en",
            "list_name": lst.name,
            "list_title": lst.title or config.site.name,
            "email": subscriber.email,
            "name": subscriber.name,
            "reason": job.reason,
            "subscribe_url": f"{site}/subscribe",
            "archive_url": archive.index_url(config),
            "latest_url": archive.latest_url(config, lst.name),
            "max_age_days": config.web.confirm_max_age_days,
            "status": subscriber.status,
            "confirm_url": "",
            "unsubscribe_url": "",
            "manage_url": "",
            "data_url": "",
            "data_hours": DATA_HOURS,
        }
        if job.kind == CONFIRM:
            context["confirm_url"] = link_url(config, self.tokens, tokens_mod.CONFIRM, subscriber)
        else:
            unsubscribe, manage = tokens_mod.subscriber_links(
                config, self.tokens, subscriber.id, subscriber.link_key
            )
            context.update(unsubscribe_url=unsubscribe, manage_url=manage)
            if job.reason == "data":
                context["data_url"] = link_url(config, self.tokens, DATA, subscriber)
        return context

    def compose(self, job: MailJob) -> OutgoingMail:
        """The message for one job, DKIM-signed when [dkim] is configured."""
        context = self.context(job)
        text_module = self._module(f"mail/{job.kind}.txt", context)
        subject = safe_header_value(str(getattr(text_module, "subject", "")), SUBJECT_MAX)
        if not subject:
            raise ConfigError(
                f"template mail/{job.kind}.txt must set a subject: "
                '{% set subject = "..." %} at its top'
            )
        html = inline_css(str(self._module(f"mail/{job.kind}.html", context)))
        lst = self.config.list(job.subscriber.list_name)
        sender = parse_sender(lst.sender)
        msg = EmailMessage(policy=SMTP)
        msg["From"] = sender
        if lst.reply_to:
            msg["Reply-To"] = safe_header_value(lst.reply_to)
        msg["Subject"] = subject
        msg["Date"] = format_datetime(self.clock())
        msg["Message-ID"] = make_msgid(domain=sender.domain)
        msg["Auto-Submitted"] = "auto-generated"
        if job.kind != CONFIRM:
            # they are on the list: the same one-click way out as a digest
            msg["List-Id"] = list_id(lst, self.config.site.name, self.config.site.url)
            msg["List-Unsubscribe"] = f"<{context['unsubscribe_url']}>"
            msg["List-Unsubscribe-Post"] = ONE_CLICK
        msg.set_content(_crlf_text(str(text_module)), charset="utf-8")
        msg.add_alternative(html, subtype="html", charset="utf-8")
        # the To header is written from the address as it is (see compose.to_line); the
        # stdlib would parse it and decode encoded words into extra recipients
        data = to_line(job.subscriber.email) + msg.as_bytes()
        if self.dkim is not None:
            data = self.dkim.sign(data)
        return OutgoingMail(job.kind, sender.addr_spec, job.subscriber.email, subject, data)

    def _module(self, name: str, context: dict) -> jinja2.environment.TemplateModule:
        try:
            return self.env.get_template(name).make_module(context)
        except jinja2.TemplateError as e:
            raise ConfigError(
                f"template {name} failed: {e}; fix your override in digest.template_dir or "
                "remove it to use the built-in one"
            ) from e


def _crlf_text(text: str) -> str:
    """Text with single newlines and a final one (the policy writes CRLF)."""
    text = text.replace("\r\n", "\n").strip("\n")
    return text + "\n"


class Outbox:
    """Composes and sends MailJobs from one background thread, reusing a connection while
    busy. Composing happens there too: a request only queues, so its timing is the same
    whatever is (or is not) sent."""

    def __init__(
        self,
        compose: Callable[[MailJob], OutgoingMail],
        transport_factory: Callable[[], Transport],
    ) -> None:
        self.compose = compose
        self.transport_factory = transport_factory
        self.sent = 0
        self.failed = 0
        self._queue: queue.Queue[MailJob | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, job: MailJob) -> None:
        """Queue a message; it goes out shortly (failures are logged, not raised)."""
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="newsletter-outbox", daemon=True
                )
                self._thread.start()
        self._queue.put(job)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued message was handled; False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Send what is queued (up to `timeout`), then stop the thread."""
        thread = self._thread
        if thread is None:
            return
        self.flush(timeout)
        self._queue.put(None)
        thread.join(timeout)

    def _run(self) -> None:
        transport: Transport | None = None
        while True:
            job = self._queue.get()
            kind = job.kind if job is not None else ""
            to = job.subscriber.email if job is not None else ""
            try:
                if job is None:
                    return
                mail = self.compose(job)
                if transport is None:
                    transport = self.transport_factory()
                transport.send(mail.sender, mail.recipient, mail.data)
                self.sent += 1
                logger.info("sent the %s message to subscriber %s", kind, job.subscriber.id)
            except (SendError, ConfigError) as e:
                self.failed += 1
                logger.error("could not send the %s message to %s: %s", kind, to, e)
                _close(transport)
                transport = None
            except Exception:  # one message must never stop the thread
                self.failed += 1
                logger.exception("could not send the %s message to %s", kind, to)
                _close(transport)
                transport = None
            finally:
                # idle: give the connection back rather than hold it open indefinitely
                if self._queue.empty():
                    _close(transport)
                    transport = None
                self._queue.task_done()


def _close(transport: Transport | None) -> None:
    if transport is not None:
        try:
            transport.close()
        except Exception:  # closing a broken link must not raise
            logger.debug("closing the SMTP connection failed", exc_info=True)
