import os
import time
from pathlib import Path

import pytest

from avstudio.core.errors import MediaError
from avstudio.core.progress import EtaEstimator, JobState, Progress
from avstudio.jobs.subprocess_runner import SubprocessRunner
from avstudio.jobs.thread_runner import ThreadRunner
from avstudio.jobs.diagnostics import sleep_steps

ROOT = Path(__file__).resolve().parents[2]


def test_thread_runner_progress_and_result():
    seen = []
    finished = []
    h = ThreadRunner().submit(sleep_steps, 5, 0.01, name="steps")
    h.on_progress(lambda hh, p: seen.append(p.done))
    h.on_finished(lambda hh: finished.append(hh.state))
    assert h.wait(10)
    assert h.state is JobState.DONE and h.result == {"completed": 5, "stopped": False}
    assert seen[-1] == 5 and finished == [JobState.DONE]


def test_thread_runner_user_error_and_bug():
    h = ThreadRunner().submit(sleep_steps, 5, 0.01, fail_at=2)
    h.wait(10)
    assert h.state is JobState.FAILED and h.error == "Step 2 failed on purpose."

    def buggy():
        yield Progress(0, 1)
        raise ZeroDivisionError("boom")
    h = ThreadRunner().submit(buggy)
    h.wait(10)
    assert h.state is JobState.FAILED and "bug" in h.error and "ZeroDivisionError" in h.error_details


def test_thread_runner_cancel_runs_cleanup():
    cleaned = []

    def job():
        try:
            for i in range(1000):
                time.sleep(0.01)
                yield Progress(i, 1000)
        finally:
            cleaned.append(True)
    h = ThreadRunner().submit(job)
    time.sleep(0.05)
    t0 = time.monotonic()
    h.cancel()
    assert h.wait(5) and time.monotonic() - t0 < 1
    assert h.state is JobState.CANCELLED and cleaned == [True]


def test_thread_runner_graceful_stop():
    h = ThreadRunner().submit(sleep_steps, 1000, 0.01)
    time.sleep(0.05)
    h.request_stop()
    h.wait(5)
    assert h.state is JobState.DONE and h.result["stopped"] is True


def env():
    return dict(os.environ, PYTHONPATH=str(ROOT))


def test_subprocess_runner_progress_result_and_error():
    runner = SubprocessRunner(env=env())
    h = runner.submit("avstudio.jobs.diagnostics:sleep_steps", 4, 0.01, name="steps")
    seen = []
    h.on_progress(lambda hh, p: seen.append((p.done, p.data.get("step"))))
    assert h.wait(60)
    assert h.state is JobState.DONE and h.result == {"completed": 4, "stopped": False}
    assert (4, 4) in seen
    h = runner.submit("avstudio.jobs.diagnostics:sleep_steps", 4, 0.01, fail_at=1)
    h.wait(60)
    assert h.state is JobState.FAILED and h.error == "Step 1 failed on purpose."


def test_subprocess_runner_refuses_foreign_functions():
    h = SubprocessRunner(env=env()).submit("os:system", "echo hacked")
    h.wait(60)
    assert h.state is JobState.FAILED and "not an avstudio function" in h.error


def test_subprocess_stop_is_graceful():
    h = SubprocessRunner(env=env()).submit("avstudio.jobs.diagnostics:sleep_steps", 10000, 0.01)
    while h.progress is None:
        h.wait(0.05)
    h.request_stop()
    assert h.wait(30)
    assert h.state is JobState.DONE and h.result["stopped"] is True


def test_subprocess_cancel_kills_the_whole_process_group(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    h = SubprocessRunner(env=env()).submit("avstudio.jobs.diagnostics:spawn_and_wait", str(pid_file), 60)
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    grandchild = int(pid_file.read_text())
    h.cancel()
    assert h.wait(15)
    assert h.state is JobState.CANCELLED
    for _ in range(100):
        try:
            os.kill(grandchild, 0)
            # A zombie still answers kill(0); check its state.
            state = Path(f"/proc/{grandchild}/stat").read_text().split()[2]
            if state == "Z":
                break
        except (ProcessLookupError, FileNotFoundError):
            break
        time.sleep(0.05)
    else:
        pytest.fail("the grandchild process survived cancel")


def test_eta_estimator():
    t = [0.0]
    eta = EtaEstimator(clock=lambda: t[0])
    assert eta.update(0, 100) is None
    for i in range(1, 11):
        t[0] = i
        e = eta.update(i * 2, 100)
    assert e == pytest.approx((100 - 20) / 2)
    assert eta.update(20, None) is None


def test_job_errors_propagate_as_user_messages(tmp_path):
    from avstudio.media.probe import probe
    h = ThreadRunner().submit(probe, tmp_path / "nope.mp4")
    h.wait(10)
    assert h.state is JobState.FAILED and "does not exist" in h.error
