#!/usr/bin/env python3
"""The UI's page alone in WebKitGTK, without the shell: how long its dashboard takes to paint,
and what the first style and layout of that dashboard costs with the app's stylesheet against
the same markup unstyled. A benchmark, not a test: it prints a table and asserts nothing.

The desktop bench (`cargo bench -p spartex-desktop --bench desktop`) measures a launch as a
user sees it, in 7 minutes a run, with ±20 ms between runs. This one runs in seconds and changes
one thing at a time, so a stylesheet or a component can be bisected. It found that the
`system-ui` font stack cost the first layout ~25 ms (docs/benchmarks.md, tenth session).

How: ui/dist is served over HTTP to WebKitGTK's MiniBrowser (shipped with libwebkit2gtk-4.1-0),
with scripts/page-bench/core-stand-in.js answering the core's commands (1,000 projects). First
the whole page, as the app loads it: its own startup marks (the `page steps` the desktop bench
prints). Then its painted dashboard's markup is put in pages of its own, with the stylesheet
each row names, and the page times inserting that markup and forcing a layout: the first style
and layout, fonts included, on a page whose stylesheet is already loaded. Painting is on the CPU
(WEBKIT_DISABLE_COMPOSITING_MODE=1), as the app paints on a machine without a GPU.

Last, a live session's hot path, with JavaScriptCore's JIT on (as the app ships) and off: one
change to every project, delivered as the shell does, until the dashboard is re-read and
repainted; then a burst of 100 changes 5 ms apart: how many times the page reads the dashboard
for them, and how long after the last one its effect is painted. The stand-in hands out a fresh
copy of each answer, as IPC does.

Usage: npm --prefix ui run build && bash scripts/test-env.sh python3 scripts/page-bench.py [ROUNDS]
(ROUNDS defaults to 11; it needs a display, which test-env.sh starts.)
"""

import functools
import glob
import http.server
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAND_IN = ROOT / "scripts" / "page-bench" / "core-stand-in.js"
MARK = "PAGE-BENCH "
REFRESHES = 30  # changes delivered per page load in the refresh rows
# The app's font stack, and the one it used before f29dee8: a row shows what that costs.
FONT_STACK = "--font-sans:-webkit-system-font, system-ui, sans-serif"
SYSTEM_UI_STACK = "--font-sans:system-ui, sans-serif"


def minibrowser() -> str:
    found = glob.glob("/usr/lib/*/webkit2gtk-4.1/MiniBrowser")
    if not found:
        sys.exit("page-bench: no MiniBrowser; install libwebkit2gtk-4.1-0 (scripts/install-deps.sh)")
    return found[0]


def serve(folder: Path) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def console_line(url: str, wanted: str, timeout: float = 15.0, env: dict[str, str] | None = None) -> str:
    """Loads `url` in a fresh MiniBrowser and returns the rest of the first console line the
    page writes that starts with MARK + `wanted`. `env` adds to the browser's environment."""
    return console_lines(url, [wanted], timeout, env)[wanted]


