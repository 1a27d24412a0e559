"""What every command module shares: the progress bar, running a job or an operation (its edit goes
through History, then the project is saved, then its summary is printed), exit codes and the words
for a fix ("hints"). Imports nothing heavy: ``avstudio --help`` stays quick."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from avstudio.core import textfmt
from avstudio.core.errors import UserError

EXIT_USER_ERROR = 2
EXIT_CANCELLED = 130
PLAIN_EVERY_S = 30.0

# What the editor calls an action (UserError.hint), as the command that does it.
_HINTS = {
    "retarget": "avstudio retarget PROJECT",
    "relink": "avstudio relink PROJECT ROLE NEW_PATH",
    "convert_voice": "avstudio voice convert PROJECT --model MODEL",
    "train": "avstudio train PROJECT",
    "train_voice": "avstudio voice train PROJECT",
    "train_lipsync": "avstudio lipsync train PROJECT",
    "train_mouth": "avstudio lipsync train-mouth PROJECT",
    "train_expert": "avstudio lipsync train-expert PROJECT",
    "lipsync_drive": "avstudio lipsync drive PROJECT",
    "lipsync_speech": "avstudio lipsync phonemes PROJECT --clip CLIP",
}


def hint_command(hint: str | None) -> str | None:
    """The command line that does what a UserError's hint names (None when there is none)."""
    if not hint:
        return None
    if hint in _HINTS:
        return _HINTS[hint]
    for role in ("source_voice", "target_voice", "source", "target"):
        if hint == f"analyse_{role}":
            return f"avstudio voice analyze PROJECT --clip {role}"
        for kind in ("pose", "face"):
            if hint == f"analyse_{role}_{kind}":
                return f"avstudio analyze {kind} PROJECT --clip {role}"
        if hint == f"set_{role}":
            return f"avstudio set PROJECT {role} FILE"
    return None


def print_error(exc: UserError) -> None:
    import os

    print(f"avstudio: error: {exc.message}", file=sys.stderr)
    command = hint_command(exc.hint)
    if command:
        print(f"  to fix it: {command}", file=sys.stderr)
    if os.environ.get("AVSTUDIO_DEBUG") and exc.details:
        print(exc.details, file=sys.stderr)


class ProgressBar:
    """A one-line bar with ETA on a terminal; periodic plain lines when output is a file or pipe."""

    def __init__(self, stream=None, width: int = 30):
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = self.stream.isatty()
        self._last_print = 0.0
        self._last_pct = -100

    def update(self, handle, progress) -> None:
        frac = progress.fraction
        now = time.monotonic()
        if self.tty:
            if now - self._last_print < 0.1 and frac not in (None, 1.0):
                return
            bar = ("#" * int(self.width * (frac or 0))).ljust(self.width, ".") if frac is not None else "?" * self.width
            pct = f"{frac * 100:5.1f}%" if frac is not None else "  ...."
            line = f"\r[{bar}] {pct} ETA {textfmt.duration(handle.eta)}  {progress.message[:60]}"
            self.stream.write(line.ljust(120)[:120])
            self.stream.flush()
        else:
            # A log (a file, a pipe, nohup): a plain line every 10 %, and at least every PLAIN_EVERY_S
            # seconds, so a long run never looks stalled.
            pct = int((frac or 0) * 100)
            if pct - self._last_pct < 10 and frac != 1.0 and now - self._last_print < PLAIN_EVERY_S:
                return
            self.stream.write(f"{time.strftime('%H:%M:%S')} {pct:3d}% ETA {textfmt.duration(handle.eta)} "
                              f"{progress.message}\n")
            self.stream.flush()
            self._last_pct = pct
        self._last_print = now

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def run_job(job, *args, name: str, quiet: bool = False, **kwargs):
    """Run a job on the thread runner with a progress bar; Ctrl+C cancels it cleanly."""
    from avstudio.core.progress import JobState
    from avstudio.jobs.thread_runner import ThreadRunner

    bar = None if quiet else ProgressBar()
    handle = ThreadRunner().submit(job, *args, name=name, **kwargs)
    if bar is not None:
        handle.on_progress(bar.update)
    try:
        while not handle.wait(0.1):
            pass
    except KeyboardInterrupt:
        handle.cancel()
        handle.wait(30)
    finally:
        if bar is not None:
            bar.close()
    if handle.state is JobState.CANCELLED:
        raise KeyboardInterrupt
    if handle.state is JobState.FAILED:
        raise UserError(handle.error or f"{name} failed.", details=handle.error_details, hint=handle.error_hint)
    return handle.result


_LOCKS: list = []


def _owner() -> str:
    return "the command `avstudio " + " ".join(sys.argv[1:3]) + "`"


def load(path: str, *, change: bool = True):
    """Load a project. One this command will change (``change``) is locked first — another process
    changing it at the same time is refused, naming the holder — and stays locked until the command
    ends; one it only reads (an export) is not, so it can run while the editor has it open."""
    from avstudio.core.lock import acquire
    from avstudio.core.store import load_project

    folder = Path(path).parent if Path(path).name == "project.json" else Path(path)
    lock = acquire(folder, _owner()) if change else None
    try:
        project = load_project(folder)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    if lock is not None:
        project.lock = lock
        _LOCKS.append(lock)
    return project


def hold(project) -> None:
    """Lock a project loaded for reading before this command changes it (and refuse if another process
    saved it since it was loaded)."""
    from avstudio.core.lock import acquire
    from avstudio.core.store import check_unchanged

    if project.folder is None or (project.lock is not None and project.lock.held):
        return
    project.lock = acquire(project.folder, _owner())
    _LOCKS.append(project.lock)
    check_unchanged(project)


def release_locks() -> None:
    """Drop the project locks this command took (main() calls it however the command ends)."""
    while _LOCKS:
        _LOCKS.pop().release()


def run_operation(project, factory, *args, quiet: bool = False, **kwargs):
    """Build an operation on ``project`` (a Project, or the path of one), run its job here, apply its
    edit through History, save the project and print its summary — what the editor does with the
    same operation, through its undo stack. Returns the job's result."""
    from avstudio.core.edits import History
    from avstudio.core.store import save_project
    from avstudio.jobs.worker import resolve

    if isinstance(project, (str, Path)):
        project = load(str(project), change=False)
    op = factory(project, *args, **kwargs)
    if op.apply is not None:
        hold(project)
    result = run_job(resolve(op.job), *op.args, name=op.name, quiet=quiet, **op.kwargs)
    edit = op.edit(project, result)
    if edit is not None:
        History(project).push(edit)
        save_project(project)
    print(op.describe(result))
    return result


def add_quiet(parser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def add_training_options(t, presets: list[str], default: str) -> None:
    """The options every kind of training has."""
    t.add_argument("project")
    t.add_argument("--preset", default=default, choices=presets)
    t.add_argument("--steps", type=int, default=None, help="training steps (default: the preset's)")
    t.add_argument("--model", default=None, help="model name (default: a new time-stamped one)")
    t.add_argument("--resume", action="store_true", help="continue the model's latest checkpoint exactly")
    t.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    t.add_argument("--seed", type=int, default=0)
    add_quiet(t)


def train_request(args, kind: str, options: dict):
    from avstudio.workflows.training import TrainRequest

    return TrainRequest(kind=kind, preset=args.preset, steps=args.steps, model_id=args.model, resume=args.resume,
                        device=args.device, seed=args.seed, gpus=getattr(args, "gpus", 1), options=options)
