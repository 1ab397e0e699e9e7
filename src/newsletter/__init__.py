"""newsletter: RSS/Atom feeds in, summarized and themed email digests out."""

__version__ = "0.1.0"
