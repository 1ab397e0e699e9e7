"""Test helpers: servers, sample data and checks the tests share.

Import them as `from support.x import y` (pytest puts `tests/` on the path). The real
servers (PostgreSQL, Dovecot) are started and stopped by the tests themselves; the pytest
fixtures that wrap them live in `support.fixtures`, loaded by tests/conftest.py.
"""
