"""Training and scoring a model of any kind, as operations. The kinds (motion, voice, lip sync) are
rows of ml/kinds.py; each workflow module says how a request becomes its training job's
arguments. Training and scoring run in a child process (torch), on the saved project.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from avstudio.core import models
from avstudio.core.files import read_json
from avstudio.core.errors import UserError
from avstudio.core.project import Project
from avstudio.ml import schema
from avstudio.ml.kinds import model_kind
from avstudio.workflows import motion, voice
from avstudio.workflows.lipsync import models as lipsync_models
from avstudio.workflows.lipsync import expert as lipsync_expert
from avstudio.workflows.lipsync import mouth as lipsync_mouth
from avstudio.workflows.operation import Operation, Runs, folder_of, needs_saved_project

# What each kind's workflow module says of its models: train_kwargs(project, request), MODEL_NOUN,
# score_line(metrics), baseline_line(metrics).
WORKFLOWS = {models.MOTION: motion, models.VOICE: voice, models.LIPSYNC: lipsync_models, models.MOUTH: lipsync_mouth,
             models.EXPERT: lipsync_expert}


@dataclass
class TrainRequest:
    kind: str = models.MOTION
    preset: str | None = None        # None: the kind's default preset
    steps: int | None = None         # None: the preset's; with resume, the new total
    model_id: str | None = None      # None: a new time-stamped name
    resume: bool = False
    device: str = "auto"
    seed: int = 0
    gpus: int = 1                    # motion: several GPUs through torchrun + DDP
    options: dict = field(default_factory=dict)  # the kind's own: motion compile, vgg_weights, augment;
    #                                              voice source / target recordings, f0_method

    def __post_init__(self):
        # Checked here, not by the command line's parser: the editor's requests and scripts' come here too
        # (a negative count once named a checkpoint "ckpt--0000005").
        if self.steps is not None:
            schema.check_steps(self.steps, "The number of training steps")
        schema.check_seed(self.seed)


def _train_summary(kind: str, r: dict) -> str:
    lines = [f"{WORKFLOWS[kind].MODEL_NOUN} {r['model_id']}: step {r['step']}, checkpoint {r['checkpoint']}"
             + (" (stopped early and saved)" if r.get("stopped") else "")]
    return "\n".join(lines + [f"warning: {w}" for w in r.get("warnings", [])])


@needs_saved_project
def train(project: Project, request: TrainRequest) -> Operation:
    """Train (or resume) a model of ``request.kind`` on the project."""
    kind = model_kind(request.kind)
    request.preset = request.preset or kind.default_preset
    if request.resume and not request.model_id:
        raise UserError("Say which model to resume (its name).")
    request.model_id = models.check_model_id(request.model_id or models.new_model_id())
    kwargs = WORKFLOWS[kind.name].train_kwargs(project, request)
    job, args = kind.train_job, ()
    if request.gpus > 1:
        if kind.name != models.MOTION:
            raise UserError("Training on several GPUs is for motion models.")
        job, args, kwargs = "avstudio.ml.ddp:launch", (request.gpus, kwargs), {}
    return Operation(f"Train {request.model_id}", job, args, kwargs, runs=Runs.PROCESS,
                     summary=lambda r: _train_summary(kind.name, r))


def metrics_summary(kind: str, m: dict) -> str:
    """One line: a checkpoint's held-out scores beside their baseline."""
    return f"{WORKFLOWS[kind].score_line(m)} — {WORKFLOWS[kind].baseline_line(m)}"


def _config_of(project: Project, model_id: str, checkpoint: str | None) -> dict:
    """The config of a model's newest checkpoint (or of ``checkpoint``, one of its own): a UserError
    saying why when there is none (the scoring job checks it in full)."""
    run = models.RunFolder.of(folder_of(project), model_id)
    if not run.path.is_dir():
        raise UserError(f"The project has no trained model named {model_id}.", hint="train")
    folder = run.checkpoint_named(checkpoint) if checkpoint else run.latest_checked()
    doc = read_json(folder / models.CONFIG, "model config", models.CONFIG_LIMIT)
    if not isinstance(doc, dict) or not isinstance(doc.get("config"), dict):
        raise UserError(f"{folder} has no training config. The checkpoint was altered.", path=str(folder))
    return doc["config"]


def evaluate(project: Project, model_id: str, *, device: str = "cpu", checkpoint: str | None = None,
             quiet: bool = False, **options) -> Operation:
    """Score a model's newest checkpoint (or ``checkpoint``) on held-out data beside a trivial baseline;
    written to the checkpoint's metrics.json. It reads the saved project (a score made while training
    goes on does not save the user's edits). ``options``: the kind's own (voice: source, reference)."""
    kind = model_kind(models.model_kind(_config_of(project, model_id, checkpoint)))
    step = f" at step {checkpoint.rsplit('-', 1)[-1].lstrip('0') or 0}" if checkpoint else ""
    return Operation(f"Evaluate {model_id}{step}", kind.evaluate_job, (folder_of(project), model_id),
                     dict(device=device, checkpoint=checkpoint, **options), runs=Runs.PROCESS, quiet=quiet,
                     summary=lambda m: metrics_summary(kind.name, m))
