"""Actions as data (Shotcut's registry, napari's Action(id, title, callback, menus, keybindings)):
each panel declares its actions; the window builds the menus from them in one place, keys come from
gui/shortcuts.py, and an action's menu path is how the editor names a fix (UserError.hint)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

from avstudio.gui.shortcuts import SHORTCUTS

# Menus in order, each with its groups in order (a separator between groups).
MENUS: dict[str, tuple[str, ...]] = {
    "File": ("project", "media", "interop", "export", "quit"),
    "Edit": ("undo", "range"),
    "Playback": ("transport", "flags"),
    "Analysis": ("analyse", "retarget", "model"),
    "Voice": ("analyse", "model", "pitch", "interop"),
    "Lip Sync": ("drive", "visemes", "schedule", "edit", "model", "view"),
    "View": ("view", "docks"),
    "Help": ("help",),
}


@dataclass(frozen=True)
class ActionSpec:
    id: str
    menu: str
    group: str
    text: str
    tip: str = ""
    checkable: bool = False

    @property
    def key(self) -> str | None:
        return SHORTCUTS.get(self.id)

    @property
    def path(self) -> str:
        """How a message names it: "Analysis ▸ Analyse Target Pose"."""
        return f"{self.menu} ▸ {self.text.replace('&', '').rstrip('…')}"


Entry = tuple[ActionSpec, Callable]


def make_action(parent, spec: ActionSpec, slot: Callable) -> QAction:
    a = QAction(spec.text, parent)
    a.setObjectName(spec.id)
    a.setStatusTip(spec.tip)
    if spec.key:
        a.setShortcut(QKeySequence(spec.key))
        a.setShortcutContext(Qt.WindowShortcut)
        a.setToolTip(f"{spec.tip} ({spec.key})" if spec.tip else spec.key)
    a.setCheckable(spec.checkable)
    a.triggered.connect(lambda checked=False: slot())
    return a


def build_menus(window, entries: list[Entry]):
    """The menu bar of ``window`` from every panel's entries; returns (id → QAction, name → QMenu)."""
    actions: dict[str, QAction] = {}
    menus = {}
    bar = window.menuBar()
    for menu_name, groups in MENUS.items():
        menu = menus[menu_name] = bar.addMenu(f"&{menu_name}")
        menu.setObjectName(f"menu_{menu_name.lower()}")
        first = True
        for group in groups:
            mine = [(s, f) for s, f in entries if s.menu == menu_name and s.group == group]
            if not mine:
                continue
            if not first:
                menu.addSeparator()
            first = False
            for spec, slot in mine:
                if spec.id in actions:
                    raise ValueError(f"two actions have the id {spec.id!r}")
                actions[spec.id] = make_action(window, spec, slot)
                actions[spec.id].setData(spec)
                menu.addAction(actions[spec.id])
    unknown = {s.menu for s, _ in entries} - set(MENUS) | {(s.menu, s.group) for s, _ in entries
                                                         if s.menu in MENUS and s.group not in MENUS[s.menu]}
    if unknown:
        raise ValueError(f"actions in unknown menus or groups: {unknown}")
    return actions, menus


def shortcut_rows(actions: dict[str, QAction]) -> list[tuple[str, str]]:
    """(text, key) of every action with a key, in menu order (the F1 list)."""
    return [(a.text().replace("&", ""), a.data().key) for a in actions.values() if a.data().key]
