"""Debian's chromium as the browser tests and the screenshot script start it (Playwright's
own download of a browser is not used: `playwright install` cannot reach the network here).

The flags: headless, no sandbox (CI runs as root), no GPU, and nothing that calls home."""

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
