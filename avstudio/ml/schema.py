"""What a model's config.json may say, per kind, checked before anything is built from it.

A checkpoint's config is a file a user can edit or receive: a number out of its range reaches native
code (pyworld crashes on ``"n_mcep": 1000000``, the allocator on a huge width) or fails deep inside
a training step. Every value a kind's code reads is described here as (type, lowest, highest) — or
the values it may take, or a nested table — and checked at load time (``check_document``) and when a
run starts (``check_config``); a value outside says which file, which key, what it is and what is
allowed. Keys not described are kept and ignored (a newer AV Studio may add some). No torch here.
"""

from __future__ import annotations

from avstudio.core import models
from avstudio.core.errors import UserError
from avstudio.core.files import excerpt

MAX_STEPS = 100_000_000   # far beyond any run (the paper's voice model: 200k steps)
MAX_SEED = 2**40          # numpy's generators take no negative seed; torch's, seed × 1000003 + step < 2**64
BIG = 1e6                 # loss weights, smoothing widths
OPTIONAL = object()       # a table's marker: its keys may be missing

_RATE = (float, 0.0, 10.0)
_WEIGHT = (float, 0.0, BIG)
_STEPS = (int, 1, MAX_STEPS)
_SHARE = (float, 0.0, 1.0)
_PRESET = (str, 0, 100)   # a string's length range

COMMON = {"steps": _STEPS, "checkpoint_every": _STEPS, "sample_every": _STEPS, "preset": _PRESET}
_DECAY = {"lr_decay_share": _SHARE}
_GAN = {"lr_g": _RATE, "lr_d": _RATE, "beta1": (float, 0.0, 0.9999), "ndf": (int, 1, 256),
        "d_layers": (int, 1, 6), "num_d": (int, 1, 4), "temporal": (bool,)}

_STAGE = {"src_size": (list, 2, (int, 1, 16384)), "size": (int, 16, 2048), "side": (float, 1.0, 1e5),
          "moving": (bool,), "bias": (list, 2, (float, -1e5, 1e5))}
_AUGMENT = {OPTIONAL: True, "scale": _SHARE, "shift": _SHARE, "p": _SHARE}

CONFIGS: dict[str, dict] = {
    models.MOTION: {**COMMON, **_DECAY, **_GAN, "size": (int, 16, 2048), "arch": ("unet", "global", "local"),
                    "ngf": (int, 1, 256), "face": (bool,),
                    OPTIONAL: {"depth": (int, 1, 10), "n_down": (int, 1, 6), "n_blocks": (int, 0, 32),
                               "face_steps": (int, 0, MAX_STEPS), "l1": _WEIGHT, "fm": _WEIGHT, "vgg": _WEIGHT,
                               "plate": (bool,), "augment": (dict, _AUGMENT, None),
                               "stage": (dict, _STAGE, None)}},
    models.VOICE: {**COMMON, "width": (float, 0.01, 4.0), "n_mcep": (int, 8, 128), "segment": (int, 16, 4096),
                   "lambda_cyc": _WEIGHT, "lambda_id": _WEIGHT, "id_until": (int, 0, MAX_STEPS), "lr_g": _RATE,
                   "lr_d": _RATE, "beta1": (float, 0.0, 0.9999), "lr_decay_start": (int, 0, MAX_STEPS),
                   "sample_rate": (int, 8000, 48000), "f0_method": ("harvest", "dio")},
    models.LIPSYNC: {**COMMON, **_DECAY, **_GAN, "size": (int, 16, 1024), "ngf": (int, 1, 256),
                     "depth": (int, 1, 10), "batch": (int, 1, 1024), "l1": _WEIGHT,
                     OPTIONAL: {"mouth_l1": _WEIGHT, "residual": (bool,), "crop_size": (int, 16, 2048)}},
    models.MOUTH: {**COMMON, **_DECAY, "k": (int, 1, 64), "hidden": (int, 1, 1024), "kernel": (int, 1, 31),
                   "length": (int, 2, 100_000), "batch": (int, 1, 4096), "lr": _RATE, "w_pos": _WEIGHT,
                   "w_vel": _WEIGHT, "w_silence": _WEIGHT, "phone_drop": _SHARE, "label_smooth": (float, 0.0, 1e3),
                   "output_smooth": (float, 0.0, 1e3)},
    models.EXPERT: {**COMMON, **_DECAY, "batch": (int, 1, 4096), "lr": _RATE, "label_smooth": (float, 0.0, 1e3)},
}

