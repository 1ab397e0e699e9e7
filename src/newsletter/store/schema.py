"""The SQLite schema as numbered migrations. Each runs once, in order, on open.

Never edit a migration that has shipped: append a new one. Numbers may leave gaps.
A PostgreSQL store runs the same numbered migrations (`newsletter.store.pgschema`): write
portable SQL (no INTEGER PRIMARY KEY, no SQLite-only functions), or give the migration a
PostgreSQL text of its own in `pgschema.PG_MIGRATIONS`.
"""

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        -- One row per feed URL: what conditional GET and feed health need.
        CREATE TABLE feeds (
            url TEXT PRIMARY KEY,
            title TEXT NOT NULL DEFAULT '',
            etag TEXT NOT NULL DEFAULT '',
            last_modified TEXT NOT NULL DEFAULT '',
            last_status INTEGER,
            last_error TEXT NOT NULL DEFAULT '',
            fetched_at TEXT,                 -- last attempt (UTC ISO 8601)
            last_success_at TEXT,
            failures INTEGER NOT NULL DEFAULT 0,   -- consecutive failed fetches
            not_modified_count INTEGER NOT NULL DEFAULT 0  -- 304s seen: conditional GET works
        );

        -- Normalized, sanitized items. `key` is guid, else link, else content hash.
        CREATE TABLE items (
            id INTEGER PRIMARY KEY,
            feed_url TEXT NOT NULL REFERENCES feeds(url),
            key TEXT NOT NULL,
            link TEXT NOT NULL DEFAULT '',
            title TEXT NOT NULL DEFAULT '',
            author TEXT NOT NULL DEFAULT '',
            published TEXT,
            categories TEXT NOT NULL DEFAULT '[]',   -- JSON array
            image TEXT NOT NULL DEFAULT '',
            html TEXT NOT NULL DEFAULT '',
            text TEXT NOT NULL DEFAULT '',
            language TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL DEFAULT '',
            content_hash TEXT NOT NULL DEFAULT '',
            first_seen TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (feed_url, key)
        );
        CREATE INDEX items_first_seen ON items(first_seen);

        -- Summary cache: keyed by content and settings, so an unchanged item is never
        -- summarized twice and a settings change recomputes.
        CREATE TABLE summaries (
            content_hash TEXT NOT NULL,
            settings TEXT NOT NULL,
            summary TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (content_hash, settings)
        );

        CREATE TABLE subscribers (
            id INTEGER PRIMARY KEY,
            list_name TEXT NOT NULL,
            email TEXT NOT NULL,             -- normalized
            name TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'confirmed', 'unsubscribed', 'bounced')),
            source TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            confirmed_at TEXT,
            unsubscribed_at TEXT,
            bounce_count INTEGER NOT NULL DEFAULT 0,
            confirm_sent_at TEXT,
            UNIQUE (list_name, email)
        );

        CREATE TABLE digests (
            id INTEGER PRIMARY KEY,
            list_name TEXT NOT NULL,
            built_at TEXT NOT NULL,
            sent_at TEXT,                    -- set when every delivery has ended
            path TEXT NOT NULL DEFAULT '',   -- output folder holding digest.html/.txt/.json
            subject TEXT NOT NULL DEFAULT '',
            item_count INTEGER NOT NULL DEFAULT 0
        );

        -- Which items (by feed + key and the content hash at the time) a digest carried.
        CREATE TABLE digest_items (
            digest_id INTEGER NOT NULL REFERENCES digests(id) ON DELETE CASCADE,
            item_id INTEGER NOT NULL REFERENCES items(id),
            content_hash TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (digest_id, item_id)
        );

        -- One row per (digest, subscriber), written before any mail leaves.
        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY,
            digest_id INTEGER NOT NULL REFERENCES digests(id),
            subscriber_id INTEGER NOT NULL REFERENCES subscribers(id),
            email TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL DEFAULT '',
            message_id TEXT NOT NULL DEFAULT '',
            updated_at TEXT,
            sent_at TEXT,
            UNIQUE (digest_id, subscriber_id)
        );
        CREATE INDEX deliveries_status ON deliveries(digest_id, status);
        """,
    ),
    (
        20,
        """
        -- Deliveries gain the status 'skipped': the subscriber left (unsubscribed, bounced)
        -- between the rows being written and their turn to be sent. SQLite cannot alter a
        -- CHECK constraint, so the table is rebuilt with the same columns.
        CREATE TABLE deliveries_new (
            id INTEGER PRIMARY KEY,
            digest_id INTEGER NOT NULL REFERENCES digests(id),
            subscriber_id INTEGER NOT NULL REFERENCES subscribers(id),
            email TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL DEFAULT '',
            message_id TEXT NOT NULL DEFAULT '',
            updated_at TEXT,
            sent_at TEXT,
            UNIQUE (digest_id, subscriber_id)
        );
        INSERT INTO deliveries_new (id, digest_id, subscriber_id, email, status, attempts,
                                    last_error, message_id, updated_at, sent_at)
            SELECT id, digest_id, subscriber_id, email, status, attempts, last_error,
                   message_id, updated_at, sent_at FROM deliveries;
        DROP TABLE deliveries;
        ALTER TABLE deliveries_new RENAME TO deliveries;
        CREATE INDEX deliveries_status ON deliveries(digest_id, status);
        -- removing a subscriber checks and deletes their deliveries: keep that a lookup
        CREATE INDEX deliveries_subscriber ON deliveries(subscriber_id);
        """,
    ),
    (
        40,
        """
        -- `newsletter run` state per list: when it first ran the list (scheduled lists send
        -- from the first slot after that) and when a due run last found too little to send
        -- (the list then waits for its next slot instead of sending whenever items trickle in).
        CREATE TABLE list_state (
            list_name TEXT PRIMARY KEY,
            started_at TEXT NOT NULL,
            checked_at TEXT
        );

        -- The feeds each list has taken on. When a list takes on a feed, the items its
        -- backlog policy holds back are recorded as carried by a "baseline" digest: a digest
        -- row with no deliveries and no files, marked sent, so the ordinary "not in any sent
        -- digest of the list" rule keeps them out for good.
        CREATE TABLE list_feeds (
            list_name TEXT NOT NULL,
            feed_url TEXT NOT NULL,
            adopted_at TEXT NOT NULL,
            backlog TEXT NOT NULL,           -- the policy applied: days:N | none | all | continued
            baseline_digest_id INTEGER REFERENCES digests(id),  -- NULL: nothing held back
            PRIMARY KEY (list_name, feed_url)
        );
        CREATE INDEX list_feeds_baseline ON list_feeds(baseline_digest_id);
        """,
    ),
    (
        41,
        """
        -- A signed link names one subscriber for good (issue 11). Each subscriber gets two
        -- random keys that their links carry: link_key (unsubscribe, manage, data) and
        -- confirm_key (confirmation links, replaced at every status change so an old
        -- confirmation mail cannot act on a later state). Removing the row revokes every
        -- link; a later subscriber never has the same keys. subscriber_ids keeps the
        -- highest id ever given out, so a removed subscriber's id is never given again.
        ALTER TABLE subscribers ADD COLUMN link_key TEXT NOT NULL DEFAULT '';
        ALTER TABLE subscribers ADD COLUMN confirm_key TEXT NOT NULL DEFAULT '';
        UPDATE subscribers SET link_key = lower(hex(randomblob(12))),
                               confirm_key = lower(hex(randomblob(12)));
        CREATE TABLE subscriber_ids (last_id INTEGER NOT NULL);
        INSERT INTO subscriber_ids (last_id) SELECT COALESCE(MAX(id), 0) FROM subscribers;
        """,
    ),
    (
        45,
        """
        -- The stories a digest shows, as `build` counts them: duplicates merged across feeds
        -- are one story (item_count counts every feed item carried, duplicates included).
        -- NULL for digests built before this column: `newsletter digests` reads their
        -- digest.json instead.
        ALTER TABLE digests ADD COLUMN story_count INTEGER;
        """,
    ),
    (
        60,
        """
        -- Deliveries become leases, and "in doubt" shrinks to what SMTP itself leaves in
        -- doubt. A sender claims a row ('sending', claimed_by, lease_until), marks it
        -- 'data_sent' just before the final "." of its DATA, then records the reply. A row
        -- a dead sender left 'sending' goes back to 'pending' (the server drops a message
        -- whose DATA never ended); one left 'data_sent' becomes 'uncertain' (maybe
        -- delivered), reported until it is resent or 'dismissed' (time and reason kept).
        CREATE TABLE deliveries_new (
            id INTEGER PRIMARY KEY,
            digest_id INTEGER NOT NULL REFERENCES digests(id),
            subscriber_id INTEGER NOT NULL REFERENCES subscribers(id),
            email TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'data_sent', 'sent', 'failed',
                                  'skipped', 'uncertain', 'dismissed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL DEFAULT '',
            message_id TEXT NOT NULL DEFAULT '',
            updated_at TEXT,
            sent_at TEXT,
            claimed_by TEXT,                 -- the sender holding the row (host:pid:token)
            lease_until TEXT,                -- the claim lapses after this (UTC ISO 8601)
            data_ended_at TEXT,              -- when the final "." was about to be written
            dismissed_at TEXT,
            dismiss_reason TEXT NOT NULL DEFAULT '',
            UNIQUE (digest_id, subscriber_id)
        );
        -- an old 'sending' row may have been anywhere in its SMTP transaction: in doubt
        INSERT INTO deliveries_new (id, digest_id, subscriber_id, email, status, attempts,
                                    last_error, message_id, updated_at, sent_at,
                                    data_ended_at)
            SELECT id, digest_id, subscriber_id, email,
                   CASE status WHEN 'sending' THEN 'uncertain' ELSE status END,
                   attempts, last_error, message_id, updated_at, sent_at,
                   CASE status WHEN 'sending' THEN updated_at END
            FROM deliveries;
        DROP TABLE deliveries;
        ALTER TABLE deliveries_new RENAME TO deliveries;
        CREATE INDEX deliveries_status ON deliveries(digest_id, status);
        CREATE INDEX deliveries_subscriber ON deliveries(subscriber_id);
        """,
    ),
    # -- issue 14: bounces and complaints (self-contained; touches no earlier table) -------
    (
        140,
        """
        -- One row per bounce, delay or complaint about a subscriber we mailed; see
        -- store/bounces.py. message_key + address make a report count once.
        CREATE TABLE bounce_events (
            id INTEGER PRIMARY KEY,
            message_key TEXT NOT NULL,       -- hash of the message, or the provider's event id
            received_at TEXT NOT NULL,
            subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
            digest_id INTEGER,               -- no foreign keys: deliveries may be removed
            delivery_id INTEGER,
            address TEXT NOT NULL,           -- as the report names it
            kind TEXT NOT NULL CHECK (kind IN ('bounce', 'complaint')),
            severity TEXT NOT NULL DEFAULT '' CHECK (severity IN ('hard', 'soft', 'delay', '')),
            status TEXT NOT NULL DEFAULT '',
            diagnostic TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL DEFAULT '',
            matched TEXT NOT NULL DEFAULT '',   -- signed | address
            action TEXT NOT NULL DEFAULT '',    -- bounced | unsubscribed | '' (counted only)
            UNIQUE (message_key, address)
        );
        CREATE INDEX bounce_events_subscriber ON bounce_events(subscriber_id, received_at);

        -- POP3 keeps no flags: the messages of a mailbox already processed, by UIDL.
        CREATE TABLE bounce_mailbox_seen (
            mailbox TEXT NOT NULL,
            uid TEXT NOT NULL,
            seen_at TEXT NOT NULL,
            PRIMARY KEY (mailbox, uid)
        );
        """,
    ),
    (
        160,
        """
        -- Builds that cost what changed (issue 16). Feeds: when the next fetch is due and
        -- why (Cache-Control, Expires, RSS ttl, Retry-After), the feed's own hints (ttl,
        -- skipHours, skipDays as JSON) and what the last run decided. Items: a hash of the
        -- raw entry, so an entry unchanged in a changed feed is not normalized again.
        ALTER TABLE feeds ADD COLUMN next_fetch_at TEXT;
        ALTER TABLE feeds ADD COLUMN next_fetch_reason TEXT NOT NULL DEFAULT '';
        ALTER TABLE feeds ADD COLUMN hints TEXT NOT NULL DEFAULT '';
        ALTER TABLE feeds ADD COLUMN last_decision TEXT NOT NULL DEFAULT '';
        ALTER TABLE items ADD COLUMN entry_hash TEXT NOT NULL DEFAULT '';
        """,
    ),
    (
        170,
        """
        -- An item's lead image keeps its natural size (from the feed's width/height or its
        -- URL; 0 = unknown) so a digest never shows a 158-px thumbnail 552 px wide.
        ALTER TABLE items ADD COLUMN image_width INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE items ADD COLUMN image_height INTEGER NOT NULL DEFAULT 0;
        """,
    ),
    (
        175,
        """
        -- Rate limits the web app's processes share (issue 15): the hits of each slot (a
        -- sixtieth) of a window. `bucket` names the limit and a keyed hash of what it
        -- counts (an IP, an address), never the address itself.
        CREATE TABLE rate_limit_hits (
            bucket TEXT NOT NULL,
            slot INTEGER NOT NULL,           -- seconds since 1970 // the slot's length
            hits INTEGER NOT NULL,
            expires_at TEXT NOT NULL,        -- when no window reaches the slot any more
            PRIMARY KEY (bucket, slot)
        );
        CREATE INDEX rate_limit_hits_expiry ON rate_limit_hits(expires_at);
        """,
    ),
    (
        180,
        """
        -- Items by recency (their date, else when first seen): what the theme model reads
        -- and what `--since` keeps. Without it each build sorted the newest items' text in
        -- a temporary file.
        CREATE INDEX items_recency ON items ((COALESCE(published, first_seen)));
        """,
    ),
    (
        185,
        """
        -- The digests that carried an item: choosing a digest's stories leaves out those a
        -- sent digest carried, item by item. Without it each lookup read all of
        -- digest_items, so every build grew slower with every digest ever built. (A
        -- PostgreSQL store has had it from its first migration.)
        CREATE INDEX IF NOT EXISTS digest_items_item ON digest_items(item_id);
        """,
    ),
    (
        190,
        """
        -- Each feed's items newest first (dated before undated, as a digest takes them): a
        -- digest reads only the few newest of each feed along it, however many the store
        -- has kept over the years.
        CREATE INDEX items_feed_recency ON items (
            feed_url, (published IS NULL), (COALESCE(published, first_seen)) DESC, key DESC
        );
        """,
    ),
    (
        195,
        """
        -- Each feed's items by when they were stored or edited: a build whose feeds brought
        -- nothing asks whether an item changed after its last digest, a seek per feed.
        -- Without it that question read every item the feeds ever had.
        CREATE INDEX items_feed_updated ON items(feed_url, updated_at);
        """,
    ),
    (
        200,
        """
        -- What a digest was built from (its list's feeds and settings, hashed): a build whose
        -- feeds brought nothing shows the last digest again only if it would build the same
        -- one, not after a feed was added back or a digest was built with --max-items.
        ALTER TABLE digests ADD COLUMN basis TEXT NOT NULL DEFAULT '';
        """,
    ),
    (
        205,
        """
        -- The feed settings its stored items were made with (its name and language
        -- overrides), hashed: when they change, the feed is read in full once (no
        -- If-None-Match), so its stories show the new name, not only after the feed next
        -- changes. '' for a feed stored before this column: taken as current.
        ALTER TABLE feeds ADD COLUMN made_with TEXT NOT NULL DEFAULT '';
        """,
    ),
    (
        210,
        """
        -- The name a feed's stories are shown under, as last stored: when a read of the
        -- feed gives another (it renamed itself, or the config names it), every stored
        -- story of the feed takes it, the ones it no longer lists too.
        ALTER TABLE feeds ADD COLUMN source TEXT NOT NULL DEFAULT '';
        """,
    ),
]
