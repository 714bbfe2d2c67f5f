"""Make the committed Fashion-MNIST sample: 200 train and 100 test images per class.

Run once from the repository root, in the project's venv, with Debian's dataset-fashion-mnist:
    python data/sample/make_sample.py
The images are real Fashion-MNIST images, chosen with a fixed seed, written in the original IDX
format so that ``resdepth.data`` reads them with the same code as the full dataset.
"""

import gzip
from pathlib import Path

import numpy as np

from resdepth.data import read_idx

SOURCE = Path("/usr/share/datasets/fashion-mnist")
TARGET = Path(__file__).parent / "fashion-mnist"
PER_CLASS = {"train": 200, "t10k": 100}


def write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    with gzip.GzipFile(path, "wb", mtime=0) as f:  # mtime=0: byte-identical on every run
        f.write(header + array.tobytes())


TARGET.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)
for split, per_class in PER_CLASS.items():
    images = read_idx(SOURCE / f"{split}-images-idx3-ubyte.gz")
    labels = read_idx(SOURCE / f"{split}-labels-idx1-ubyte.gz")
    keep = np.sort(np.concatenate([rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in range(10)]))
    write_idx(TARGET / f"{split}-images-idx3-ubyte.gz", images[keep])
    write_idx(TARGET / f"{split}-labels-idx1-ubyte.gz", labels[keep])
    print(split, len(keep), "images")
