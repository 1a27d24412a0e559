"""The lip-sync (talking face) models: their nets, data, training on the shared loop (ml/runs.py),
scoring and rendering land here, a row of ml/kinds.py each, independent of ml.motion and ml.voice."""
