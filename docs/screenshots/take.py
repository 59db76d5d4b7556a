"""Take the README's screenshots of the pages from the demo company.

    .venv/bin/python docs/screenshots/take.py

Builds a throwaway SQLite database in a temporary folder (``migrate``, ``seed_demo``),
gives a demo rep and a demo manager a password there, starts ``runserver`` on a free
loopback port, signs in with Playwright driving Debian's chromium, and saves ``queue.png``
(the rep's queue), ``lead.png`` (the newest lead in it) and ``dashboard.png`` (the
manager's dashboard) next to this file: 1280 pixels wide, the whole page. Nothing outside
the temporary folder and these three files is touched; nothing leaves the machine.
"""

import base64
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from leadhub.web.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402 (after the path)

OUT = Path(__file__).resolve().parent
# From the demo company (leadhub/demo/data.py): the rep with the most running SLA
# clocks today (their queue shows countdowns), and that rep's team manager; chosen after
# seeding (the demo's "today" depends on the hour it is seeded at).
WIDTH = 1280
WAIT_MS = 30_000

SET_PASSWORDS = """
import os
from django.db.models import Count, Q
from reps.models import Rep
rep = (
    Rep.objects.filter(role="rep", active=True)
    .annotate(running=Count("sla_clocks", filter=Q(sla_clocks__status="running")))
    .order_by("-running", "pk")
    .select_related("user")
    .first()
)
manager = Rep.objects.filter(team=rep.team, role="manager").select_related("user").first()
for person in (rep, manager):
    person.user.set_password(os.environ["SHOT_PASSWORD"])
    person.user.save(update_fields=["password"])
with open(os.environ["SHOT_USERS"], "w") as out:
    out.write(f"{rep.user.username} {manager.user.username}")
"""


def manage(env: dict[str, str], *args: str) -> None:
    argv = [sys.executable, "manage.py", *args]
    subprocess.run(argv, cwd=ROOT, env=env, check=True)  # noqa: S603 (this script's own)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(url: str, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"runserver stopped (exit {server.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (http://127.0.0.1 only)
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"runserver did not answer on {url} within {seconds:.0f} s")


def sign_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


# The screenshot's pixels as 256 colours: the page's own colours (the most frequent ones)
# kept exactly, anti-aliased edges mapped to the nearest of them. Runs in the browser, which
# decodes PNG already.
QUANTIZE = """async (src) => {
  const img = new Image();
  img.src = src;
  await img.decode();
  const canvas = new OffscreenCanvas(img.width, img.height);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const px = ctx.getImageData(0, 0, img.width, img.height).data;
  const counts = new Map();
  for (let i = 0; i < px.length; i += 4) {
    const rgb = (px[i] << 16) | (px[i + 1] << 8) | px[i + 2];
    counts.set(rgb, (counts.get(rgb) || 0) + 1);
  }
  const palette = [...counts.keys()].sort((a, b) => counts.get(b) - counts.get(a)).slice(0, 256);
  const index = new Map(palette.map((rgb, i) => [rgb, i]));
  const nearest = (rgb) => {
    let best = 0, bestDistance = Infinity;
    palette.forEach((p, i) => {
      const d = ((p >> 16) - (rgb >> 16)) ** 2 + (((p >> 8) & 255) - ((rgb >> 8) & 255)) ** 2
        + ((p & 255) - (rgb & 255)) ** 2;
      if (d < bestDistance) [best, bestDistance] = [i, d];
    });
    return best;
  };
  const rows = new Uint8Array(img.height * (img.width + 1));  // a filter byte (0) per row
  for (let i = 0, o = 0; i < px.length; i += 4, o++) {
    if (o % (img.width + 1) === 0) o++;
    const rgb = (px[i] << 16) | (px[i + 1] << 8) | px[i + 2];
    if (!index.has(rgb)) index.set(rgb, nearest(rgb));
    rows[o] = index.get(rgb);
  }
  const b64 = (bytes) => {
    let s = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    }
    return btoa(s);
  };
  const rgbs = new Uint8Array(palette.flatMap((p) => [p >> 16, (p >> 8) & 255, p & 255]));
  return { width: img.width, height: img.height, palette: b64(rgbs), rows: b64(rows) };
}"""


def indexed_png(width: int, height: int, palette: bytes, rows: bytes) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return len(body).to_bytes(4, "big") + kind + body + crc.to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 3, 0, 0, 0])
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", header),
            chunk(b"PLTE", palette),
            chunk(b"IDAT", zlib.compress(rows, 9)),
            chunk(b"IEND", b""),
        ]
    )


def shoot(page: Page, name: str) -> None:
    """The whole page, as a 256-colour PNG (a third of the size of the RGB one)."""
    # Measured once the stylesheet and fonts are in: measured before, the page is as tall
    # as its unstyled self and the picture ends in a blank band.
    page.wait_for_load_state("load")
    page.evaluate("document.fonts.ready.then(() => true)")
    shot = page.screenshot(full_page=True, animations="disabled")
    src = "data:image/png;base64," + base64.b64encode(shot).decode()
    q = page.evaluate(QUANTIZE, src)
    path = OUT / name
    path.write_bytes(
        indexed_png(
            q["width"], q["height"], base64.b64decode(q["palette"]), base64.b64decode(q["rows"])
        )
    )
    print(f"{path.relative_to(ROOT)}: {path.stat().st_size // 1024} KB")


def take(base: str, password: str, rep_name: str, manager_name: str) -> None:
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        viewport = {"width": WIDTH, "height": 800}

        rep = browser.new_context(viewport=viewport, device_scale_factor=1)
        page = rep.new_page()
        sign_in(page, base, rep_name, password)
        expect(page.locator("#my-leads .lead-row").first).to_be_visible()
        shoot(page, "queue.png")
        page.locator("#my-leads .lead-row h3 a").first.click()
        expect(page.locator("#lead-body")).to_be_visible()
        shoot(page, "lead.png")
        rep.close()

        manager = browser.new_context(viewport=viewport, device_scale_factor=1)
        page = manager.new_page()
        sign_in(page, base, manager_name, password)
        page.goto(f"{base}/dashboard/")
        # Each section arrives by its own request; then every chart is drawn.
        page.wait_for_function(
            """() => !document.querySelector('[aria-busy="true"]')
                && [...document.querySelectorAll("canvas")].every(
                    (c) => typeof Chart !== "undefined" && Chart.getChart(c))""",
            timeout=30_000,
        )
        shoot(page, "dashboard.png")
        manager.close()
        browser.close()


def main() -> None:
    if not shutil.which(CHROMIUM):
        raise SystemExit(f"needs chromium at {CHROMIUM} (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="leadhub-shots-") as tmp:
        password = secrets.token_urlsafe(12)
        env = {
            **os.environ,
            "SQLITE_PATH": str(Path(tmp) / "demo.sqlite3"),
            "LEADHUB_ENV": "development",
            "SHOT_USERS": str(Path(tmp) / "users.txt"),
            "SHOT_PASSWORD": password,
        }
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        manage(env, "migrate", "--verbosity", "0")
        manage(env, "seed_demo")
        manage(env, "shell", "--no-imports", "--command", SET_PASSWORDS)

        address = f"127.0.0.1:{free_port()}"
        base = f"http://{address}"
        argv = [sys.executable, "manage.py", "runserver", address, "--noreload"]
        server = subprocess.Popen(  # noqa: S603 (this script's own arguments)
            argv,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_server(f"{base}/login/", server)
            rep_name, manager_name = Path(env["SHOT_USERS"]).read_text().split()
            take(base, password, rep_name, manager_name)
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
