"""Runners for long work: a thread runner and a subprocess runner (JSON lines, process-group kill).
The job protocol itself (Progress, drive) is plain data in :mod:`avstudio.core.progress`."""
