"""narrator: a narration script in, a timed voice-over and its subtitles out, offline."""

__version__ = "0.1.0"
