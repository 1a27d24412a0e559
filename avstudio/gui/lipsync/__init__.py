"""The lip-sync (talking face) workflow in the editor: its panels land here (the face landmarks to fix,
the mouth and viseme rows, the lip-sync models' training and preview), on the same EditorContext,
events and operations as motion and voice, and independent of them (pyproject's contracts)."""
