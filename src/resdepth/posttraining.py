"""Post-training partial linearization as an extension of the training loop.

*ResNets Are Deeper Than You Think*, Section 3: the stored start network is loaded and fused
(RepVGG's reparameterization), each ReLU becomes a PReLU with slope alpha = 0, and the objective
becomes cross-entropy + omega * sum_i |1 - alpha_i|^0.5. After every step the freeze rule sets
slopes with |alpha - 1| < threshold, or that crossed 1 since the last freeze, to exactly 1.
Penalty and freeze are each one vectorised pass over the net's flat slopes
(``resdepth.linearize.Slopes``). Each evaluation logs the NAPL and the penalty (summed layer by
layer, as the stored results were); the record stores the final NAPL, the slope count, every
layer's nonlinear fraction and every slope.

The controlled protocol (issue 13) adds a phase 2, ``MaskFineTuning``: from a stored penalty run
(phase 1), fix a mask of linear units, the run's own (``mask="learned"``) or a random one with the
same per-layer fractions (``mask="random"``), turn the penalty off, and fine-tune the rest. Both
granularities then end with the same fine-tuning, whatever omega it took to reach their mask.
"""

from .config import RunConfig
from .data import normalize
from .errors import StoreError
from .linearize import (draw_random_mask, fix_learned_mask, freeze_linear_units, l05_penalty, layerwise_l05_penalty,
                        linearizable, nonlinear_fractions, slope_count, slope_values)
from .pathlength import napl
from .train import Extension


class PostTraining(Extension):
    """Phase 1: the penalty omega * L0.5 and the freeze rule, from a trained start network."""

    name = "linearization"

    def __init__(self, cfg: RunConfig, start_state: dict | None):
        if start_state is None:
            raise StoreError(f"run {cfg.key} post-trains {cfg.start_from}: its stored weights are needed")
        self.granularity, self.omega, self.threshold = cfg.linearize, cfg.omega, cfg.freeze_threshold
        self.start_state, self.shape = start_state, {}

    def example_batch(self, data):
        self.shape = {"in_channels": data.in_channels, "num_classes": data.num_classes,
                      "image_size": data.test_x.shape[-1]}
        return normalize(data.test_x[:2], data.mean, data.std)

    def prepare(self, model, data):
        return linearizable(model, self.example_batch(data), self.granularity, self.start_state)

    def loss(self, model):
        return self.omega * l05_penalty(model)

    def after_step(self, model):
        freeze_linear_units(model, self.threshold)

    def metrics(self, model) -> dict:
        return {"napl": napl(model), "l05_penalty": layerwise_l05_penalty(model).item()}

    def summary(self, model) -> dict:
        return {"napl": napl(model), "slopes": slope_count(model), "nonlinear_fractions": nonlinear_fractions(model),
                "alpha": slope_values(model), **self.shape}


class MaskFineTuning(PostTraining):
    """Phase 2: the penalty run ``start_from`` with its mask fixed (``cfg.mask``: "learned", its
    own; "random", a random one with the same per-layer fractions, drawn with ``cfg.seed``), no
    penalty and no freeze rule: the weights and the slopes still nonlinear are fine-tuned, the
    linear units stay exactly linear (frozen slopes get no gradient), so the NAPL is the mask's."""

    def __init__(self, cfg: RunConfig, start_state: dict | None):
        super().__init__(cfg, start_state)
        self.mask, self.seed = cfg.mask, cfg.seed

    def prepare(self, model, data):
        model = linearizable(model, self.example_batch(data), self.granularity)
        model.load_state_dict(self.start_state)
        if self.mask == "random":
            draw_random_mask(model, self.seed, self.threshold)
        else:
            fix_learned_mask(model, self.threshold)
        return model

    def loss(self, model):
        return None

    def after_step(self, model):
        pass
