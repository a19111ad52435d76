"""The browser test of `stablesam serve` (issue 15): Debian's chromium, headless, driven by Selenium.

Opens the printed URL, draws a box on frame 0 of a bundled clip, propagates, waits for the end,
steps with the keyboard to the frame the tracker scored worst, adds a positive point there,
propagates again, exports, and checks the run folder file for file against
`stablesam track CLIP --prompts RUN/prompts.json --out REF`. Screenshots: before propagation
(before.png), after it (after.png), during the correction (correction.png) and after the second
propagation (corrected.png). Exit code 0 only when every check holds.

    python Scripts/browser_test.py --stablesam .build/debug/stablesam --screenshots /tmp/shots
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parent.parent
# object 1 of Clips/two_objects on frame 0 (Clips/two_objects/boxes.json)
CLIP = ROOT / "Clips/two_objects/clip.mp4"
BOX = (100, 84, 224, 173)


def fail(message):
    print(f"browser test FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def start_server(stablesam, out):
    proc = subprocess.Popen([stablesam, "serve", str(CLIP), "--out", str(out), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 60
    lines = []
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        m = re.search(r"open (http://\S+)", line)
        if m:
            return proc, m.group(1)
    proc.kill()
    fail("serve printed no URL:\n" + "".join(lines))


def browser():
    options = webdriver.ChromeOptions()
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1180,760",
                "--hide-scrollbars"]:
        options.add_argument(arg)
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    return webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)


def canvas_offset(driver, canvas, x, y):
    """Offsets from the canvas's centre (Selenium's origin) for video pixel (x, y)."""
    rect = driver.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.width, r.height];", canvas)
    w, h = driver.execute_script("return [arguments[0].width, arguments[0].height];", canvas)
    sx, sy = rect[0] / w, rect[1] / h
    return round(x * sx - rect[0] / 2), round(y * sy - rect[1] / 2)


def wait_text(driver, element_id, pattern, timeout=30):
    def check(d):
        text = d.find_element(By.ID, element_id).text
        return text if re.search(pattern, text) else False
    try:
        return WebDriverWait(driver, timeout).until(check)
    except Exception:
        fail(f"#{element_id} never matched {pattern!r}; it says {driver.find_element(By.ID, element_id).text!r}")


def wait_runs(driver, n, timeout=300):
    """Waits for the page's n-th finished run; fails unless it ended well."""
    status = driver.find_element(By.ID, "status")
    try:
        WebDriverWait(driver, timeout, poll_frequency=0.25).until(lambda d: status.get_attribute("data-runs") == str(n))
    except Exception:
        fail(f"run {n} did not end in {timeout} s; status {status.text!r}, message {driver.find_element(By.ID, 'message').text!r}")
    if status.get_attribute("data-state") != "done":
        fail(f"run {n} failed: {driver.find_element(By.ID, 'message').text}")
    return driver.find_element(By.ID, "message").text