_STATS = {"mcep_mean": (list, None, (float, -1e6, 1e6)), "mcep_std": (list, None, (float, 1e-12, 1e6)),
          "logf0_mean": (float, -1e3, 1e3), "logf0_std": (float, 1e-12, 1e3)}
_FILES = (list, None, (str, 1, 4096))
# What a checkpoint document holds beside its config (the kind's own extras).
DOCUMENTS: dict[str, dict] = {
    models.MOTION: {},
    models.VOICE: {"stats": (dict, {"source": (dict, _STATS), "target": (dict, _STATS)}),
                   OPTIONAL: {"sources": (dict, {OPTIONAL: {"source": _FILES, "target": _FILES}})}},
    models.LIPSYNC: {},
    models.MOUTH: {OPTIONAL: {"visemes": (int, 1, 256)}},
    models.EXPERT: {OPTIONAL: {"points": (int, 1, 1024)}},
}
_DOCUMENT = {"step": (int, 0, MAX_STEPS), OPTIONAL: {"seed": (int, 0, MAX_SEED), "optim": (dict, {OPTIONAL: True})}}


class ConfigError(UserError):
    """A model's config (or a run's settings) holds a value its code cannot take."""


def check_steps(steps, what: str = "The number of steps") -> int:
    """A run's step count: a whole number from 1 to MAX_STEPS."""
    return _whole(steps, 1, MAX_STEPS, what)


def check_seed(seed) -> int:
    """A run's random seed: a whole number from 0 to MAX_SEED."""
    return _whole(seed, 0, MAX_SEED, "The random seed")


