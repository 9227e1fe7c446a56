"""`reportgen serve`: a preview server for a built site that serves the site's own files and nothing else."""

from __future__ import annotations

import errno
import functools
import http.server
import logging
import os
from pathlib import Path
from typing import Any, Callable, Optional

from reportgen.errors import ConfigError, InputError

log = logging.getLogger("reportgen.serve")


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """No directory listings, and no path that leaves the site once symbolic links are resolved: a site may
    hold a link (or be built next to one) to files that were never meant to be published."""

    def __init__(self, *args: Any, root: str, **kwargs: Any) -> None:
        self.root = os.path.realpath(root)
        super().__init__(*args, directory=root, **kwargs)

    def send_head(self):  # noqa: ANN201 - the stdlib's signature
        path = self.translate_path(self.path)
        real = os.path.realpath(path)
        if real != self.root and not real.startswith(self.root + os.sep):
            self.send_error(404, "Not found")
            return None
        if os.path.isdir(real) and not os.path.isfile(os.path.join(real, "index.html")):
            self.send_error(404, "Not found")  # a listing would show files the site does not link to
            return None
        return super().send_head()

    def list_directory(self, path: str):  # noqa: ANN201 - never reached through send_head; refused anyway
        self.send_error(404, "Not found")
        return None

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        log.debug(format, *args)


def serve_site(site: Path, port: int, announce: Callable[[str], None],
               ready: Optional[Callable[[http.server.ThreadingHTTPServer], None]] = None) -> None:
    if not (site / "index.html").is_file():
        raise InputError(f"{site}: no index.html here; build a site first (reportgen build --out {site})")
    handler = functools.partial(SiteHandler, root=str(site))
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
