"""`reportgen serve`: a preview server for a built site that serves the site's own files and nothing else."""

from __future__ import annotations

import errno
import functools
import http.server
import json
import logging
import os
import urllib.parse
from pathlib import Path
from typing import Any, Callable, Optional

from reportgen.errors import ConfigError, InputError
from reportgen.safe_files import read_regular

log = logging.getLogger("reportgen.serve")


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the files the site's manifest lists and nothing else: a site built into a gh-pages checkout sits
    beside .git/ and maybe an .env, and a site may hold a link (or be built next to one) to files that were never
    meant to be published. No directory listings; a path that is not a plain relative path is a 400."""

    def __init__(self, *args: Any, root: str, listed: frozenset[str], **kwargs: Any) -> None:
        self.root = os.path.realpath(root)
        self.listed = listed
        super().__init__(*args, directory=root, **kwargs)

    def send_head(self):  # noqa: ANN201 - the stdlib's signature
        relative = _requested_file(self.path)
        if relative is None:
            self.send_error(400, "Bad request")
            return None
        if relative not in self.listed:
            self.send_error(404, "Not found")
            return None
        path = os.path.join(self.root, *relative.split("/"))
        real = os.path.realpath(path)
        if not real.startswith(self.root + os.sep) or not os.path.isfile(real):
            self.send_error(404, "Not found")
            return None
        self.path = "/" + urllib.parse.quote(relative)
        return super().send_head()

    def list_directory(self, path: str):  # noqa: ANN201 - never reached through send_head; refused anyway
        self.send_error(404, "Not found")
        return None

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        log.debug(format, *args)


def site_files(site: Path) -> frozenset[str]:
    """What the site consists of: manifest.json's list (and the manifest itself). A folder without a reportgen
    manifest is not a site reportgen wrote, so nothing is served from it."""
    try:
        manifest = json.loads(read_regular(site / "manifest.json", site))
        files = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(f"{site}: no readable manifest.json, so no list of the site's files to serve; build the site "
                         f"again with reportgen build --out {site}") from None
    return frozenset([*(f for f in files if isinstance(f, str)), "manifest.json"])


def _requested_file(raw: str) -> Optional[str]:
    """The site-relative file a request path names ('/' and 'dir/' mean their index.html), or None when the path
    is malformed: undecodable, with a NUL, a backslash, '..' or '.' segments, or an absolute URL."""
    path = raw.split("?", 1)[0].split("#", 1)[0]
    try:
        path = urllib.parse.unquote(path, errors="strict")
    except UnicodeDecodeError:
        return None
    if not path.startswith("/") or "\x00" in path or "\\" in path:
        return None
    parts = path[1:].split("/")
    if any(part in (".", "..") for part in parts) or any(part == "" for part in parts[:-1]):
        return None
    if parts[-1] == "":
        parts[-1] = "index.html"
    return "/".join(parts)


def serve_site(site: Path, port: int, announce: Callable[[str], None],
               ready: Optional[Callable[[http.server.ThreadingHTTPServer], None]] = None) -> None:
    if not (site / "index.html").is_file():
        raise InputError(f"{site}: no index.html here; build a site first (reportgen build --out {site})")
    handler = functools.partial(SiteHandler, root=str(site), listed=site_files(site))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {port} on 127.0.0.1 is in use; pass --port N, or --port 0 for any free one") from None
        raise ConfigError(f"cannot listen on 127.0.0.1:{port}: {err.strerror or err}") from None
    with server:
        announce(f"Serving {site} at http://127.0.0.1:{server.server_address[1]}/ (Ctrl+C to stop)")
        if ready is not None:
            ready(server)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            announce("stopped")
