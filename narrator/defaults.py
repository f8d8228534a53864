"""Default settings, in a module light enough for the CLI to import at start-up."""

DEFAULT_ENGINE = "pyttsx3"
DEFAULT_RATE = 175
DEFAULT_FORMAT = "wav"
DEFAULT_SENTENCE_PAUSE_MS = 350
DEFAULT_PARAGRAPH_PAUSE_MS = 900
