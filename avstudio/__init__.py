"""AV Studio: a desktop editor for audio-visual conversion."""

__version__ = "0.1.0"
