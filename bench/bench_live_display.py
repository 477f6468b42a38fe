"""Frame rate of the run screen's live plots in a browser while a 1 kHz trial records at real time.

One command::

    python bench/bench_live_display.py [--velocity-dps 60] [--repetitions 5]

It starts a real ``isokin serve`` (temporary SQLite, the bundled simulator at real-time
speed, 1 kHz), signs in to the web app in Debian's chromium (``/usr/bin/chromium``, driven
by Playwright), runs one knee con/con trial from the run screen and reads the live view's
own counters: how many times the plots were redrawn with new points, over how long, and
how many WebSocket messages brought bins. It prints the display's frames per second and,
as the baseline measured in the same run, the WebSocket message rate (the display plays the
bins out on its own clock, so it redraws several times per message).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--velocity-dps", type=float, default=60.0, help="set velocity, deg/s")
    parser.add_argument("--repetitions", type=int, default=5, help="repetitions per direction")
    args = parser.parse_args()
    isokin = shutil.which("isokin", path=str(Path(sys.executable).parent)) or "isokin"
    with tempfile.TemporaryDirectory() as data:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ISOKIN_")} | {"ISOKIN_DATA_DIR": data}
        token = subprocess.run([isokin, "token", "create", "--role", "operator"], env=env, capture_output=True, text=True,
                               check=True).stdout.split()[-1]  # fmt: skip
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([isokin, "serve", "--port", str(port), "--device", "simulator", "--log-level", "warning"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            headers = {"Authorization": f"Bearer {token}"}
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/api/v1/health", timeout=1).json()["device"]["state"] == "connected":
                        break
                except (httpx.HTTPError, ValueError, KeyError):
                    pass
                time.sleep(0.1)
            subject = httpx.post(f"{base}/api/v1/subjects", json={"code": "FPS"}, headers=headers).json()
            session = httpx.post(f"{base}/api/v1/sessions", json={"subject_id": subject["id"]}, headers=headers).json()
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.goto(f"{base}/")
                page.fill("input[name=token]", token)
                page.press("input[name=token]", "Enter")
                page.wait_for_selector("h1:text-is('Subjects')")
                page.goto(f"{base}/#/sessions/{session['id']}/run")
                page.fill("input[name=velocity_dps]", f"{args.velocity_dps:g}")
                page.fill("input[name=repetitions]", str(args.repetitions))
                page.click("button:text('Run one trial')")
                page.click("button:text('Start set 1')")
                page.wait_for_selector("#fig-h", timeout=600_000)
                s = page.evaluate("({...window.isokinLive, drawTimes: undefined})")
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    seconds = (s["lastDrawMs"] - s["firstDrawMs"]) / 1000
    fps = (s["draws"] - 1) / seconds
    messages = s["messagesWithBins"] / seconds
    print(f"1 kHz knee trial at real time, {args.velocity_dps:g} deg/s x {args.repetitions}: {s['binsDrawn']} bins drawn "
          f"of {s['binsReceived']} received over {seconds:.1f} s")
    print(f"  display: {fps:.1f} frames per second ({s['draws']} redraws)")
    print(f"  WebSocket: {messages:.1f} messages with bins per second (baseline); display / messages = {fps / messages:.1f}x")


if __name__ == "__main__":
    main()
