"""Test helpers: servers, sample data and checks the tests share. Import as `from support.x import y`."""
