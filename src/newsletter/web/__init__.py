"""The web app (subscribe, confirm, unsubscribe, manage, archive) and the local preview.

`app` assembles the Flask app; `forms` and `links` hold the routes, `common` what they
share, `csrf` and `ratelimit` guard the forms; `preview` serves a digest to its editor.
"""
