"""The audio formats narrator writes; light to import, for the CLI's help."""

from __future__ import annotations

from enum import StrEnum

from narrator.errors import SettingError


class AudioFormat(StrEnum):
    """The audio files narrator writes (and the mp4 video); WAV directly, the others via ffmpeg."""

    WAV = "wav"
    MP3 = "mp3"
    OGG = "ogg"
    OPUS = "opus"
    FLAC = "flac"
    M4A = "m4a"
    #: An audiobook: AAC in an MP4 file, as m4a, with its chapters.
    M4B = "m4b"
    #: A video for YouTube: the cover or title cards, the sound, the cues (see container).
    MP4 = "mp4"

    @classmethod
    def parse(cls, name: str) -> AudioFormat:
        """The format spelled ``name`` in any case; SettingError naming the choices."""
        try:
            return cls(name.strip().lower())
        except ValueError:
            raise SettingError(
                f"unknown format '{name}': choose one of {', '.join(f.value for f in cls)}"
            ) from None


def format_names(last: str = "or") -> str:
    """The formats as words for a sentence: 'wav, mp3, ... or m4a'."""
    names = [f.value for f in AudioFormat]
    return f"{', '.join(names[:-1])} {last} {names[-1]}"
