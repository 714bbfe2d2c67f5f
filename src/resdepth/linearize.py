"""Post-training partial linearization (*ResNets Are Deeper Than You Think*, NeurIPS 2025).

Every ReLU of a trained net becomes a PReLU, phi_alpha(x) = x for x >= 0 and alpha * x otherwise,
with alpha starting at 0, so the function is unchanged. Post-training minimises

    cross-entropy + omega * sum_i |1 - alpha_i|^0.5                                   (L0.5)

which pushes slopes to 1, where the unit is linear. The penalty's gradient is infinite at
alpha = 1, so a unit with |alpha - 1| < threshold (0.01) is frozen at exactly 1: it leaves the
penalty and gets no gradient from then on (the paper's rule). One addition of ours: a slope seen
on one side of 1 at a freeze and on the other side at the next has passed through that window
within one step, and is frozen too (large steps near 1 otherwise oscillate around it). A slope's
side is unknown until its first freeze, so that first freeze applies the paper's window alone.
A unit is linear when its slope is frozen or exactly 1 (``LinearizablePReLU.linear_units``): the
NAPL (``resdepth.pathlength``) and the merge (``resdepth.merge``) both read that one definition.
``granularity="channel"`` gives one alpha per channel (variable depth); ``"layer"`` one alpha per
layer (fixed depth). Slopes get no weight decay.

All slopes of a net live in one flat tensor (``Slopes``, at ``model.linearization_slopes``), so
the penalty and the freeze rule cost a few element-wise ops per step, not a few per layer; each
``LinearizablePReLU`` reads its slice. The net's state_dict therefore holds
``linearization_slopes.{alpha,frozen,side}`` instead of an ``alpha``, ``frozen`` and ``side`` per PReLU.

Post-training runs through the same loop and store as every run: a ``RunConfig`` with
``start_from`` (the stored start run), ``linearize`` (the granularity) and ``omega``, built by
``post_train_config``; ``resdepth.posttraining.PostTraining`` is what it adds to the loop.
"""

import torch
import torch.nn.functional as F
from torch import nn

from .config import RunConfig
from .errors import ConfigError
from .models import build_model

GRANULARITIES = ("channel", "layer")
SLOPES = "linearization_slopes"  # the attribute under which a net (or a stand-alone PReLU) owns its Slopes


class Slopes(nn.Module):
    """Every slope of a linearized net in one flat tensor, with one flat mask and one flat sign.

    ``alpha`` (a parameter without weight decay), ``frozen`` (slopes fixed at 1) and ``side``
    (sign(alpha - 1) at the last freeze; 0, unknown, before the first) are concatenations of the PReLUs' slopes,
    ``counts[i]`` of them for the i-th PReLU in module order. The penalty and the freeze rule are
    then a handful of element-wise ops per training step, however many layers the net has.
    """

    def __init__(self, counts):
        super().__init__()
        self.counts = tuple(counts)
        total = sum(self.counts)
        self.alpha = nn.Parameter(torch.zeros(total))
        self.alpha.no_weight_decay = True
        self.register_buffer("frozen", torch.zeros(total, dtype=torch.bool))
        self.register_buffer("side", torch.zeros(total))  # sign(alpha - 1) at the last freeze, 0: not seen yet
        self.alpha.register_hook(self.drop_frozen_gradient)

    def drop_frozen_gradient(self, grad):
        return grad.masked_fill(self.frozen, 0.0)

    def extra_repr(self) -> str:
        return f"slopes={self.alpha.numel()}, layers={len(self.counts)}"

    def penalty_terms(self) -> torch.Tensor:
        """|1 - alpha|^0.5 for every slope, 0 for a frozen one."""
        # masks instead of boolean indexing, so no device sync: frozen slopes enter the sqrt as 1
        # (a finite gradient, then discarded) and add 0
        gap = torch.where(self.frozen, torch.ones_like(self.alpha), (1 - self.alpha).abs())
        return torch.where(self.frozen, torch.zeros_like(gap), gap.sqrt())

    @torch.no_grad()
    def freeze(self, threshold: float) -> torch.Tensor:
        """The freeze rule: frozen |= |alpha - 1| < threshold or sign(alpha - 1) * side < 0; then
        side = sign(alpha - 1) and alpha = 1 where frozen. Returns the number frozen (0-d tensor).
        ``side`` is 0 before the first call, so that call freezes by the window alone: a slope
        above 1 there has crossed nothing we saw (e.g. [1.3, 2.0, 1.005] -> [1.3, 2.0, 1])."""
        offset = self.alpha - 1
        crossed = torch.sign(offset) * self.side < 0
        self.frozen |= (offset.abs() < threshold) | crossed
        self.side.copy_(torch.sign(offset))
        self.alpha.masked_fill_(self.frozen, 1.0)
        return self.frozen.sum()