def _whole(value, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{what} must be a whole number from {low:,} to {high:,}, not {excerpt(_shown(value))}.")
    return value


def check_config(cfg: dict, where: str) -> str:
    """Check a run's config against its kind's table and the kind's own rules; returns the kind."""
    kind = models.model_kind(cfg)
    if kind not in CONFIGS:
        raise ConfigError(f"{where}: the model's kind {excerpt(repr(cfg.get('kind')))} is none AV Studio knows "
                          f"({', '.join(CONFIGS)}).", path=where)
    _check_table(cfg, CONFIGS[kind], where, "")
    _RULES[kind](cfg, where)
    return kind


def check_document(doc: dict, where: str) -> str:
    """Check a checkpoint document (config.json): its config, its step, its kind's extras."""
    kind = check_config(doc["config"], where)
    _check_table(doc, _DOCUMENT, where, "")
    _check_table(doc, DOCUMENTS[kind], where, "")
    if kind == models.VOICE:
        for side in ("source", "target"):
            for key in ("mcep_mean", "mcep_std"):
                if len(doc["stats"][side][key]) != doc["config"]["n_mcep"]:
                    _refuse(where, f"stats.{side}.{key}", doc["stats"][side][key],
                            f"{doc['config']['n_mcep']} numbers (n_mcep)")
    return kind


def _check_table(doc: dict, table: dict, where: str, prefix: str) -> None:
    optional = table.get(OPTIONAL, {})
    if optional is True:  # a table whose every key may be missing
        optional, table = table, {}
    for key, spec in list(table.items()) + list(optional.items()):
        if key is OPTIONAL:
            continue
        if key not in doc:
            if key in table:
                raise ConfigError(f"{where}: \"{prefix}{key}\" is missing.{_after(where)}", path=where)
            continue
        _check_value(doc[key], spec, where, prefix + key)


def _check_value(value, spec: tuple, where: str, key: str) -> None:
    kind = spec[0]
    if isinstance(kind, str):  # the values it may take
        if not isinstance(value, str) or value not in spec:
            _refuse(where, key, value, "one of " + ", ".join(map(repr, spec)))
    elif kind is bool:
        if not isinstance(value, bool):
            _refuse(where, key, value, "true or false")
    elif kind is dict:
        if value is None and len(spec) > 2:
            return
        if not isinstance(value, dict):
            _refuse(where, key, value, "a table" + (" or null" if len(spec) > 2 else ""))
        _check_table(value, spec[1], where, key + ".")
    elif kind is list:
        if not isinstance(value, list) or (spec[1] is not None and len(value) != spec[1]) or len(value) > 100_000:
            _refuse(where, key, value, f"a list of {spec[1] or 'some'} numbers")
        for i, item in enumerate(value):
            _check_value(item, spec[2], where, f"{key}[{i}]")
    else:
        _check_number(value, spec, where, key)


def _check_number(value, spec: tuple, where: str, key: str) -> None:
    kind, low, high = spec
    if kind is str:
        if not isinstance(value, str) or not low <= len(value) <= high:
            _refuse(where, key, value, f"a text of at most {high} characters")
        return
    number = isinstance(value, int) if kind is int else isinstance(value, (int, float))
    # The range check refuses NaN and the infinities too (every comparison with NaN is false).
    if isinstance(value, bool) or not number or not low <= value <= high:
        what = "a whole number" if kind is int else "a number"
        _refuse(where, key, value, f"{what} from {_number(low)} to {_number(high)}")


def _refuse(where: str, key: str, value, allowed: str) -> None:
    raise ConfigError(f"{where}: \"{key}\" is {excerpt(_shown(value))}; it must be {allowed}.{_after(where)}",
                      path=where)


def _after(where: str) -> str:
    """What to do about a bad value: a file's was altered; a new run's came from its options."""
    if where.endswith(".json"):
        return " The checkpoint was altered or is damaged: use another checkpoint or train again."
    return " Change the run's options."


def _number(x) -> str:
    return f"{x:,}" if isinstance(x, int) else f"{x:g}"


def _shown(value) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**30:
        return f"a {len(str(abs(value)))}-digit number" if abs(value) < 10**4000 else "a number too long to show"
    return repr(value) if not isinstance(value, (dict, list)) else type(value).__name__ + " " + repr(value)[:60]


# ---- each kind's own rules: what one value allows of another ----------------------------------------

def _motion_rules(cfg: dict, where: str) -> None:
    needs = ("depth",) if cfg["arch"] == "unet" else ("n_down", "n_blocks")
    for key in needs + (("face_steps",) if cfg["face"] else ()):
        if key not in cfg:
            raise ConfigError(f"{where}: \"{key}\" is missing (a '{cfg['arch']}' model needs it).{_after(where)}",
                              path=where)
    down = cfg["depth"] if cfg["arch"] == "unet" else cfg["n_down"]
    if cfg["size"] % (1 << down):
        _refuse(where, "size", cfg["size"], f"a multiple of {1 << down} (the network halves it {down} times)")
    if cfg["arch"] == "local" and cfg.get("plate"):
        _refuse(where, "plate", True, "false for a 'local' model")
    stage = cfg.get("stage")
    if stage and stage["size"] != cfg["size"]:
        _refuse(where, "stage.size", stage["size"], f"the model's size, {cfg['size']}")
    if stage and stage["moving"]:
        scale = cfg["size"] / stage["side"]
        if max(stage["src_size"]) * scale > 16384:
            _refuse(where, "stage.side", stage["side"], "large enough that the stage stays under 16384 px")


def _voice_rules(cfg: dict, where: str) -> None:
    if cfg["n_mcep"] % 4:
        _refuse(where, "n_mcep", cfg["n_mcep"], "a multiple of 4 (the generator halves it twice)")
    if cfg["segment"] % 4:
        _refuse(where, "segment", cfg["segment"], "a multiple of 4 (the generator halves it twice)")


def _lipsync_rules(cfg: dict, where: str) -> None:
    if cfg["size"] % (1 << cfg["depth"]):
        _refuse(where, "size", cfg["size"], f"a multiple of {1 << cfg['depth']} (the network halves it "
                f"{cfg['depth']} times)")


def _mouth_rules(cfg: dict, where: str) -> None:
    if cfg["kernel"] % 2 == 0:
        _refuse(where, "kernel", cfg["kernel"], "an odd number (the sequence keeps its length)")


_RULES = {models.MOTION: _motion_rules, models.VOICE: _voice_rules, models.LIPSYNC: _lipsync_rules,
          models.MOUTH: _mouth_rules, models.EXPERT: lambda cfg, where: None}
