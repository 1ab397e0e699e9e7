"""One exception tree for the whole library; the CLI and web app translate it at the edge,
the command line into these exit codes (cron and systemd read them):

    0  done, or nothing to do (not due, nothing new)
    1  the work could not be done (e.g. no digest)
    2  usage or config errors
    3  some feeds failed; everything else went fine (a digest may have gone out)
    4  deliveries did not all go out: failed addresses, rows left pending (SMTP down),
       a digest that could not be sent, or deliveries in doubt (uncertain: their DATA
       ended with no reply recorded) not yet resent or dismissed; the next run resumes
       what is pending
    5  nothing could be done: every feed failed and nothing was sent, a digest could not
       be built, or the store is unusable
    6  another command holds the run lock; this one did nothing

When several apply to `newsletter run`, the highest wins (6 stands alone).
"""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_FEEDS_FAILED = 3
EXIT_DELIVERY = 4
EXIT_NOTHING_DONE = 5
EXIT_LOCKED = 6


class NewsletterError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(NewsletterError):
    """The configuration is missing, malformed or inconsistent; the message names the fix."""


class FeedError(NewsletterError):
    """One feed could not be fetched or parsed; the message is a one-line reason."""


class StoreError(NewsletterError):
    """The SQLite store could not be opened, upgraded or written."""


class TokenError(NewsletterError):
    """A signed token is forged, altered, expired or meant for something else."""


class SendError(NewsletterError):
    """Mail could not be composed or handed to the SMTP server."""


class SubscriberError(NewsletterError):
    """An address is invalid or a subscriber operation is not allowed."""


class LockedError(NewsletterError):
    """Another run holds the lock."""
