"""The command table: `avstudio --help` lists every command without importing one (no torch,
MediaPipe or Qt), a word that is neither a command nor a project is an error that lists them, and
each command module registers its own subcommands."""

import subprocess
import sys

import pytest

from avstudio.cli import COMMANDS, main, parser_for

PROBE = ("import sys; from avstudio.cli import main; code = main({argv!r}); "
         "heavy = [m for m in ('torch', 'mediapipe', 'PySide6', 'cv2', 'pyworld') if m in sys.modules]; "
         "print('HEAVY', heavy); sys.exit(code)")


def run(argv):
    return subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True, timeout=120)


def test_help_lists_every_command_and_imports_nothing_heavy():
    out = run(["--help"])
    assert out.returncode == 0, out.stderr
    for name in COMMANDS:
        assert f"  {name} " in out.stdout
    assert "HEAVY []" in out.stdout


def test_info_imports_no_torch_mediapipe_or_qt():
    from tests.conftest import media

    out = run(["info", str(media("body/vtest_walker_crop.mp4"))])
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout and "fps" in out.stdout


@pytest.mark.parametrize("argv", [["lipsink", "analyze", "x"], ["anlyze", "pose", "x"], ["--frobnicate"]])
def test_unknown_commands_are_errors_that_list_the_commands(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "is not a command" in err and "commands:" in err and "analyze" in err
    if argv[0] == "anlyze":
        assert "Did you mean 'analyze'?" in err


def test_a_project_folder_opens_the_editor(monkeypatch, tmp_path):
    import avstudio.gui.app as app

    folder = tmp_path / "Mine.avproj"
    folder.mkdir()
    seen = []
    monkeypatch.setattr(app, "run_app", lambda project=None, demo=False: seen.append(project) or 0)
    assert main([str(folder)]) == 0 and seen == [str(folder)]


def test_every_command_module_registers_its_commands():
    for name in COMMANDS:
        parser = parser_for(name)
        sub = next(a for a in parser._actions if a.dest == "command")
        assert name in sub.choices, name
