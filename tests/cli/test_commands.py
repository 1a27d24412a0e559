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


# ---- hostile arguments (issue 16): messages naming the option and its range, never "This is a bug" ----

@pytest.fixture
def clip_project(tmp_path):
    from tests.conftest import media

    folder = tmp_path / "p.avproj"
    assert main(["new", str(folder), "--source", str(media("body/vtest_walker_crop.mp4")), "--target",
                 str(media("body/vtest_standing_man_crop.mp4"))]) == 0
    return folder


def refused(argv, capsys) -> str:
    capsys.readouterr()
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("avstudio: error: ") and "This is a bug" not in err and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("options,says", [
    (["--fps", "100000"], "frame rate (fps) must be 0.01 to 1000; got 100000"),
    (["--fps", "nan"], "frame rate (fps) must be 0.01 to 1000; got nan"),
    (["--height", "100000"], "height must be 16 to 8192 pixels; got 100000"),
    (["--height", "-10"], "height must be 16 to 8192 pixels; got -10"),
    (["--start", "5000"], "first frame (start) must be 0 to 129"),
    (["--start", "5", "--end", "5"], "end frame"),
    (["--crf", "99"], "CRF must be between 0"),
    (["--clip", "side_by_side", "--height", "8000"], "pixels wide"),
])
def test_export_options_out_of_range_are_refused_by_name(clip_project, tmp_path, capsys, options, says):
    err = refused(["export", clip_project, "-o", tmp_path / "out.mp4", "-q", *options], capsys)
    assert says in err
    assert not (tmp_path / "out.mp4").exists()


def test_export_outputs_a_missing_folder_is_made_a_file_in_the_way_is_a_message(clip_project, tmp_path, capsys):
    (tmp_path / "file").write_text("in the way")
    assert "is a file, not a folder" in refused(["export", clip_project, "-o", tmp_path / "file" / "o.mp4", "-q"],
                                                capsys)
    assert main(["export", str(clip_project), "-o", str(tmp_path / "new" / "o.mp4"), "--end", "3", "-q"]) == 0
    assert (tmp_path / "new" / "o.mp4").is_file()


@pytest.mark.parametrize("options,says", [(["--start", "1000000"], "first frame (start) must be 0 to 129"),
                                          (["--start", "10", "--end", "4"], "end frame (one past the last) must be 11"),
                                          (["--workers", "0"], "worker processes must be 1 to"),
                                          (["--seed", "0", "nan", "5"], "finite pixel")])
def test_analyze_range_out_of_the_clip_is_refused_by_name(clip_project, capsys, options, says):
    assert says in refused(["analyze", "pose", clip_project, "-q", *options], capsys)


def test_relink_replacement_must_be_media_with_the_roles_streams(clip_project, capsys):
    from tests.conftest import media

    before = (clip_project / "project.json").read_bytes()
    assert "not a media file" in refused(["relink", clip_project, "source", "/etc/passwd", "--replace"], capsys)
    assert "no video stream" in refused(["relink", clip_project, "source", media("speech/jfk/jfk.wav"), "--replace"],
                                        capsys)
    assert (clip_project / "project.json").read_bytes() == before
    assert main(["relink", str(clip_project), "source", str(media("body/pose2sim_single_cam01.mp4")), "--replace"]) == 0
    from avstudio.core.store import load_project

    ref = load_project(clip_project).media_by_role("source")
    assert ref.frame_count == 100 and ref.probe["video"]["width"] == 1080  # the replacement's own facts


def test_new_with_a_name_too_long_for_a_file_system(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert "at most 255" in refused(["new", "a" * 300], capsys)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("setting,says", [("target.far_y=nan", "target.far_y must be a number from"),
                                          ("source.far_height=0", "source.far_height must be a number from 1"),
                                          ("target.close_y=inf", "close_y"), ("target.far_y", "SIDE.FIELD=NUMBER"),
                                          ("middle.far_y=3", "Unknown statistic")])
def test_retarget_overrides_must_be_finite_and_in_range(clip_project, capsys, setting, says):
    assert says in refused(["retarget", clip_project, "--set", setting], capsys)


def test_voice_convert_refuses_an_unwritable_format_before_converting(clip_project, tmp_path, capsys):
    for extra in ([], ["--input", "/nonexistent.wav"]):
        err = refused(["voice", "convert", clip_project, "--model", "none", "-o", tmp_path / "out.aac", *extra], capsys)
        assert ".wav, .flac, .ogg, .oga, .mp3" in err


@pytest.mark.parametrize("kind", ["pose", "face"])
def test_analyze_prints_no_mediapipe_log_lines(clip_project, kind):
    """MediaPipe's C++ warnings (W0000 … inference_feedback_manager …) and TFLite's INFO line do not
    reach the terminal; the command's own output does."""
    out = subprocess.run([sys.executable, "-m", "avstudio", "analyze", kind, str(clip_project), "--end", "3"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    for noise in ("W0000", "I0000", "inference_feedback_manager", "INFO: Created TensorFlow", "absl::InitializeLog"):
        assert noise not in out.stderr, out.stderr[-3000:]
    assert "100%" in out.stderr and "found in" in out.stdout


def test_the_log_filter_keeps_errors_and_progress():
    script = ("import os; from avstudio.analysis.native_logs import quiet_native_logs; quiet_native_logs(); "
              "os.write(2, b'W0000 00:00:1796695218.78 768 inference_feedback_manager.cc:114] noise\\n'); "
              "os.write(2, b'I1208 01:02:03.456 9 gl_context.cc:1] more noise\\n'); "
              "os.write(2, b'E0000 00:00:1796695218.78 768 calculator_graph.cc:9] a real error\\n'); "
              "os.write(2, b'\\r[####......] 40%'); os.write(2, b'\\r[##########] 100%\\n'); "
              "raise SystemExit('the end')")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert "noise" not in out.stderr
    assert "a real error" in out.stderr and "40%" in out.stderr and "100%" in out.stderr and "the end" in out.stderr