class LinearizablePReLU(nn.Module):
    """PReLU with ``num_slopes`` slopes (one per channel, or one in all): ``alpha`` and ``frozen``
    are its slice [offset, offset + num_slopes) of a ``Slopes``. Made alone it owns a ``Slopes`` of
    its own; ``to_prelu`` and ``share_slopes`` point every PReLU of a net at the net's one ``Slopes``."""

    def __init__(self, num_slopes: int):
        super().__init__()
        self.count = num_slopes
        own = Slopes([num_slopes])
        setattr(self, SLOPES, own)  # registered: a stand-alone PReLU owns its slopes
        self.bind(own, 0)

    def bind(self, slopes: Slopes, offset: int) -> None:
        """Read the slopes [offset, offset + count) of ``slopes`` from now on."""
        object.__setattr__(self, "slopes", slopes)  # a reference, not a submodule: its owner holds it
        self.offset = offset

    @property
    def alpha(self) -> torch.Tensor:
        """A view of this PReLU's slopes: ``alpha.data.fill_(1.0)`` writes through, while
        ``alpha.data = t`` would only rebind a temporary view."""
        return self.slopes.alpha[self.offset: self.offset + self.count]

    @property
    def frozen(self) -> torch.Tensor:
        return self.slopes.frozen[self.offset: self.offset + self.count]

    @property
    def side(self) -> torch.Tensor:
        return self.slopes.side[self.offset: self.offset + self.count]

    def extra_repr(self) -> str:
        return f"slopes={self.count}, offset={self.offset}"

    def forward(self, x):
        # F.prelu: the same values and gradients as torch.where(x >= 0, x, alpha * x), 1.3-2.5x faster
        return F.prelu(x, self.alpha.to(x.dtype))

    def linear_units(self) -> torch.Tensor:
        """The units that compute the identity: slope frozen, or exactly 1 (a bool per slope)."""
        return self.frozen | (self.alpha.detach() == 1)

    def nonlinear_fraction(self) -> float:
        """p: the fraction of this layer's units that are still nonlinear (``linear_units`` not set)."""
        return 1.0 - self.linear_units().float().mean().item()


@torch.no_grad()
def to_prelu(model: nn.Module, example_input: torch.Tensor, granularity: str = "channel") -> nn.Module:
    """Replace every ``nn.ReLU`` of ``model`` by a ``LinearizablePReLU`` with slopes 0, in place;
    all slopes then live in one ``Slopes``, ``model.linearization_slopes`` (``share_slopes``).

    ``example_input`` (one batch) is run once to find each ReLU's channel count.
    """
    check_granularity(granularity)
    channels, hooks = {}, []

    def record(name):
        def hook(module, inputs, output):  # returns None: the output is left as it is
            channels.setdefault(name, output.shape[1])
        return hook

    for name, module in model.named_modules():
        if isinstance(module, nn.ReLU):
            hooks.append(module.register_forward_hook(record(name)))
    was_training = model.training
    model.eval()
    model(example_input)
    model.train(was_training)
    for h in hooks:
        h.remove()
    for name, count in channels.items():
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, LinearizablePReLU(count if granularity == "channel" else 1))
    share_slopes(model)
    slopes_of(model).to(example_input.device)
    return model


