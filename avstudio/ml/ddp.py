"""Several GPUs: ``avstudio train --gpus N`` runs the train job under torchrun, one process per GPU,
with DistributedDataParallel. Rank 0 writes checkpoints and prints the job's progress as JSON lines,
which the launching job relays — so the GUI and CLI see one job with one progress bar.

On a machine without GPUs the same path runs on the CPU with the gloo backend (used by the tests).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Iterator

from avstudio.core.errors import UserError
from avstudio.core.progress import Progress


def launch(gpus: int, train_kwargs: dict) -> Iterator[Progress]:
    """Job: run train(**train_kwargs) on ``gpus`` processes through torchrun; relay rank 0's progress."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={gpus}",
           "-m", "avstudio.ml.ddp", json.dumps(train_kwargs)]
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    result, error = None, None
    try:
        for line in proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if msg.get("type") == "progress":
                yield Progress(msg["done"], msg["total"], msg["message"], data=msg.get("data") or {})
            elif msg.get("type") == "result":
                result = msg["value"]
            elif msg.get("type") == "error":
                error = msg["message"]
        code = proc.wait()
    finally:
        if proc.poll() is None:  # cancelled: stop every rank
            import signal
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(proc.pid, signal.SIGKILL)
    if error:
        raise UserError(error)
    if code != 0 or result is None:
        tail = proc.stderr.read()[-2000:] if proc.stderr else ""
        raise UserError(f"Distributed training ended with exit code {code}.", details=tail)
    return result


def main() -> int:
    import torch
    import torch.distributed as dist

    from avstudio.ml.motion.train import train

    kwargs = json.loads(sys.argv[1])
    backend = "nccl" if torch.cuda.is_available() and kwargs.get("device", "auto") != "cpu" else "gloo"
    dist.init_process_group(backend)
    rank = dist.get_rank()
    out = sys.stdout
    try:
        gen = train(**kwargs)
        while True:
            try:
                p = next(gen)
            except StopIteration as stop:
                if rank == 0:
                    out.write(json.dumps({"type": "result", "value": stop.value}) + "\n")
                break
            if rank == 0:
                out.write(json.dumps({"type": "progress", **p.to_json()}) + "\n")
                out.flush()
    except UserError as exc:
        if rank == 0:
            out.write(json.dumps({"type": "error", "message": exc.message}) + "\n")
        return 1
    finally:
        out.flush()
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
