"""A self-contained HTML page to check a render: audio, live captions, segments, dropped lines.

With word times the caption highlights the word being spoken; a waveform strip
with the cues on it shows where the speech is, and seeks where it is clicked.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any
from urllib.parse import quote

from narrator.manifest import Outputs
from narrator.timeline import Cue, Timeline, clock, seconds
from narrator.waveform import Waveform

# The strip's height in its own units: a column's peak is drawn up and down from the middle.
_STRIP_HEIGHT = 100

# Everything is inline and the cues are embedded: a page opened from disk (file://)
# may not fetch a separate .vtt track, so the script builds the track from this data.
_STYLE = """
:root { color-scheme: light dark; --accent: #2563eb; --muted: #8a8a8a; }
body { font: 16px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 52rem; padding: 1rem; }
header p { color: var(--muted); margin-top: 0; }
.player { position: sticky; top: 0; background: Canvas; padding: .5rem 0; z-index: 1; }
audio { width: 100%; }
.caption { min-height: 3.2em; margin-top: .5rem; padding: .4rem .8rem; border-radius: .4rem;
  background: #000c; color: #fff; text-align: center; white-space: pre-line;
  font-size: 1.15rem; }
.caption:empty { visibility: hidden; }
.caption .word.current { color: #ffd700; }
.strip { display: block; width: 100%; height: 4rem; margin-top: .5rem; cursor: pointer;
  background: #8881; border-radius: .3rem; }
.strip .region { fill: #2563eb2e; stroke: #2563eb80; stroke-width: 1;
  vector-effect: non-scaling-stroke; }
.strip .wave { fill: var(--muted); }
.strip .playhead { stroke: var(--accent); stroke-width: 2; }
ol.segments { padding-left: 0; list-style: none; }
.segments li { display: flex; gap: .8rem; padding: .35rem .5rem; border-radius: .3rem;
  cursor: pointer; }
.segments li:hover { background: #8882; }
.segments li.active { background: #2563eb22; }
.segments time { color: var(--muted); font-variant-numeric: tabular-nums; min-width: 3.5rem; }
.segments .cue.active { background: var(--accent); color: #fff; border-radius: .2rem; }
.chapter { font-weight: 600; margin: 1rem 0 .2rem; }
.dropped li { color: var(--muted); }
.dropped .rule { font-family: ui-monospace, monospace; font-size: .85em; }
.dropped .text { text-decoration: line-through; }
"""

_SCRIPT = """
"use strict";
const data = JSON.parse(document.getElementById("narrator-data").textContent);
const audio = document.getElementById("audio");
const caption = document.getElementById("caption");
const items = Array.from(document.querySelectorAll("#segments li[data-start]"));
const cueSpans = new Map(Array.from(document.querySelectorAll(".cue[data-cue]"),
  (span) => [span.dataset.cue, span]));
const track = audio.addTextTrack("subtitles", "Narration", data.language);
track.mode = "hidden";
for (const c of data.cues) {
  const cue = new VTTCue(c.start, c.end, c.text);
  cue.id = String(c.index);
  track.addCue(cue);
}
function mark(selector, element) {
  for (const old of document.querySelectorAll(selector + ".active")) {
    if (old !== element) old.classList.remove("active");
  }
  if (element) element.classList.add("active");
}
const cueData = new Map(data.cues.map((c) => [String(c.index), c]));
function showCaption(active) {
  const words = active ? cueData.get(active.id).words : null;
  if (!words) {
    caption.textContent = active ? active.text : "";
    return;
  }
  caption.replaceChildren();
  for (const w of words) {
    const span = document.createElement("span");
    span.className = "word";
    span.textContent = w.text;
    span.dataset.start = w.start;
    span.dataset.end = w.end;
    caption.append(span, w.after);
  }
}
// The word being spoken: timeupdate comes only a few times a second, so while
// playing this runs every frame.
function highlight() {
  const time = audio.currentTime;
  for (const span of caption.querySelectorAll(".word")) {
    const on = Number(span.dataset.start) <= time && time < Number(span.dataset.end);
    span.classList.toggle("current", on);
  }
  playhead.setAttribute("x1", time / data.duration * strip.viewBox.baseVal.width);
  playhead.setAttribute("x2", playhead.getAttribute("x1"));
}
function frame() {
  highlight();
  if (!audio.paused && !audio.ended) requestAnimationFrame(frame);
}
const strip = document.getElementById("waveform");
const playhead = strip.querySelector(".playhead");
strip.addEventListener("click", (event) => {
  const box = strip.getBoundingClientRect();
  const share = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
  audio.currentTime = share * data.duration;
});
audio.addEventListener("play", () => requestAnimationFrame(frame));
for (const kind of ["seeked", "pause", "timeupdate"]) audio.addEventListener(kind, highlight);
track.addEventListener("cuechange", () => {
  const active = track.activeCues.length ? track.activeCues[0] : null;
  showCaption(active);
  highlight();
  mark(".cue", active ? cueSpans.get(active.id) : null);
});
function segmentAt(time) {
  let found = null;
  for (const item of items) {
    if (Number(item.dataset.start) <= time + 1e-3) found = item; else break;
  }
  return found;
}
audio.addEventListener("timeupdate", () => mark("#segments li", segmentAt(audio.currentTime)));
for (const item of items) {
  item.addEventListener("click", () => {
    audio.currentTime = Number(item.dataset.start);
    mark("#segments li", item);
  });
}
"""


def _data(timeline: Timeline) -> dict[str, Any]:
    rate = timeline.sample_rate
    return {
        "language": "en",
        "duration": seconds(timeline.samples, rate),
        "cues": [_cue_data(c, rate) for c in timeline.cues],
    }


def _cue_data(cue: Cue, rate: int) -> dict[str, Any]:
    found: dict[str, Any] = {
        "index": cue.index,
        "start": seconds(cue.start, rate),
        "end": seconds(cue.end, rate),
        "text": cue.shown,
    }
    if cue.words:
        found["words"] = [
            {
                "text": text,
                "after": after,
                "start": seconds(word.start, rate),
                "end": seconds(word.end, rate),
            }
            for word, (text, after) in zip(cue.words, cue.shown_words(), strict=True)
        ]
    return found


def _strip(timeline: Timeline, waveform: Waveform | None) -> str:
    """The waveform strip as inline SVG: the cues' regions, the peaks, a playhead.

    Its width in its own units is the number of columns (1000 without a
    waveform); the page stretches it to the player's width.
    """
    width = len(waveform.peaks) if waveform is not None and waveform.peaks else 1000
    middle = _STRIP_HEIGHT / 2
    scale = width / max(timeline.samples, 1)
    regions = [
        f'<rect class="region" data-cue="{c.index}" x="{c.start * scale:.2f}" y="0" '
        f'width="{max(c.end - c.start, 1) * scale:.2f}" height="{_STRIP_HEIGHT}"></rect>'
        for c in timeline.cues
    ]
    wave = ""
    if waveform is not None and waveform.peaks:
        # Heights are shown against the loudest column, so quiet speech still shows.
        loudest = max(max(waveform.peaks), 1)
        heights = [middle * p / loudest for p in waveform.peaks]
        top = " ".join(f"{c + 0.5} {middle - h:.1f}" for c, h in enumerate(heights))
        bottom = " ".join(
            f"{c + 0.5} {middle + h:.1f}" for c, h in reversed(list(enumerate(heights)))
        )
        wave = f'<path class="wave" d="M0 {middle} L{top} {width} {middle} L{bottom} Z"></path>'
    return (
        f'<svg id="waveform" class="strip" viewBox="0 0 {width} {_STRIP_HEIGHT}" '
        'preserveAspectRatio="none" role="img" aria-label="Waveform: click to seek">'
        f"{''.join(regions)}{wave}"
        f'<line class="playhead" x1="0" x2="0" y1="0" y2="{_STRIP_HEIGHT}" '
        'vector-effect="non-scaling-stroke"></line></svg>'
    )


def compose_page(timeline: Timeline, outputs: Outputs, waveform: Waveform | None = None) -> str:
    """The HTML page for a timeline; it plays ``outputs.audio`` from the same folder.

    ``waveform`` (from the programme's audio) is drawn in the strip under the player.
    """
    rate = timeline.sample_rate
    pending = list(timeline.chapters)  # in script order, so in time order
    rows: list[str] = []
    for paragraph in timeline.paragraphs:
        for sentence in paragraph.sentences:
            while pending and pending[0].start <= sentence.start:
                rows.append(f'<li class="chapter">{escape(pending.pop(0).title)}</li>')
            cues = " ".join(
                f'<span class="cue" data-cue="{c.index}">{escape(c.text)}</span>'
                for c in sentence.cues
            )
            start = seconds(sentence.start, rate)
            rows.append(
                f'<li data-segment="{sentence.segment}" data-start="{start}">'
                f"<time>{clock(start)}</time><span>{cues}</span></li>"
            )
    rows += [f'<li class="chapter">{escape(c.title)}</li>' for c in pending]
    dropped = [
        f'<li>line {d.line} <span class="rule">{escape(d.rule)}</span> '
        f'<span class="text">{escape(d.text)}</span></li>'
        for d in timeline.source.dropped
    ]
    payload = json.dumps(_data(timeline), ensure_ascii=False).replace("</", "<\\/")
    title = escape(outputs.audio.rpartition(".")[0] or outputs.audio)
    minutes = clock(timeline.duration)
    made = timeline.provenance
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<link rel="icon" href="data:,">',
            f"<title>{title} · narrator</title>",
            f"<style>{_STYLE}</style>",
            "</head>",
            "<body>",
            f"<header><h1>{title}</h1><p>{minutes} · {len(timeline.cues)} cues · "
            f"{escape(made.engine)}, {escape(made.voice or 'default voice')}, "
            f"{made.rate_wpm} wpm</p></header>",
            '<section class="player">',
            f'<audio id="audio" controls preload="auto" src="{escape(quote(outputs.audio))}">'
            "</audio>",
            _strip(timeline, waveform),
            '<div id="caption" class="caption" aria-live="polite"></div>',
            "</section>",
            "<h2>Segments</h2>",
            '<ol id="segments" class="segments">',
            *rows,
            "</ol>",
            '<section class="dropped">',
            f"<h2>Left out ({len(dropped)})</h2>",
            "<ul>",
            *dropped,
            "</ul>",
            "</section>",
            f'<script type="application/json" id="narrator-data">{payload}</script>',
            f"<script>{_SCRIPT}</script>",
            "</body>",
            "</html>",
            "",
        ]
    )
