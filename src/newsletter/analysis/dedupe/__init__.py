"""Same-story detection: `merge` (shingles, near-duplicates) and `teaser` (short items)."""
