"""The project model: media references, tracks, edits, time, errors. numpy only — no Qt, no torch."""
