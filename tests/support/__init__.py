"""Real servers for tests (PostgreSQL, Dovecot), started and stopped by the tests themselves.

The pytest fixtures that wrap them live in `support.fixtures`, loaded by tests/conftest.py.
"""
