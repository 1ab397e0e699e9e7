"""The web app (subscribe, confirm, unsubscribe, manage, archive) and the local preview.

`app` assembles the Flask app from three Blueprints: `forms` (subscribe, "email me my
link"), `links` (the pages behind signed links) and `site` (archive, stylesheet, headers,
errors); `common` is what they share, `csrf` and `ratelimit` guard the forms, `redact`
keeps tokens out of logs; `preview` serves a digest to its editor.

`make_wsgi_app` is here for WSGI servers: `waitress-serve --call newsletter.web:make_wsgi_app`.
"""

from newsletter.web.app import create_app, make_wsgi_app

__all__ = ["create_app", "make_wsgi_app"]
