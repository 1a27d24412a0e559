"""Media I/O: probing, frame-exact decoding, audio loading, export. Built on PyAV (FFmpeg)."""
