"""Draws the README's pictures from a running demo server (see scripts/screenshots).

Each picture puts the start page and a specialist's detail page side by side, so
the README shows who runs the service and what a listing looks like, on a desktop
(1280 px) and on a phone (390 px).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
# Tall enough to show the header, the first screenful and a little more; a whole
# page would make the README picture too long to read.
WIDTHS = {"screenshot.png": (1280, 1100), "screenshot-phone.png": (390, 1500)}
GAP = 24
# The map page, signed in as the demo operator (sekispe/devtools/demo/accounts.py).
MAP_PICTURE = "insights-map.png"
MAP_SIZE = (1280, 1500)
DEMO_OPERATOR = "operator@demo.sekispe.example"
DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - the published demo password


def shoot(page, url: str, width: int, height: int) -> Image.Image:
    page.set_viewport_size({"width": width, "height": height})
    page.goto(url)
    return Image.open(io.BytesIO(page.screenshot(full_page=False)))


def side_by_side(left: Image.Image, right: Image.Image) -> Image.Image:
    canvas = Image.new(
        "RGB", (left.width + GAP + right.width, max(left.height, right.height)), "#d0d4d9"
    )
    canvas.paste(left, (0, 0))
    canvas.paste(right, (left.width + GAP, 0))
    return canvas


def main(base: str, out_dir: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(locale="ja-JP")
        page.goto(f"{base}/specialists/")
        # The first result's page: a link of one segment under /specialists/.
        detail = page.evaluate(
            "[...document.querySelectorAll('main a')].map(a => a.getAttribute('href'))"
            ".find(h => /^\\/specialists\\/\\d+\\/$/.test(h || ''))"
        )
        for name, (width, height) in WIDTHS.items():
            start = shoot(page, f"{base}/", width, height)
            listing = shoot(page, f"{base}{detail}", width, height)
            side_by_side(start, listing).save(Path(out_dir) / name, optimize=True)
            print(f"{out_dir}/{name}: / and {detail} at {width} px")
        page.goto(f"{base}/accounts/login/")
        page.fill('input[name="email"]', DEMO_OPERATOR)
        page.fill('input[name="password"]', DEMO_PASSWORD)
        page.get_by_role("button", name="ログイン").click()
        page.wait_for_load_state()
        shoot(page, f"{base}/insights/map/", *MAP_SIZE).save(
            Path(out_dir) / MAP_PICTURE, optimize=True
        )
        print(f"{out_dir}/{MAP_PICTURE}: /insights/map/ at {MAP_SIZE[0]} px")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
