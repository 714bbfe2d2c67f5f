"""Post-training partial linearization as an extension of the training loop.

*ResNets Are Deeper Than You Think*, Section 3: the stored start network is loaded and fused
(RepVGG's reparameterization), each ReLU becomes a PReLU with slope alpha = 0, and the objective
becomes cross-entropy + omega * sum_i |1 - alpha_i|^0.5. After every step the freeze rule sets
slopes with |alpha - 1| < threshold, or that crossed 1 since the last step, to exactly 1. Penalty
and freeze are each one vectorised pass over the net's flat slopes (``resdepth.linearize.Slopes``).
Each evaluation logs the NAPL and the penalty (summed layer by layer, as the stored results were);
the record stores the final NAPL, the slope count and every layer's nonlinear fraction.
"""

from .config import RunConfig
from .data import normalize
from .errors import StoreError
from .linearize import (freeze_linear_units, l05_penalty, layerwise_l05_penalty, linearizable, nonlinear_fractions,
                        slope_count)
from .pathlength import napl
from .train import Extension


class PostTraining(Extension):
    name = "linearization"

    def __init__(self, cfg: RunConfig, start_state: dict | None):
        if start_state is None:
            raise StoreError(f"run {cfg.key} post-trains {cfg.start_from}: its stored weights are needed")
        self.granularity, self.omega, self.threshold = cfg.linearize, cfg.omega, cfg.freeze_threshold
        self.start_state, self.shape = start_state, {}

    def prepare(self, model, data):
        self.shape = {"in_channels": data.in_channels, "num_classes": data.num_classes,
                      "image_size": data.test_x.shape[-1]}
        example = normalize(data.test_x[:2], data.mean, data.std)
        return linearizable(model, example, self.granularity, self.start_state)

    def loss(self, model):
        return self.omega * l05_penalty(model)

    def after_step(self, model):
        freeze_linear_units(model, self.threshold)

    def metrics(self, model) -> dict:
        return {"napl": napl(model), "l05_penalty": layerwise_l05_penalty(model).item()}

    def summary(self, model) -> dict:
        return {"napl": napl(model), "slopes": slope_count(model), "nonlinear_fractions": nonlinear_fractions(model),
                **self.shape}
