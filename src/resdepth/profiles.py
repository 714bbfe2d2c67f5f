"""The budgets behind each notebook: ``smoke``, ``book`` and ``paper``.

- ``smoke`` exercises the code in seconds on the committed ``sample`` data. Its numbers are
  never results; they are written to ``data/smoke-results`` and the notebooks say so.
- ``book`` is what the rendered book shows: real training on the real default dataset, at the
  largest budget that fits a 2-core CPU (or the GPU runs committed to ``data/results``).
- ``paper`` is the paper's own setting, for readers with GPUs and CIFAR.

A notebook's parameters cell leaves each setting at ``None`` to take it from the profile; a value
set there (or passed with ``papermill -p``) wins. The parameters cell reads ``profile`` from
``$RESDEPTH_PROFILE`` (default ``book``), which is how CI runs every notebook in the smoke profile.
"""

from .config import check_profile
from .errors import ConfigError
from .grids import LAMBDA_SWEEP

BUDGETS = {
    "training_basics": {
        "smoke": dict(dataset="sample", depth=4, width=16, epochs=1, seeds=[0], lr=0.05, batch_size=64),
        "book": dict(dataset="fashion_mnist", depth=16, width=32, epochs=6, seeds=[0, 1], lr=0.05, batch_size=128),
        "paper": dict(dataset="cifar10", depth=16, width=256, epochs=80, seeds=[0, 1, 2, 3, 4], lr=0.3, batch_size=64),
    },
    # Table 1 of Dherin & Munn (Appendix A.2): batch 64, SGD momentum 0.9, no schedule, no weight decay.
    "table1_depth_scaling": {
        "smoke": dict(dataset="sample", depths=[2, 4], width=8, epochs=1, steps=None, lrs=[2**-4], seeds=[0],
                      batch_size=64, eval_every=10, width_by_depth={}),
        "book": dict(dataset="fashion_mnist", depths=[10, 100], width=16, epochs=1, steps=None,
                     lrs=[2**-8, 2**-6, 2**-4, 2**-2], seeds=[0, 1], batch_size=64, eval_every=235,
                     width_by_depth={}),
        "paper": dict(dataset="cifar10", depths=[10, 100, 1000], width=256, epochs=None, steps=160_000,
                      lrs=[2.0**-k for k in range(10, 0, -1)], seeds=[0, 1, 2, 3, 4], batch_size=64,
                      eval_every=2_000, width_by_depth={1000: 128}),
    },
    # Analyses at initialisation, on real Fashion-MNIST test images from the committed sample: no
    # training, so the book needs no dataset download for them.
    "expansion_theorem": {
        "smoke": dict(depth=4, width=8, images=8, seeds=[0], lam_min=1e-3, lam_max=1.0, lam_points=7, max_depth=50),
        "book": dict(depth=16, width=32, images=64, seeds=[0, 1, 2], lam_min=1e-4, lam_max=1.0, lam_points=13,
                     max_depth=1000),
        "paper": dict(depth=16, width=256, images=256, seeds=[0, 1, 2, 3, 4], lam_min=1e-4, lam_max=1.0, lam_points=13,
                      max_depth=1000),
    },
    "combinatorial_explosion": {
        "smoke": dict(depths=[1, 4, 16], width=8, images=8, seeds=[0]),
        "book": dict(depths=[1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], width=16, images=64, seeds=[0, 1, 2]),
        "paper": dict(depths=[1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], width=128, images=256, seeds=[0, 1, 2, 3, 4]),
    },
    "geometric_complexity": {
        "smoke": dict(depth=3, width=8, images=8, seeds=[0], lam_min=1e-3, lam_max=1.0, lam_points=5),
        "book": dict(depth=16, width=16, images=64, seeds=[0, 1, 2], lam_min=1e-3, lam_max=1.0, lam_points=10),
        "paper": dict(depth=16, width=256, images=256, seeds=[0, 1, 2, 3, 4], lam_min=1e-3, lam_max=1.0, lam_points=10),
    },
    # Figures 1 and 2 of Dherin & Munn (Appendix A.3): n = 16, batch 64, lr 0.3, momentum 0.9, no schedule.
    "lambda_sweep": {
        "smoke": dict(dataset="sample", depth=4, width=8, epochs=1, steps=None, lams=["0", "n^-1", "n^-0.5", "1"],
                      seeds=[0], lr=0.05, batch_size=64, eval_every=10, gc_images=16),
        "book": dict(dataset="fashion_mnist", depth=16, width=16, epochs=2, steps=None, lams=list(LAMBDA_SWEEP),
                     seeds=[0, 1], lr=0.3, batch_size=64, eval_every=235, gc_images=256),
        "paper": dict(dataset="cifar10", depth=16, width=256, epochs=None, steps=100_000, lams=list(LAMBDA_SWEEP),
                      seeds=[0, 1, 2, 3, 4], lr=0.3, batch_size=64, eval_every=2_000, gc_images=1_000),
    },
    # ResNets Are Deeper Than You Think: start network, then post-training with omega * L0.5.
    # The paper: RepVGG-A2, post-training 60 epochs on CIFAR-100 (10 on ImageNet), freeze at 0.01.
    # Not in the summary, chosen here: start training (cosine, lr 0.1, wd 5e-4), post-training
    # optimizer (AdamW: weights from lr 1e-4, slopes from 0.05, cosine; the fused BN-free RepVGG
    # diverges under SGD at lr 0.01) and the omega grids, one per granularity, which we set from
    # short calibration runs so that NAPL spans full depth down to a few units.
    "linearization_napl": {
        "smoke": dict(dataset="sample", start_model="repvgg_a0", start_args=dict(width_scale=0.125), epochs=1,
                      batch_size=64, lr=0.05, weight_decay=5e-4, start_seed=0, seeds=[0], post_epochs=1,
                      post_lr=1e-4, alpha_lr=0.05, post_train_images=256, omegas={"channel": [0.03, 3.0], "layer": [1.0, 100.0]}),
        "book": dict(dataset="fashion_mnist", start_model="repvgg_a0", start_args=dict(width_scale=0.25), epochs=3,
                     batch_size=128, lr=0.1, weight_decay=5e-4, start_seed=0, seeds=[0, 1], post_epochs=1,
                     post_lr=1e-4, alpha_lr=0.05, post_train_images=None,
                     omegas={"channel": [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0],
                             "layer": [0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]}),
        "paper": dict(dataset="cifar100", start_model="repvgg_a2", start_args=dict(width_scale=1.0), epochs=200,
                      batch_size=128, lr=0.1, weight_decay=5e-4, start_seed=0, seeds=[0, 1, 2], post_epochs=60,
                      post_lr=1e-4, alpha_lr=0.05, post_train_images=None,
                      omegas={"channel": [0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0],
                              "layer": [0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0]}),
    },
    "resnet56_ablation": {
        "smoke": dict(dataset="sample", start_model="resnet20", start_args={}, epochs=1, batch_size=64, lr=0.05,
                      weight_decay=5e-4, start_seed=0, seeds=[0], post_epochs=1, post_lr=1e-4, alpha_lr=0.05, post_train_images=256,
                      omegas={"channel": [0.03, 3.0], "layer": [1.0, 100.0]}),
        "book": dict(dataset="fashion_mnist", start_model="resnet20", start_args={}, epochs=3, batch_size=128, lr=0.1,
                     weight_decay=5e-4, start_seed=0, seeds=[0], post_epochs=1, post_lr=1e-4, alpha_lr=0.05, post_train_images=None,
                     omegas={"channel": [0.001, 0.003, 0.03], "layer": [0.03, 0.1, 1.0]}),
        "paper": dict(dataset="cifar100", start_model="resnet56", start_args={}, epochs=200, batch_size=128, lr=0.1,
                      weight_decay=5e-4, start_seed=0, seeds=[0, 1, 2], post_epochs=60, post_lr=1e-4, alpha_lr=0.05,
                      post_train_images=None,
                      omegas={"channel": [0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0],
                              "layer": [0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0]}),
    },
    # Proposition 1 and parameter counts: no training, real images from the committed sample.
    "function_space": {
        "smoke": dict(dim=16, seeds=[0], images=16, eps_min=1e-3, eps_max=100.0, eps_points=6),
        "book": dict(dim=64, seeds=[0, 1, 2], images=256, eps_min=1e-5, eps_max=100.0, eps_points=15),
        "paper": dict(dim=64, seeds=[0, 1, 2, 3, 4], images=1000, eps_min=1e-5, eps_max=100.0, eps_points=15),
    },
    # Part III: the towers' path mix (at init) against the linearized nets (stored runs).
    "paths_across_papers": {
        "smoke": dict(depths=[2, 4], width=8, images=8, seeds=[0]),
        "book": dict(depths=[4, 8, 16, 32, 64, 128], width=16, images=64, seeds=[0, 1, 2]),
        "paper": dict(depths=[4, 8, 16, 32, 64, 128, 256], width=64, images=256, seeds=[0, 1, 2, 3, 4]),
    },
}


def resolve(notebook: str, profile: str, **overrides) -> dict:
    """The notebook's settings for ``profile``, with every non-None override applied."""
    if notebook not in BUDGETS:
        raise ConfigError(f"no budgets for notebook {notebook!r}; known: {', '.join(BUDGETS)}")
    settings = dict(BUDGETS[notebook][check_profile(profile)])
    unknown = set(overrides) - set(settings)
    if unknown:
        raise ConfigError(f"{notebook} has no setting(s) {', '.join(sorted(unknown))}")
    settings.update({k: v for k, v in overrides.items() if v is not None})
    return {"profile": profile, **settings}
