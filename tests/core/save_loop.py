"""Helper for test_store's kill test: save (and autosave) a project over and over, each save a new consistent
version (settings, track contents and the set of tracks all carry it); print each committed one."""

import sys

import numpy as np

from avstudio.core.autosave import autosave_project
from avstudio.core.store import load_project, save_project
from avstudio.core.tracks import Flag, PoseTrack

folder = sys.argv[1]
project = load_project(folder)
main_id = next(iter(project.tracks))
version = int(project.settings.get("version", 0))
while True:
    version += 1
    track = project.tracks[main_id]
    track.points[:] = version
    track.flags[:] = version % 3
    project.mark_track_changed(main_id)
    project.settings["version"] = version
    # Alternate a second track in and out, so saves also add and remove files.
    extra = [t for t in project.tracks if t != main_id]
    for tid in extra:
        project.remove_track(tid)
    if version % 2:
        t = PoseTrack.empty(50, 33, "mediapipe33", name=f"extra-{version}")
        t.points[:] = version
        t.flags[:] = Flag.AUTO
        project.add_track(t)
    save_project(project)
    autosave_project(project, keep=3)  # copies written, and old ones deleted, while kills land
    print(version, flush=True)