@torch.no_grad()
def share_slopes(model: nn.Module) -> nn.Module:
    """Gather the slopes of every PReLU of ``model`` (their current values, masks and signs), in
    module order, into one new ``Slopes`` at ``model.linearization_slopes``, and point each PReLU at
    its slice; any ``Slopes`` that ``model`` or its modules owned before are dropped. In place."""
    acts = prelus(model)
    slopes = Slopes([act.count for act in acts])
    if acts:
        slopes.to(acts[0].alpha.device, acts[0].alpha.dtype)
        for flat, name in ((slopes.alpha, "alpha"), (slopes.frozen, "frozen"), (slopes.side, "side")):
            flat.copy_(torch.cat([getattr(act, name) for act in acts]))
    for owner in [m for m in model.modules() if SLOPES in m._modules]:
        delattr(owner, SLOPES)
    offset = 0
    for act in acts:
        act.bind(slopes, offset)
        offset += act.count
    setattr(model, SLOPES, slopes)
    return model


def check_granularity(granularity: str) -> str:
    if granularity not in GRANULARITIES:
        raise ConfigError(f"granularity must be 'channel' or 'layer'; got {granularity!r}")
    return granularity


def prelus(model: nn.Module) -> list:
    return [m for m in model.modules() if isinstance(m, LinearizablePReLU)]


def slopes_of(model: nn.Module) -> Slopes:
    """The ``Slopes`` that ``model`` owns (``to_prelu``, ``share_slopes``, or a stand-alone PReLU)."""
    slopes = getattr(model, SLOPES, None)
    if not isinstance(slopes, Slopes):
        raise ValueError(f"{type(model).__name__} owns no linearization slopes: call to_prelu or share_slopes first")
    return slopes


def l05_penalty(model: nn.Module) -> torch.Tensor:
    """sum over every unfrozen slope of the model of |1 - alpha|^0.5, one reduction over the flat
    slopes (the training objective's term: its gradient is what counts)."""
    return slopes_of(model).penalty_terms().sum()


@torch.no_grad()
def layerwise_l05_penalty(model: nn.Module) -> torch.Tensor:
    """The same sum, summed layer by layer and then over the layers: the order of the stored
    results (in fp32 another order may change the last bits), for logging."""
    slopes = slopes_of(model)
    if not slopes.counts:
        return slopes.alpha.new_zeros(())
    return torch.stack([layer.sum() for layer in slopes.penalty_terms().split(slopes.counts)]).sum()


def freeze_linear_units(model: nn.Module, threshold: float = 0.01) -> torch.Tensor:
    """Apply the freeze rule (``Slopes.freeze``) to every slope of the model at once; return the
    number of frozen (linear) units as a 0-d tensor (it runs after every training step, so it
    never waits for the device)."""
    return slopes_of(model).freeze(threshold)


@torch.no_grad()
def fix_learned_mask(model: nn.Module, threshold: float = 0.01) -> torch.Tensor:
    """Phase 2 of the controlled protocol, learned mask: every unit already frozen, or with
    |alpha - 1| < ``threshold``, becomes exactly linear (alpha = 1, frozen: no gradient, no
    penalty) for good. Returns the linear mask (a bool per slope, flat)."""
    slopes = slopes_of(model)
    slopes.frozen |= (slopes.alpha - 1).abs() < threshold
    slopes.alpha.masked_fill_(slopes.frozen, 1.0)
    return slopes.frozen.clone()


@torch.no_grad()
def draw_random_mask(model: nn.Module, seed: int, threshold: float = 0.01) -> torch.Tensor:
    """Phase 2, the random-mask control: in every layer, as many linear units as the learned mask
    (``fix_learned_mask``) has, at units drawn uniformly without replacement (``torch.randperm``,
    generator seeded with ``seed``). A unit the draw makes linear gets alpha = 1, frozen; a unit the
    learned mask had linear and the draw leaves nonlinear restarts as a ReLU (alpha = 0, as in the
    start network); the units nonlinear in both keep their learned slopes. The per-layer linear
    fractions, hence the NAPL of a chain, equal the learned mask's. Returns the linear mask (flat)."""
    slopes = slopes_of(model)
    learned = fix_learned_mask(model, threshold)
    generator = torch.Generator().manual_seed(seed)
    drawn = torch.zeros_like(learned)
    offset = 0
    for count in slopes.counts:
        linear = int(learned[offset: offset + count].sum())
        drawn[offset + torch.randperm(count, generator=generator)[:linear].to(drawn.device)] = True
        offset += count
    slopes.alpha.masked_fill_(learned & ~drawn, 0.0)
    slopes.alpha.masked_fill_(drawn, 1.0)
    slopes.frozen.copy_(drawn)
    return drawn.clone()


