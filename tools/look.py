"""Look at the built docs site as a reader would: serve it on 127.0.0.1 and photograph the home page and one
reference page with headless Chromium. Usage: python tools/look.py SITE SHOTS"""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

PAGES = {"home.png": "index.html", "config-reference.png": "reference/config.html"}
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
# What a closed network needs: no background connections, no updates, no first-run page.
QUIET = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1280,1100",
)
DEADLINE_S = 60


def browser() -> str:
    for name in BROWSERS:
        if found := shutil.which(name):
            return found
    sys.exit("look: no Chromium on PATH. Install Debian's package (`apt-get install chromium`), then run again.")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """No line per request: the pages photographed are what the run prints."""


def photograph(site: Path, shots: Path) -> None:
    handler = functools.partial(QuietHandler, directory=str(site))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.server_address[1]
        shots.mkdir(parents=True, exist_ok=True)
        for name, page in PAGES.items():
            with tempfile.TemporaryDirectory(prefix="mlci-look-") as profile:
                command = [browser(), *QUIET, f"--user-data-dir={profile}", f"--screenshot={shots / name}"]
                address = f"http://127.0.0.1:{port}/{page}"
                try:
                    subprocess.run([*command, address], capture_output=True, timeout=DEADLINE_S)
                except subprocess.TimeoutExpired:
                    sys.exit(f"look: Chromium did not photograph {page} within {DEADLINE_S} s")
            if not (shots / name).is_file():
                sys.exit(f"look: Chromium wrote no screenshot of {page}")
            print(f"look: {page} -> {shots / name}")
        server.shutdown()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    photograph(Path(sys.argv[1]), Path(sys.argv[2]))
