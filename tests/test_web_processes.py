"""The web app as several worker processes (what `gunicorn --workers N` or two hosts behind
a load balancer run): one rate limit between them, and each accepts the others' forms."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
from pathlib import Path

from support.sending import SECRET, SITE_URL
from support.smtp import SmtpServer
from support.stores import store_table

from newsletter.store import Store

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
SERVE = (
    "import os\nfrom waitress import create_server\n"
    "from newsletter.web.app import make_wsgi_app\n"
    "server = create_server(make_wsgi_app(), host='127.0.0.1', port=0, threads=2)\n"
    "print(server.effective_port, flush=True)\nserver.run()\n"
)


def _request(port: int, method: str, path: str, cookie: str = "", body: str = ""):  # noqa: ANN202
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Host": "news.example.org", "X-Forwarded-Proto": "https"}
    if cookie:
        headers["Cookie"] = cookie
    if body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        return response.status, response.read().decode(), response.getheader("Set-Cookie") or ""
    finally:
        conn.close()


def test_worker_processes_share_one_rate_limit_and_accept_each_others_forms(
    tmp_path: Path, store_target: str | Path
) -> None:
    Store(store_target).close()  # created and migrated before the workers start
    table = "\n".join(f'{k} = "{v}"' for k, v in store_table(store_target).items())
    with SmtpServer() as smtp:
        config = tmp_path / "newsletter.toml"
        config.write_text(
            f'[site]\nname = "Example News"\nurl = "{SITE_URL}"\n'
            '[list]\nname = "daily"\nfrom = "Example News <digest@news.example.org>"\n'
            f"[store]\n{table}\n"
            f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "none"\n'
            "[web]\nsubscribe_per_ip_per_hour = 3\n",
            encoding="utf-8",
        )
        env = {**os.environ, "NEWSLETTER_SECRET_KEY": SECRET, "NEWSLETTER_CONFIG": str(config)}
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", SERVE], env=env, stdout=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]
        try:
            ports = [int(w.stdout.readline()) for w in workers]
            status, page, set_cookie = _request(ports[0], "GET", "/subscribe")
            assert status == 200
            cookie = set_cookie.split(";", 1)[0]
            token = _TOKEN.search(page).group(1)  # type: ignore[union-attr]
            codes = [
                _request(
                    ports[n % 2],  # the load balancer alternates between the processes
                    "POST",
                    "/subscribe",
                    cookie,
                    f"csrf_token={token}&list=daily&email=p{n}%40example.com",
                )[0]
                for n in range(4)
            ]
            forged = _request(
                ports[1], "POST", "/subscribe", cookie, "csrf_token=x&email=f%40x.org"
            )
        finally:
            for worker in workers:
                worker.terminate()
                worker.wait(timeout=30)
    assert codes == [200, 200, 200, 429]  # one limit of 3 between them, not 3 each
    assert forged[0] == 400
    with Store(store_target) as store:
        assert store.count_subscribers() == 3