def nonlinear_fractions(model: nn.Module) -> dict:
    """{module name: fraction of its units still nonlinear} for every PReLU of the model."""
    return {name: m.nonlinear_fraction() for name, m in model.named_modules() if isinstance(m, LinearizablePReLU)}


def slope_values(model: nn.Module) -> list:
    """Every slope of the model, flat in module order, as floats (stored with each post-training
    record; ``Slopes.counts`` splits them by layer)."""
    return slopes_of(model).alpha.detach().float().cpu().tolist()


def slope_count(model: nn.Module) -> int:
    """The number of learnable slopes: the parameters that linearization adds."""
    return sum(m.count for m in prelus(model))


# ----------------------------------------------------------------------------- post-training


def linearizable(model: nn.Module, example_input: torch.Tensor, granularity: str,
                 start_state: dict | None = None) -> nn.Module:
    """The net that post-training trains: load the start weights, fuse a RepVGG into its plain
    deployed form (conv3x3 -> ReLU, Section 3.3 of RepVGG), then swap every ReLU for a PReLU."""
    if start_state is not None:
        model.load_state_dict(start_state)
    if hasattr(model, "reparameterize"):
        model.reparameterize()
    return to_prelu(model, example_input, granularity)


def post_train_config(start, granularity: str, omega: float, epochs: int, lr: float, seed: int = 0,
                      weight_decay: float = 5e-4, train_images: int | None = None, eval_every: int | None = None,
                      freeze_threshold: float = 0.01, batch_size: int = 128, alpha_lr: float | None = None):
    """The ``RunConfig`` of one post-training run from the stored start run ``start``.

    Loss: cross-entropy + omega * L0.5; AdamW with a cosine schedule from ``lr`` (the slopes from
    ``alpha_lr``, if given); the slopes get no weight decay.
    """
    check_granularity(granularity)
    return RunConfig(
        experiment=f"{start.experiment}_post", model=start.model, model_args=start.model_kwargs,
        dataset=start.dataset, epochs=epochs, batch_size=batch_size, lr=lr, optimizer="adamw",
        weight_decay=weight_decay, schedule="cosine", augment=start.augment, seed=seed, eval_every=eval_every,
        train_images=train_images, start_from=f"{start.experiment}/{start.key}", linearize=granularity,
        omega=float(omega), freeze_threshold=freeze_threshold, alpha_lr=alpha_lr, classes=start.classes,
    )


def fine_tune_config(penalty_run: RunConfig, mask: str, epochs: int) -> RunConfig:
    """The ``RunConfig`` of phase 2 of the controlled protocol (``resdepth.posttraining.MaskFineTuning``):
    from the stored penalty run ``penalty_run``, its ``mask`` ("learned" or "random") fixed, no
    penalty (omega 0), ``epochs`` of the same optimizer, schedule, learning rates and seed."""
    return penalty_run.replace(start_from=f"{penalty_run.experiment}/{penalty_run.key}", omega=0.0, mask=mask,
                               epochs=epochs, steps=None)


def linearized_architecture(record: dict) -> nn.Module:
    """A fresh net of the shape a stored post-training run trained (fused, PReLUs, untrained
    weights), for analyses that need only its graph and the record's nonlinear fractions."""
    cfg, info = RunConfig.from_dict(record["config"]), record["linearization"]
    model = build_model(cfg.model, info["in_channels"], info["num_classes"], **cfg.model_kwargs)
    example = torch.zeros(1, info["in_channels"], info["image_size"], info["image_size"])
    return linearizable(model.eval(), example, cfg.linearize)