def console_lines(url: str, wanted: list[str], timeout: float, env: dict[str, str] | None) -> dict[str, str]:
    """The same for several lines of one load: each of `wanted` to the rest of its line."""
    env = dict(os.environ, WEBKIT_DISABLE_COMPOSITING_MODE="1", **(env or {}))
    browser = subprocess.Popen(
        [minibrowser(), "--enable-write-console-messages-to-stdout=true", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # where WebKit writes the console depends on the session
        text=True,
        env=env,
    )
    timer = threading.Timer(timeout, browser.kill)
    timer.start()
    found: dict[str, str] = {}
    try:
        for line in browser.stdout:
            if MARK + "failed: " in line:
                sys.exit(f"page-bench: {url}: {line[line.find(MARK) + len(MARK):].strip()}")
            for name in wanted:
                at = line.find(MARK + name)
                if at >= 0 and name not in found:
                    found[name] = line[at + len(MARK) + len(name) :].strip()
            if len(found) == len(wanted):
                return found
    finally:
        timer.cancel()
        browser.kill()
        browser.wait()
    missing = ", ".join(f"`{name}`" for name in wanted if name not in found)
    sys.exit(f"page-bench: {url} wrote no {missing} line within {timeout:.0f} s")


def refresh_times(url: str, env: dict[str, str]) -> tuple[list[float], dict[str, int]]:
    """The refresh rounds' ms, then the burst's figures (`reads`, `settled`, `took`)."""
    lines = console_lines(url, ["refreshes ", "burst "], timeout=60.0, env=env)
    return [float(ms) for ms in lines["refreshes "].split()], page_steps(lines["burst "])


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def page_steps(line: str) -> dict[str, int]:
    return {name: int(ms) for name, ms in re.findall(r"(\w+)=(\d+)", line)}


def layout_page(stylesheet: str, markup: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
{stylesheet}</head>
<body><template id="dashboard">{markup}</template>
<script>
document.body.offsetHeight;
const markup = document.getElementById('dashboard').content.cloneNode(true);
const start = performance.now();
document.body.appendChild(markup);
document.body.offsetHeight;
const ms = (performance.now() - start).toFixed(1);
console.log(`{MARK}layout ${{ms}} ${{innerWidth}} × ${{innerHeight}}`);
</script></body></html>"""


def row(label: str, values: list[float], note: str = "") -> None:
    median = statistics.median(values)
    print(f"{label:<58} {median:>6.0f} ms  {min(values):>4.0f}–{max(values):<4.0f} {note}")


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 11
    dist = ROOT / "ui" / "dist"
    if not (dist / "index.html").exists():
        sys.exit("page-bench: no ui/dist; run `npm --prefix ui run build` first")
    work = Path(tempfile.mkdtemp(prefix="page-bench."))
    try:
        shutil.copytree(dist, work, dirs_exist_ok=True)
        shutil.copy(STAND_IN, work / "core-stand-in.js")
        index = (work / "index.html").read_text()
        index = index.replace("<head>", '<head>\n    <script src="./core-stand-in.js"></script>', 1)
        (work / "index.html").write_text(index)
        css_name = re.search(r'href="\./assets/(index-[^"]+\.css)"', index).group(1)
        css = (work / "assets" / css_name).read_text()
        if FONT_STACK in css:
            (work / "assets" / "system-ui.css").write_text(css.replace(FONT_STACK, SYSTEM_UI_STACK))
        server = serve(work)
        base = f"http://127.0.0.1:{server.server_address[1]}"

        markup = json.loads(console_line(f"{base}/index.html", "markup "))
        pages = {
            "the dashboard's markup, no stylesheet (the anchor)": "",
            "the dashboard's markup, the app's stylesheet": f'<link rel="stylesheet" href="assets/{css_name}">',
        }
        if (work / "assets" / "system-ui.css").exists():
            pages["the same, the font stack before (system-ui first)"] = (
                '<link rel="stylesheet" href="assets/system-ui.css">'
            )
        for number, stylesheet in enumerate(pages.values()):
            (work / f"layout-{number}.html").write_text(layout_page(stylesheet, markup))

        viewport = ""
        steps: list[dict[str, int]] = []
        layouts: list[list[float]] = [[] for _ in pages]
        for _ in range(rounds):
            steps.append(page_steps(console_line(f"{base}/index.html", "steps ")))
            for number in range(len(pages)):
                ms, viewport = console_line(f"{base}/layout-{number}.html", "layout ").split(" ", 1)
                layouts[number].append(float(ms))
        # A live session's hot path, with and without JavaScriptCore's JIT (JSC_useJIT=0): what
        # turning the JIT off to save memory would cost the page (docs/benchmarks.md).
        engines = {"JIT on (WebKit's default)": {}, "JIT off (JSC_useJIT=0)": {"JSC_useJIT": "0"}}
        refreshes: dict[str, list[float]] = {name: [] for name in engines}
        bursts: dict[str, list[dict[str, int]]] = {name: [] for name in engines}
        for _ in range(max(1, rounds // 3)):
            for name, env in engines.items():
                times, burst = refresh_times(f"{base}/index.html?refreshes={REFRESHES}", env)
                refreshes[name] += times
                bursts[name].append(burst)
        server.shutdown()

        print(f"The page alone in MiniBrowser, 1,000 projects, {rounds} rounds: median, min–max")
        print("ms since the page started loading:")
        for name in ("bundle", "script", "app_state", "dashboard", "rows", "painted"):
            row(f"  {name}", [s[name] for s in steps if name in s])
        print(f"first style and layout of the painted dashboard, in a {viewport} viewport:")
        anchor = statistics.median(layouts[0])
        for number, (label, values) in enumerate(zip(pages, layouts)):
            over = statistics.median(values) - anchor
            row(f"  {label}", values, f"+{over:.0f} ms over the anchor" if number else "")
        print("a change to every project → the dashboard re-read and repainted (median, p90, max):")
        for name, values in refreshes.items():
            print(
                f"  {name:<56} {statistics.median(values):>6.1f} ms  p90 {percentile(values, 0.9):.1f}"
                f"  max {max(values):.1f}  ({len(values)} changes)"
            )
        print("a burst of 100 changes, one every 5 ms on the page's own thread (median of loads):")
        print("dashboard reads; ms the 100 took to send (a busy page delays its timers); ms from the")
        print("last change to its effect painted; ms from the first change to that paint:")
        for name, runs in bursts.items():
            reads, sent, settled, took = (
                statistics.median(run[k] for run in runs) for k in ("reads", "sent", "settled", "took")
            )
            print(f"  {name:<48} {reads:>4.0f} reads {sent:>5.0f} ms {settled:>5.0f} ms {took:>5.0f} ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
