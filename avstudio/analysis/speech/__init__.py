"""Speech as lip sync reads it: features on the video's frame grid (log-mel, MFCC, loudness, speech
probability), voice activity (silero VAD), words and phones aligned to a transcript or recognized
without one (pocketsphinx), and visemes — the mouth shapes phones make — from a table kept as data."""
