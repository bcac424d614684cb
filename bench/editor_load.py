"""How fast the transcript editor is ready for a 3-hour interview, in a real browser.

    .venv/bin/python -m bench.editor_load [--segments 2500] [--runs 5]

Builds a scratch archive with one interview of ``--segments`` segments over three
hours (about 12 words each, 3% of words uncertain, the narrator's real name in
one segment of twenty so that hidden labels are drawn), a real 11-second listening
copy (the JFK fixture) to play, and an archivist. Serves it with Werkzeug on
loopback and opens the editor in Debian's chromium (headless, cold cache, a new
browser context for each run), reading the browser's own clocks:

- server: request start to response end of the page (the HTML carries the whole
  transcript as JSON);
- first: navigation start to the first frame painted with the transcript's first
  screenful (the editor draws 60 segments at once, the rest in chunks after);
- drawn: navigation start to every segment drawn and the editor working (keys,
  playback tracking, saved changes from an earlier visit);
- complete: navigation start to the frame painted after that;

then plays the audio for 8 seconds with the whole transcript on the page and
reports the frame intervals and long tasks (over 50 ms) seen meanwhile, and the
round trip of saving one corrected segment.
"""

from __future__ import annotations

import argparse
import random
import statistics
import threading
import time

from bench.common import FIXTURES, ScratchArchive

PASSWORD = "a long bench password"  # noqa: S105 (a scratch archive's account)


def build(app, segments: int) -> int:
    from faker import Faker

    from archive import accounts, interviews, recordings, unit_of_work
    from archive.extensions import db
    from archive.models import Segment
    from archive.recordings import listening_copies, storage
    from archive.search import indexing

    fake = Faker("en_GB")
    Faker.seed(7)
    rng = random.Random(7)
    with app.app_context():
        staff = accounts.create_user(None, "archivist@example.org", "archivist", PASSWORD)
        interview = interviews.create_interview(staff, {"title": "Three hours"})
        unit_of_work.commit()
        with storage.copy_to_incoming(FIXTURES / "jfk.flac") as temp:
            recording = recordings.add_recording(None, interview, temp, "part-1.flac")
            unit_of_work.commit()
        narrator = interviews.add_speaker(
            interview, pseudonym="Svetlana", role="narrator", real_name="Gulnara Bekova"
        )
        asker = interviews.add_speaker(interview, pseudonym="Interviewer", role="interviewer")
        step = 3 * 3600 / segments
        for index in range(segments):
            start = index * step
            words = fake.sentence(nb_words=12, variable_nb_words=True).split()
            if index % 20 == 5:
                words[2:2] = ["Gulnara", "Bekova"]
            spacing = (step - 0.3) / len(words)
            timed = [
                {
                    "start": round(start + i * spacing, 3),
                    "end": round(start + (i + 1) * spacing, 3),
                    "word": " " + word,
                    "probability": 0.3 if rng.random() < 0.03 else 0.9,
                }
                for i, word in enumerate(words)
            ]
            db.session.add(
                Segment(
                    recording_id=recording.id,
                    speaker_id=(narrator if index % 3 else asker).id,
                    start=round(start, 3),
                    end=round(start + step - 0.3, 3),
                    text=" ".join(words),
                    words=timed,
                )
            )
        recording.status = "done"
        interview.workflow_status = "machine_transcript"
        indexing.reindex(db.session, interview)  # as the worker does when a part is done
        db.session.commit()
        listening_copies.build(recording.id)
        recording.duration = 3 * 3600.0
        db.session.commit()
        return interview.id


def serve(app) -> tuple[str, object]:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


TIMINGS = """async () => {
  const nav = performance.getEntriesByType('navigation')[0];
  const marks = document.documentElement.dataset;
  const complete = await new Promise(
    r => requestAnimationFrame(() => setTimeout(() => r(performance.now()))));
  return {server: nav.responseEnd - nav.requestStart, bytes: nav.transferSize,
          first: Number(marks.editorPainted), drawn: Number(marks.editorReady),
          complete: complete, segments: document.querySelectorAll('.seg').length};
}"""

SMOOTHNESS = """async (seconds) => {
  const long = [];
  new PerformanceObserver(list => list.getEntries().forEach(e => long.push(e.duration)))
    .observe({type: 'longtask'});
  const frames = [];
  let last = performance.now();
  const end = last + seconds * 1000;
  await new Promise(done => {
    (function tick(now) {
      frames.push(now - last); last = now;
      if (now < end) { requestAnimationFrame(tick); } else { done(); }
    })(last);
  });
  frames.sort((a, b) => a - b);
  return {frames: frames.length, p95: frames[Math.floor(frames.length * 0.95)],
          worst: frames[frames.length - 1], long: long,
          playing: !document.getElementById('player').paused,
          highlighted: document.querySelectorAll('.w.now').length};
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=2500)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    scratch = ScratchArchive("tiny.en")
    try:
        app = scratch.app()
        began = time.perf_counter()
        interview_id = build(app, args.segments)
        print(f"built {args.segments} segments in {time.perf_counter() - began:.1f} s")
        base, server = serve(app)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            results = []
            for _ in range(args.runs):
                context = browser.new_context(viewport={"width": 1366, "height": 800})
                page = context.new_page()
                page.goto(f"{base}/login")
                page.get_by_label("Email").fill("archivist@example.org")
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_url(f"{base}/")
                page.goto(f"{base}/interviews/{interview_id}/edit")
                page.wait_for_function("document.documentElement.dataset.editorReady")
                results.append(page.evaluate(TIMINGS))
                last = (context, page)
                if _ < args.runs - 1:
                    context.close()
            context, page = last
            for key in ("server", "first", "drawn", "complete"):
                values = [r[key] for r in results]
                print(
                    f"{key:8s} median {statistics.median(values):6.0f} ms   "
                    f"max {max(values):6.0f} ms   ({', '.join(f'{v:.0f}' for v in values)})"
                )
            last_run = results[-1]
            print(f"page size {last_run['bytes'] / 1e6:.2f} MB, {last_run['segments']} segments")

            page.locator(".seg").nth(0).locator(".w").first.click()
            page.wait_for_function("!document.getElementById('player').paused")
            smooth = page.evaluate(SMOOTHNESS, 8)
            print(
                f"playing 8 s: {smooth['frames']} frames, p95 interval {smooth['p95']:.1f} ms, "
                f"worst {smooth['worst']:.1f} ms, long tasks {len(smooth['long'])} "
                f"{[round(x) for x in smooth['long']]}, still playing {smooth['playing']}, "
                f"words highlighted {smooth['highlighted']}"
            )
            page.keyboard.press("Escape")
            saves = []
            for index in range(5):
                word = page.locator(".seg").nth(10 + index).locator(".w").nth(1)
                word.dblclick()
                with page.expect_response(lambda r: "/segments/" in r.url) as response:
                    page.keyboard.type("corrected")
                    page.locator(".seg-text").nth(30).focus()
                response.value.finished()
                saves.append(response.value.request.timing["responseEnd"])
            print(f"save one segment: median {statistics.median(saves):.0f} ms ({saves})")
            context.close()
            browser.close()
        server.shutdown()
    finally:
        scratch.cleanup()


if __name__ == "__main__":
    main()
