"""A run's configuration: a frozen dataclass whose content hash names its results file.

Only what changes the computed result goes into the config (model, data, optimizer, seed,
budget). Where and how it ran (device, profile, commit) is provenance, stored beside the
result, so a run computed on a GPU is found again by the same config on a CPU.
"""

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, fields

from .data import DATASETS
from .errors import ConfigError
from .models import check_model_args
from .models.tower import FLOAT32_MAX

SCHEDULES = ("constant", "cosine", "multistep")
PROFILES = ("smoke", "book", "paper")
HASH_NEUTRAL_DEFAULTS = {"gc_images": 0, "start_from": "", "linearize": "", "omega": 0.0, "freeze_threshold": 0.01,
                         "alpha_lr": None, "optimizer": "sgd", "precision": "auto", "eval_images": None,
                         "mask": "", "classes": []}  # classes: as to_dict writes it
OPTIMIZERS = ("sgd", "adamw")
LINEARIZE = ("", "channel", "layer")
# Phase 2 of the controlled post-training protocol (resdepth.posttraining.MaskFineTuning): "" is a
# penalty run (phase 1); "learned" fine-tunes the start run's own mask, "random" a random mask with
# its per-layer fractions (the random-mask control), both without the penalty.
MASKS = ("", "learned", "random")
# "auto": bf16 autocast on CUDA, fp32 on the CPU (how every stored CPU run was trained); "bf16"
# also autocasts on the CPU, where oneDNN has bf16 kernels (AVX512-BF16, AMX); "fp32" never does.
PRECISIONS = ("auto", "fp32", "bf16")
EXPERIMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")  # a folder name: nothing can escape the store


def _is_int(value) -> bool:
    """An integer, and not a bool (True would pass as 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_experiment_name(name) -> str:
    """``name`` if it is a safe folder name for the results store; ``ConfigError`` otherwise."""
    if not isinstance(name, str) or not EXPERIMENT_NAME.match(name):
        raise ConfigError(f"experiment name {name!r} must be 1-100 characters of letters, digits, '_', '.' or '-', "
                          f"starting with a letter or digit")
    return name


@dataclass(frozen=True)
class RunConfig:
    """One training run. Give exactly one of ``epochs`` and ``steps``.

    ``model_args`` are the model's own keyword arguments (for the tower: depth, width, lam,
    batchnorm, activation); pass a dict, it is stored as sorted (name, value) pairs.
    ``eval_every`` is in steps; None evaluates once per epoch. ``eval_images`` = N makes every
    evaluation but the last use only the first N test images (a full 10k-image evaluation costs
    as much as 32-45 training steps of a width-16 tower); the last always uses the whole test set. ``milestones`` are the fractions of
    the run at which the ``multistep`` schedule multiplies the learning rate by ``gamma``.
    ``train_images`` limits training to the first N training images (None: all of them).
    ``classes`` keeps only those classes of the dataset, relabelled 0 .. k-1 (``data.class_subset``).
    ``gc_images`` > 0 logs the geometric complexity (exact, on the first ``gc_images`` test
    images) at every evaluation. ``precision`` is the autocast policy (``PRECISIONS``); parameters,
    the optimizer and the loss stay in fp32 in every case. ``mask`` ("learned" or "random") makes a
