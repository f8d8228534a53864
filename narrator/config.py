"""narrator.toml: render settings, extra and disabled cleaning rules, and the lexicon."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from functools import partial
from pathlib import Path
from typing import Any

from narrator.container import PICTURE_FORMATS, Tags
from narrator.engines import VoiceSettings
from narrator.errors import SettingError
from narrator.formats import AudioFormat
from narrator.lexicon import Entry, Lexicon
from narrator.rules import RULE_NAMES, Rule, select
from narrator.script import Cleaning
from narrator.settings import RenderSettings
from narrator.styles import DEFAULT_STYLE, LIMIT_KEYS, style

CONFIG_NAME = "narrator.toml"


@dataclass(frozen=True)
class Overrides:
    """Render settings given on the command line; None means 'not given'."""

    out_dir: Path | None = None
    audio_format: str | None = None
    engine: str | None = None
    voice: str | None = None
    rate: int | None = None
    sentence_pause_ms: int | None = None
    paragraph_pause_ms: int | None = None
    encoding: str | None = None
    speak_headings: bool | None = None
    fps: str | None = None
    subtitle_style: str | None = None
    loudness: str | None = None
    cover: Path | None = None
    burn_subtitles: bool | None = None
    #: Tags ([metadata] and --title, --artist, ...); None leaves a tag to the config.
    title: str | None = None
    artist: str | None = None
    album: str | None = None
    year: str | None = None
    genre: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class Project:
    """What a config file says; empty when there is none."""

    path: Path | None = None
    overrides: Overrides = field(default_factory=Overrides)
    cleaning: Cleaning = field(default_factory=Cleaning)
    lexicon: Lexicon = field(default_factory=Lexicon)
    #: The [subtitles] limits set one by one (max_line, max_cps, ...).
    limits: dict[str, float] = field(default_factory=dict)


_RENDER_KEYS: dict[str, tuple[str, type]] = {
    "out_dir": ("out_dir", str),
    "format": ("audio_format", str),
    "engine": ("engine", str),
    "voice": ("voice", str),
    "rate": ("rate", int),
    "sentence_pause": ("sentence_pause_ms", int),
    "paragraph_pause": ("paragraph_pause_ms", int),
    "encoding": ("encoding", str),
    "speak_headings": ("speak_headings", bool),
    "fps": ("fps", str),  # 25 and 29.97 as numbers too: see _Reader.overrides
    "loudness": ("loudness", str),  # a LUFS number too
    "cover": ("cover", str),
    "burn_subtitles": ("burn_subtitles", bool),
}
#: [metadata]: the tags written into the audio file (a year as a number too).
_METADATA_KEYS = tuple(tag.name for tag in fields(Tags))
_TOP_KEYS = frozenset({"render", "clean", "lexicon", "subtitles", "metadata"})
_SUBTITLE_KEYS = frozenset({"style", *LIMIT_KEYS})
_CLEAN_KEYS = frozenset({"disable", "drop"})
_DROP_KEYS = frozenset({"name", "pattern", "description"})
_ENTRY_KEYS = frozenset({"word", "say", "phonemes", "ipa", "case_sensitive"})


def find_config(script: Path, explicit: Path | None) -> Path | None:
    """The config file to use: ``explicit``, else narrator.toml beside the script, else None."""
    if explicit is not None:
        if not explicit.is_file():
            raise SettingError(f"{explicit}: no such config file")
        return explicit
    beside = script.parent / CONFIG_NAME
    return beside if beside.is_file() else None


def load(script: Path, explicit: Path | None = None) -> Project:
    """Read and validate the config for ``script``; raises SettingError naming file and key."""
    path = find_config(script, explicit)
    if path is None:
        return Project()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingError(f"{path}: not valid TOML: {exc}") from None
    return _Reader(path).project(data)


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> SettingError:
        return SettingError(f"{self.path}: {key}: {problem}")

    def table(self, value: Any, key: str, allowed: frozenset[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, "expected a table")
        for name in value:
            if name not in allowed:
                raise self.fail(
                    f"{key}.{name}" if key else name,
                    f"unknown key; expected one of {', '.join(sorted(allowed))}",
                )
        return value

    def typed(self, value: Any, key: str, kind: type) -> Any:
        if value is None:
            raise self.fail(key, f"missing; expected {_KIND_NAMES[kind]}")
        # bool is an int in Python; a rate of `true` is still a mistake.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(key, f"expected {_KIND_NAMES[kind]}, got {value!r}")
        return value

    def check(self, key: str, build: Callable[[], object]) -> None:
        try:
            build()
        except SettingError as exc:
            raise self.fail(key, str(exc)) from None

    def project(self, data: dict[str, Any]) -> Project:
        self.table(data, "", _TOP_KEYS)
        overrides = self.overrides(
            self.table(data.get("render", {}), "render", frozenset(_RENDER_KEYS))
        )
        metadata = self.table(data.get("metadata", {}), "metadata", frozenset(_METADATA_KEYS))
        for key, value in metadata.items():
            if key == "year" and isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            typed = self.typed(value, f"metadata.{key}", str)
            self.check(f"metadata.{key}", partial(Tags, **{key: typed}))
            overrides = replace(overrides, **{key: typed})
        cleaning = self.cleaning(self.table(data.get("clean", {}), "clean", _CLEAN_KEYS))
        subtitles = self.table(data.get("subtitles", {}), "subtitles", _SUBTITLE_KEYS)
        if "style" in subtitles:
            named = self.typed(subtitles["style"], "subtitles.style", str)
            overrides = replace(overrides, subtitle_style=named)
        limits: dict[str, float] = {}
        for key, kind in LIMIT_KEYS.items():
            if key in subtitles:
                value = subtitles[key]
                if kind is float and isinstance(value, int) and not isinstance(value, bool):
                    value = float(value)
                limits[key] = self.typed(value, f"subtitles.{key}", kind)
        chosen = overrides.subtitle_style or DEFAULT_STYLE
        for key in limits:
            # Each limit against the chosen style, so the error names the key that breaks it.
            self.check(f"subtitles.{key}", partial(style, chosen, **{key: limits[key]}))
        self.check("subtitles", partial(style, chosen, **limits))
        lexicon = self.lexicon(data.get("lexicon", []))
        return Project(self.path, overrides, cleaning, lexicon, limits)

    def overrides(self, render: dict[str, Any]) -> Overrides:
        values: dict[str, Any] = {}
        for key, value in render.items():
            name, kind = _RENDER_KEYS[key]
            if key in ("fps", "loudness") and _is_number(value):
                value = f"{value:g}"
            values[name] = self.typed(value, f"render.{key}", kind)
            if key in _CHECKS:
                self.check(f"render.{key}", partial(_CHECKS[key], value))
        for key in ("out_dir", "cover"):
            if key in values:
                values[key] = (self.path.parent / values[key]).resolve()
        if "cover" in values:
            from narrator.cards import check_cover

            self.check("render.cover", partial(check_cover, values["cover"]))
        return Overrides(**values)

    def cleaning(self, clean: dict[str, Any]) -> Cleaning:
        disabled = self.typed(clean.get("disable", []), "clean.disable", list)
        for k, name in enumerate(disabled):
            if not isinstance(name, str) or name not in RULE_NAMES:
                raise self.fail(
                    f"clean.disable[{k}]",
                    f"unknown rule {name!r}; rules: {', '.join(sorted(RULE_NAMES))}",
                )
        extra: list[Rule] = []
        for k, item in enumerate(self.typed(clean.get("drop", []), "clean.drop", list)):
            key = f"clean.drop[{k}]"
            entry = self.table(item, key, _DROP_KEYS)
            name = self.typed(entry.get("name"), f"{key}.name", str)
            text = self.typed(entry.get("pattern"), f"{key}.pattern", str)
            try:
                pattern = re.compile(text, re.IGNORECASE)
            except re.error as exc:
                raise self.fail(f"{key}.pattern", f"invalid regular expression: {exc}") from None
            description = entry.get("description", f"config rule from {self.path.name}")
            extra.append(Rule(name, self.typed(description, f"{key}.description", str), pattern))
        return Cleaning(*select(disabled, extra))

    def lexicon(self, value: Any) -> Lexicon:
        entries: list[Entry] = []
        for k, item in enumerate(self.typed(value, "lexicon", list)):
            key = f"lexicon[{k}]"
            entry = self.table(item, key, _ENTRY_KEYS)
            word = self.typed(entry.get("word"), f"{key}.word", str).strip()
            if not word:
                raise self.fail(f"{key}.word", "must not be empty")
            said: dict[str, str | None] = {
                name: self.typed(entry[name], f"{key}.{name}", str) if name in entry else None
                for name in ("say", "phonemes", "ipa")
            }
            if not any(said.values()):
                raise self.fail(
                    key,
                    "give 'say' (a respelling), 'phonemes' (eSpeak notation) "
                    "or 'ipa' (Piper's IPA, without brackets)",
                )
            for name in ("phonemes", "ipa"):
                notation = said[name]
                if notation is not None and ("[[" in notation or "]]" in notation):
                    raise self.fail(f"{key}.{name}", "write the phonemes without [[ ]]")
            entries.append(
                Entry(
                    word,
                    said["say"],
                    said["phonemes"],
                    self.typed(entry.get("case_sensitive", False), f"{key}.case_sensitive", bool),
                    said["ipa"],
                )
            )
        return Lexicon(tuple(entries))


_KIND_NAMES = {
    str: "a string",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    list: "a list",
}
# Values checked by building the settings they belong to, so the limits live in one place.
_CHECKS: dict[str, Callable[[Any], object]] = {
    "engine": lambda v: VoiceSettings(engine=v),
    "rate": lambda v: VoiceSettings(rate=v),
    "format": AudioFormat.parse,
    "sentence_pause": lambda v: RenderSettings(sentence_pause_ms=v),
    "paragraph_pause": lambda v: RenderSettings(paragraph_pause_ms=v),
    "encoding": lambda v: RenderSettings(encoding=v),
    "fps": lambda v: RenderSettings(fps=v),
    "loudness": lambda v: RenderSettings(loudness=v),
}


def settings(project: Project, given: Overrides) -> RenderSettings:
    """Render settings: command line first, then the config file, then the defaults.

    Raises SettingError when the combination is invalid (an unknown engine or
    format, a rate or pause out of range).
    """
    chosen = {
        name: _first(getattr(given, name), getattr(project.overrides, name))
        for name in Overrides.__dataclass_fields__
    }
    base = RenderSettings()
    audio_format = AudioFormat.parse(str(_first(chosen["audio_format"], base.audio_format)))
    # A cover or burned cues from the config file are the project's default: they go
    # where the format can carry them. Given on the command line, they must fit.
    if given.cover is None and audio_format not in PICTURE_FORMATS:
        chosen["cover"] = None
    if given.burn_subtitles is None and audio_format is not AudioFormat.MP4:
        chosen["burn_subtitles"] = None
    cleaning = project.cleaning
    if chosen["speak_headings"] is not None:
        cleaning = replace(cleaning, speak_headings=chosen["speak_headings"])
    return RenderSettings(
        out_dir=_first(chosen["out_dir"], base.out_dir),
        audio_format=audio_format,
        voice=VoiceSettings(
            engine=_first(chosen["engine"], base.voice.engine),
            voice=chosen["voice"],
            rate=_first(chosen["rate"], base.voice.rate),
        ),
        sentence_pause_ms=_first(chosen["sentence_pause_ms"], base.sentence_pause_ms),
        paragraph_pause_ms=_first(chosen["paragraph_pause_ms"], base.paragraph_pause_ms),
        encoding=chosen["encoding"],
        fps=chosen["fps"],
        loudness=_first(chosen["loudness"], base.loudness),
        tags=Tags(**{key: chosen[key] for key in _METADATA_KEYS}),
        cover=chosen["cover"],
        burn_subtitles=_first(chosen["burn_subtitles"], base.burn_subtitles),
        style=style(chosen["subtitle_style"] or DEFAULT_STYLE, **project.limits),
        cleaning=cleaning,
        lexicon=project.lexicon,
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _first(value: Any, default: Any) -> Any:
    """``value`` unless it is None (not given)."""
    return default if value is None else value
