"""Mail: composing and sending.

`compose` builds a digest's messages once and personalizes them cheaply, `transport` is
the only module that speaks SMTP, `sendloop` runs the worker threads, `deliver` sends one
digest to its list exactly once, `notices` sends the web app's own messages.
"""

from newsletter.mail.deliver import send, send_digest, send_test
from newsletter.mail.transport import SmtpTransport

__all__ = ["SmtpTransport", "send", "send_digest", "send_test"]