post-training run phase 2 of the controlled protocol: it fine-tunes ``start_from`` (a penalty run)
with its linear units fixed, and no penalty (``resdepth.posttraining.MaskFineTuning``).

    Fields added after results were stored are left out of the hash while at their default
    (``HASH_NEUTRAL_DEFAULTS``), so adding one never orphans a stored run.
    """

    experiment: str = "default"
    model: str = "tower"
    model_args: tuple = ()
    dataset: str = "fashion_mnist"
    epochs: int | None = None
    steps: int | None = None
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "constant"
    milestones: tuple = (0.5, 0.75)
    gamma: float = 0.1
    warmup_steps: int = 0
    augment: bool = True
    seed: int = 0
    eval_every: int | None = None
    train_images: int | None = None
    gc_images: int = 0
    start_from: str = ""
    linearize: str = ""
    omega: float = 0.0
    freeze_threshold: float = 0.01
    alpha_lr: float | None = None
    optimizer: str = "sgd"
    precision: str = "auto"
    eval_images: int | None = None
    mask: str = ""
    classes: tuple = ()

    def __post_init__(self):
        if self.dataset not in DATASETS:  # before the model: a wrong dataset is the likelier typo
            raise ConfigError(f"unknown dataset {self.dataset!r}; choose one of {', '.join(DATASETS)}")
        # the model's arguments, checked, with its defaults made explicit so equal runs get equal hashes
        args = check_model_args(self.model, dict(self.model_args))
        object.__setattr__(self, "model_args", tuple(sorted(args.items())))
        object.__setattr__(self, "milestones", tuple(float(m) for m in self.milestones))
        if isinstance(self.classes, (list, tuple)):
            object.__setattr__(self, "classes", tuple(self.classes))
        for name in ("lr", "momentum", "weight_decay", "gamma", "omega", "freeze_threshold"):
            object.__setattr__(self, name, float(getattr(self, name)))
        if self.alpha_lr is not None:
            object.__setattr__(self, "alpha_lr", float(self.alpha_lr))
        self.validate()

    def validate(self):
        check_experiment_name(self.experiment)
        if (self.epochs is None) == (self.steps is None):
            raise ConfigError("give exactly one of epochs and steps")
        budget = self.epochs if self.epochs is not None else self.steps
        if not _is_int(budget) or budget < 1:
            raise ConfigError(f"epochs/steps must be an integer >= 1; got {budget!r}")
        if not (math.isfinite(self.lr) and 0 < self.lr <= FLOAT32_MAX):
            raise ConfigError(f"lr must be a number > 0 that a float32 holds (at most {FLOAT32_MAX:.3g}); got {self.lr}")
        if not (math.isfinite(self.momentum) and 0 <= self.momentum < 1):
            raise ConfigError(f"momentum must lie in [0, 1); got {self.momentum}")
        if not (math.isfinite(self.weight_decay) and 0 <= self.weight_decay <= FLOAT32_MAX):
            raise ConfigError(f"weight_decay must be a finite number >= 0; got {self.weight_decay}")
        if not (math.isfinite(self.gamma) and self.gamma > 0):
            raise ConfigError(f"gamma (the multistep schedule's factor) must be a finite number > 0; got {self.gamma}")
        if not all(0 < m < 1 for m in self.milestones):
            raise ConfigError(f"milestones must be fractions of the run in (0, 1); got {list(self.milestones)}")
        if not _is_int(self.warmup_steps) or self.warmup_steps < 0:
            raise ConfigError(f"warmup_steps must be an integer >= 0; got {self.warmup_steps!r}")
        if not _is_int(self.seed) or not 0 <= self.seed < 2**63:
            raise ConfigError(f"seed must be an integer in [0, 2^63); got {self.seed!r}")
        if self.train_images is not None and (not _is_int(self.train_images) or self.train_images < 1):
            raise ConfigError(f"train_images must be an integer >= 1, or None for all; got {self.train_images!r}")
        if not isinstance(self.augment, bool):
            raise ConfigError(f"augment must be true or false (a bool, not a string or number); got {self.augment!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError(f"batch_size must be an integer >= 1; got {self.batch_size!r}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"unknown schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}")
        if not isinstance(self.gc_images, int) or self.gc_images < 0:
            raise ConfigError(f"gc_images must be an integer >= 0; got {self.gc_images!r}")
        if self.linearize not in LINEARIZE:
            raise ConfigError(f"linearize must be 'channel', 'layer' or '' (none); got {self.linearize!r}")
        if self.linearize and not self.start_from:
            raise ConfigError("linearize needs start_from: the stored run ('<experiment>/<key>') to post-train")
        if self.start_from and (self.start_from.count("/") != 1
                                or not all(map(EXPERIMENT_NAME.match, self.start_from.split("/")))):
            raise ConfigError(f"start_from must be '<experiment>/<key>' of a stored run; got {self.start_from!r}")
        if not isinstance(self.classes, tuple) or not all(_is_int(c) and c >= 0 for c in self.classes) or (
                self.classes and (len(self.classes) < 2 or len(set(self.classes)) != len(self.classes))):
            raise ConfigError(f"classes must be a list of at least 2 distinct class indices >= 0, or empty for all; "
                              f"got {self.classes!r}")
        if self.mask not in MASKS:
            raise ConfigError(f"mask must be 'learned', 'random' or '' (a penalty run); got {self.mask!r}")
        if self.mask and not self.linearize:
            raise ConfigError(f"mask={self.mask!r} fine-tunes a linearized run: set linearize ('channel' or 'layer') "
                              f"and start_from (the penalty run)")
        if self.mask and self.omega:
            raise ConfigError(f"mask={self.mask!r} fine-tunes without the penalty: set omega to 0 (got {self.omega})")
        if not (math.isfinite(self.omega) and 0 <= self.omega <= FLOAT32_MAX):
            raise ConfigError(f"omega must be a finite number >= 0; got {self.omega}")
        if not 0 < self.freeze_threshold < 1:
            raise ConfigError(f"freeze_threshold must lie in (0, 1); got {self.freeze_threshold}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"unknown precision {self.precision!r}; choose one of {', '.join(PRECISIONS)}")
        if self.alpha_lr is not None and not (math.isfinite(self.alpha_lr) and 0 < self.alpha_lr <= FLOAT32_MAX):
            raise ConfigError(f"alpha_lr must be a finite number > 0, or None for lr; got {self.alpha_lr}")
        if self.eval_images is not None and (not isinstance(self.eval_images, int) or isinstance(
                self.eval_images, bool) or self.eval_images < 1):
            raise ConfigError(f"eval_images must be an integer >= 1, or None for the whole test set; "
                              f"got {self.eval_images!r}")
        if self.eval_every is not None and self.eval_every < 1:
            raise ConfigError(f"eval_every must be >= 1 step, or None for once per epoch; got {self.eval_every}")

    @property
    def model_kwargs(self) -> dict:
        return dict(self.model_args)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["model_args"] = self.model_kwargs
        d["milestones"] = list(self.milestones)
        d["classes"] = list(self.classes)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"unknown config field(s) {', '.join(sorted(unknown))}")
        return cls(**d)

    @property
    def key(self) -> str:
        """Stable 16-hex-digit content hash: the name of the run's results file."""
        d = {k: v for k, v in self.to_dict().items() if HASH_NEUTRAL_DEFAULTS.get(k, object()) != v}
        canonical = json.dumps(d, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def replace(self, **changes) -> "RunConfig":
        d = self.to_dict()
        d.update(changes)
        return RunConfig.from_dict(d)


def stack_key(configs) -> str:
    """The name of a stack of runs trained as one net (``resdepth.stack``): a hash of their keys, in order."""
    return hashlib.sha256(",".join(c.key for c in configs).encode()).hexdigest()[:16]


def check_profile(profile: str) -> str:
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    return profile
