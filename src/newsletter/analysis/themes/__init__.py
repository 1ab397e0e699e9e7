"""Sections: `sections` groups entries using `topics` (the text model), `categories` (feed
categories as evidence), `mixed` (both together) and `labels` (short readable names)."""
