"""resdepth: models, training, linearization and expansion code behind the resdepth book.

Modules, one responsibility each:
- ``data``: datasets as uint8 tensor caches, GPU-resident batches with on-device augmentation;
- ``models``: the residual tower of Dherin & Munn, CIFAR ResNet-56/plain-56, RepVGG-A0/A1/A2;
- ``config``: ``RunConfig``, a frozen run description whose hash names its results file;
- ``train``: the one training loop;
- ``results``: the results store (``run_or_load``, ``sweep``);
- ``profiles``: the smoke / book / paper budgets of each notebook;
- ``grids``: the run grids of the paper chapters (Table 1, the lambda sweep);
- ``expansion``: Theorem 3.1 terms, output growth, geometric complexity, the Appendix C check;
- ``linearize``: PReLU swap, the L0.5 penalty and the freeze rule of post-training linearization;
- ``analysis``: aggregations into the papers' tables (best over lr of mean ± s.e.).
"""

__version__ = "0.1.0"
