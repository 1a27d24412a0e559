"""Long work as jobs: generators yielding Progress, run by a thread or a subprocess runner."""

from avstudio.jobs.protocol import Progress, JobState, drive  # noqa: F401
