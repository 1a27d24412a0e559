"""Every keyboard shortcut of the editor, as data: one registry feeds the actions and the help."""

from __future__ import annotations

# action id: (menu, text, key, tooltip)
SHORTCUTS: dict[str, tuple[str, str, str, str]] = {
    "new": ("File", "&New Project…", "Ctrl+N", "Create a project folder"),
    "open": ("File", "&Open Project…", "Ctrl+O", "Open an .avproj folder"),
    "save": ("File", "&Save", "Ctrl+S", "Save the project"),
    "save_as": ("File", "Save &As…", "Ctrl+Shift+S", "Save the project in a new folder"),
    "export": ("File", "&Export Video…", "Ctrl+E", "Render an MP4"),
    "quit": ("File", "&Quit", "Ctrl+Q", "Quit AV Studio"),
    "undo": ("Edit", "&Undo", "Ctrl+Z", "Undo the last edit"),
    "redo": ("Edit", "&Redo", "Ctrl+Shift+Z", "Redo the edit undone last"),
    "hide": ("Edit", "Hide / Show Keypoint", "H", "Hide the keypoint you touched last (or show it again)"),
    "interpolate": ("Edit", "Interpolate Range", "I", "Fill the selected range between anchors"),
    "smooth": ("Edit", "Smooth Range", "S", "Smooth the selected range (anchors stay)"),
    "copy_previous": ("Edit", "Copy Previous Frame", "C",
                      "Hold the pose of the frame before the selected range over the range (or copy it onto this frame)"),
    "reanalyse": ("Edit", "Re-analyse Range", "Ctrl+R", "Run the pose (and face) detector again on the selected range; "
                  "your anchors stay"),
    "play": ("Playback", "Play / Pause", "Space", "Play or pause"),
    "next": ("Playback", "Next Frame", "Right", "One frame forward"),
    "prev": ("Playback", "Previous Frame", "Left", "One frame back"),
    "next10": ("Playback", "Forward 10 Frames", "Ctrl+Right", "Ten frames forward"),
    "prev10": ("Playback", "Back 10 Frames", "Ctrl+Left", "Ten frames back"),
    "first": ("Playback", "First Frame", "Home", "Go to the first frame"),
    "last": ("Playback", "Last Frame", "End", "Go to the last frame"),
    "next_flag": ("Playback", "Next Flagged Frame", "F", "Jump to the next frame on the review list"),
    "prev_flag": ("Playback", "Previous Flagged Frame", "Shift+F", "Jump to the previous frame on the review list"),
    "ab": ("View", "Target ⇄ Generated (A/B)", "G", "Switch the right pane between the target clip and the generated result"),
    "onion": ("View", "Onion Skin", "O", "Show the previous and next frames' skeletons, faint"),
    "f0_pen": ("Voice", "Pitch Pen", "P", "Draw the pitch curve in the Pitch panel"),
    "f0_line": ("Voice", "Pitch Line", "L", "Drag a straight line of pitch"),
    "f0_smooth": ("Voice", "Pitch Smoothing Brush", "B", "Brush over the pitch curve to smooth it"),
    "f0_select": ("Voice", "Pitch Range Select", "R", "Select a time range of the pitch curve"),
    "help": ("Help", "Keyboard Shortcuts", "F1", "List every shortcut"),
}
