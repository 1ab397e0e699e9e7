"""Test helpers: servers, sample data and checks the tests share.

Import them as `from support.x import y` (pytest puts `tests/` on the path). Real servers
(PostgreSQL, Dovecot) are started by the fixtures in `support.fixtures`, loaded by conftest.
"""
