"""One exception tree for the whole library; the CLI and web app translate it at the edge."""


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