def step_to(driver, frame):
    """Keyboard stepping: Shift+Right moves 10 frames, Right one (from frame 0)."""
    canvas = driver.find_element(By.ID, "frame-canvas")
    driver.execute_script("arguments[0].focus();", canvas)
    actions = ActionChains(driver)
    actions.send_keys(Keys.HOME)
    for _ in range(frame // 10):
        actions.key_down(Keys.SHIFT).send_keys(Keys.ARROW_RIGHT).key_up(Keys.SHIFT)
    for _ in range(frame % 10):
        actions.send_keys(Keys.ARROW_RIGHT)
    actions.perform()
    wait_text(driver, "frame-number", rf"^frame {frame} /")


def worst_frame(run):
    """The frame (not 0) where object 1 is not tracked, or its score is lowest."""
    worst = None
    for f in sorted((run / "frames").glob("*.json")):
        record = json.loads(f.read_text())
        if record["frame"] == 0:
            continue
        o = next(o for o in record["objects"] if o["id"] == 1)
        badness = (o["state"] != "tracked", -o["score"])
        if worst is None or badness > worst[0]:
            worst = (badness, record["frame"])
    return worst[1]


def compare(served, reference):
    """masks/, palette/, frames/ and overlay.mp4 byte for byte; summary.json apart from timings
    and the frames each sweep tracked (an update tracks fewer than a fresh run)."""
    problems = []
    names = lambda root: sorted(str(p.relative_to(root)) for sub in ["masks", "palette", "frames"] for p in (root / sub).rglob("*") if p.is_file())
    a, b = names(served), names(reference)
    if a != b:
        problems.append(f"file lists differ: only served {sorted(set(a) - set(b))[:5]}, only track {sorted(set(b) - set(a))[:5]}")
    for name in sorted(set(a) & set(b)) + ["overlay.mp4"]:
        if (served / name).read_bytes() != (reference / name).read_bytes():
            problems.append(f"{name} differs")
    def summary(root):
        s = json.loads((root / "summary.json").read_text())
        s.pop("timings")
        s["keyframes"].pop("tracked_forward")
        s["keyframes"].pop("tracked_backward")
        return s
    if summary(served) != summary(reference):
        problems.append("summary.json differs beyond timings and tracked counts")
    return problems, len(a) + 2


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--stablesam", default=str(ROOT / ".build/debug/stablesam"))
    parser.add_argument("--screenshots", help="folder for the screenshots (default: the temporary folder)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="stablesam-browser-"))
    shots = Path(args.screenshots) if args.screenshots else work
    shots.mkdir(parents=True, exist_ok=True)
    run = work / "run"
    server, url = start_server(args.stablesam, run)
    driver = browser()
    try:
        started = time.time()
        driver.get(url)
        wait_text(driver, "video-name", r"480x270, 60 frames")
        canvas = driver.find_element(By.ID, "frame-canvas")
        WebDriverWait(driver, 30).until(lambda d: d.execute_script("return app.image !== null"))

        # A box on frame 0 for object 1, drawn with the mouse.
        x0, y0 = canvas_offset(driver, canvas, BOX[0], BOX[1])
        x1, y1 = canvas_offset(driver, canvas, BOX[2], BOX[3])
        ActionChains(driver).move_to_element_with_offset(canvas, x0, y0).click_and_hold() \
            .move_to_element_with_offset(canvas, (x0 + x1) // 2, (y0 + y1) // 2) \
            .move_to_element_with_offset(canvas, x1, y1).release().perform()
        wait_text(driver, "message", r"keyframe of object 1 on frame 0 saved")
        key = json.loads((run / "prompts.json").read_text())["objects"][0]["keyframes"][0]
        if key["frame"] != 0 or any(abs(a - b) > 2 for a, b in zip(key["box"], BOX)):
            fail(f"the drawn box was saved as {key}, not about {BOX}")
        driver.save_screenshot(str(shots / "before.png"))

        driver.find_element(By.ID, "propagate").click()
        message = wait_runs(driver, 1)
        print(f"propagation 1: {message}")
        states = driver.execute_script("return app.states.length")
        if states != 60:
            fail(f"the page holds states for {states} frames, not 60")

        bad = worst_frame(run)
        step_to(driver, bad)
        WebDriverWait(driver, 30).until(lambda d: d.execute_script("return app.overlay !== null"))
        driver.save_screenshot(str(shots / "after.png"))

        # The correction: a positive point on the object where the tracker did worst.
        record = json.loads((run / "frames" / f"{bad:06d}.json").read_text())
        prompt = next(o for o in record["objects"] if o["id"] == 1)["prompt_box"]
        px, py = (prompt[0] + prompt[2]) / 2, (prompt[1] + prompt[3]) / 2
        driver.find_element(By.ID, "tool-pos").click()
        ox, oy = canvas_offset(driver, canvas, px, py)
        ActionChains(driver).move_to_element_with_offset(canvas, ox, oy).click().perform()
        wait_text(driver, "message", rf"keyframe of object 1 on frame {bad} saved")
        driver.save_screenshot(str(shots / "correction.png"))

        driver.find_element(By.ID, "propagate").click()
        print(f"propagation 2 (correction on frame {bad}): {wait_runs(driver, 2)}")
        WebDriverWait(driver, 30).until(lambda d: d.execute_script("return app.overlay !== null"))
        driver.save_screenshot(str(shots / "corrected.png"))
        driver.find_element(By.ID, "export").click()
        message = wait_runs(driver, 3)
        if str(run) not in message:
            fail(f"export did not say where it wrote: {message!r}")
        print(f"export: {message}")
        print(f"page steps took {time.time() - started:.1f} s")
    finally:
        driver.quit()
        server.terminate()
        server.wait(timeout=30)

    reference = work / "reference"
    subprocess.run([args.stablesam, "track", str(CLIP), "--prompts", str(run / "prompts.json"), "--out", str(reference), "--quiet"],
                   check=True)
    problems, count = compare(run, reference)
    if problems:
        fail("the exported folder is not what `track --prompts` writes:\n  " + "\n  ".join(problems[:20]))
    print(f"browser test passed: {count} files equal to `stablesam track --prompts`; screenshots in {shots}")


if __name__ == "__main__":
    main()
