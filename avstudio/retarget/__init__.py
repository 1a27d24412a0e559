"""Retargeting: pose normalization (Everybody Dance Now, with a fallback when ankles are missing)
and the stick-figure / face-sketch rendering the generator is trained on."""
