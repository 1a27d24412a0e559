"""Every keyboard shortcut of the editor, as data (action id → key): the actions' menus and the F1
help are built from it. The actions themselves (text, tip, menu) are declared by the panels."""

from __future__ import annotations

SHORTCUTS: dict[str, str] = {
    "new": "Ctrl+N", "open": "Ctrl+O", "save": "Ctrl+S", "save_as": "Ctrl+Shift+S", "export": "Ctrl+E",
    "quit": "Ctrl+Q",
    "undo": "Ctrl+Z", "redo": "Ctrl+Shift+Z", "hide": "H", "interpolate": "I", "smooth": "S", "copy_previous": "C",
    "reanalyse": "Ctrl+R",
    "play": "Space", "next": "Right", "prev": "Left", "next10": "Ctrl+Right", "prev10": "Ctrl+Left", "first": "Home",
    "last": "End", "next_flag": "F", "prev_flag": "Shift+F",
    "ab": "G", "onion": "O",
    "f0_pen": "P", "f0_line": "L", "f0_smooth": "B", "f0_select": "R",
    "help": "F1",
}
