"""A self-contained HTML page to check a render: audio, live captions, segments, dropped lines."""

from __future__ import annotations

import json
from html import escape
from typing import Any
from urllib.parse import quote

from narrator.manifest import Outputs
from narrator.timeline import Timeline, clock, seconds

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
track.addEventListener("cuechange", () => {
  const active = track.activeCues.length ? track.activeCues[0] : null;
  caption.textContent = active ? active.text : "";
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
        "cues": [
            {
                "index": c.index,
                "start": seconds(c.start, rate),
                "end": seconds(c.end, rate),
                "text": c.shown,
            }
            for c in timeline.cues
        ],
    }


def compose_page(timeline: Timeline, outputs: Outputs) -> str:
    """The HTML page for a timeline; it plays ``outputs.audio`` from the same folder."""
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
