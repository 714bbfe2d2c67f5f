"""Datasets as uint8 tensors, and a GPU-resident batch loader with on-device augmentation.

Every dataset takes one path: its source files are read once and converted into a uint8 tensor
cache (``<data dir>/cache/<name>.pt``); later loads read that cache in well under a second. The
cache records its sources' fingerprint (``source_fingerprint``: each source file's path, size and
modification time), and a cache whose sources changed, moved or vanished is rebuilt, never served.
Source files are checked as they are read: a truncated or foreign IDX file, or a label outside the
classes, is one line naming the file. The
training loop then keeps the whole uint8 dataset on the training device and builds each batch
with tensor ops, as airbench does: no DataLoader, no per-image Python work.

Datasets (``load_dataset(name)``):

- ``fashion_mnist`` (default): Debian's ``dataset-fashion-mnist`` files in
  ``/usr/share/datasets/fashion-mnist/``, else torchvision's download; zero-padded 28 -> 32 pixels;
- ``cifar10``, ``cifar100``: torchvision's download with its md5 checks, into the data dir;
- ``imagenet``: an ImageFolder tree given by ``imagenet_root`` (with ``train/`` and ``val/``),
  resized to ``image_size`` pixels (default 64), as in downsampled ImageNet;
- ``sample``: a real subset of Fashion-MNIST committed under ``data/sample/`` (2,000 train and
  1,000 test images, class-balanced) for tests and smoke runs.
"""

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .files import atomic_torch_save, data_dir
from .errors import ConfigError, DataNotFoundError

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_FILES = {
    "train_x": "train-images-idx3-ubyte.gz",
    "train_y": "train-labels-idx1-ubyte.gz",
    "test_x": "t10k-images-idx3-ubyte.gz",
    "test_y": "t10k-labels-idx1-ubyte.gz",
}
DATASETS = ("fashion_mnist", "cifar10", "cifar100", "imagenet", "sample")
CACHE_VERSION = 2  # 2: the cache records its sources' fingerprint


@dataclass
class Dataset:
    """A labelled image dataset held as uint8 NCHW tensors, with its normalization constants."""

    name: str
    train_x: torch.Tensor  # uint8 [N, C, H, W]
    train_y: torch.Tensor  # int64 [N]
    test_x: torch.Tensor
    test_y: torch.Tensor
    num_classes: int
    mean: tuple  # per channel, in [0, 1] units, from the training set
    std: tuple

    @property
    def in_channels(self) -> int:
        return self.train_x.shape[1]

    @property
    def image_size(self) -> int:
        return self.train_x.shape[-1]


# ----------------------------------------------------------------------------- sources


def read_idx(path: Path) -> np.ndarray:
    """Read a (gzipped) IDX file of unsigned bytes, the format of MNIST and Fashion-MNIST; a file
    that is not one (bad magic, truncated, unreadable gzip) is a ``DataNotFoundError`` naming it."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise DataNotFoundError(f"{path} is unreadable ({type(exc).__name__}); restore the original file") from None
    ndim = raw[3] if len(raw) >= 4 else 0
    if len(raw) < 4 or raw[:3] != b"\x00\x00\x08" or not 1 <= ndim <= 4 or len(raw) < 4 + 4 * ndim:
        raise DataNotFoundError(f"{path} is not an IDX file of bytes (bad header); restore the original file")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if len(raw) != 4 + 4 * ndim + int(np.prod(shape)):
        raise DataNotFoundError(f"{path} holds {len(raw) - 4 - 4 * ndim} bytes of data where its header says "
                                f"{int(np.prod(shape))} (truncated or padded); restore the original file")
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _from_idx_folder(folder: Path) -> dict:
    arrays = {key: read_idx(folder / fname) for key, fname in FASHION_MNIST_FILES.items()}
    for split in ("train", "test"):
        x, y = arrays[f"{split}_x"], arrays[f"{split}_y"]
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise DataNotFoundError(f"{folder}: the {split} images {x.shape} and labels {y.shape} do not match; "
                                    f"restore the original files")
        if len(y) and y.max() >= 10:
            raise DataNotFoundError(f"{folder / FASHION_MNIST_FILES[split + '_y']} has label {int(y.max())}, "
                                    f"outside the 10 classes; restore the original file")
    pad = lambda x: F.pad(torch.from_numpy(x.copy()), (2, 2, 2, 2)).unsqueeze(1)  # 28 -> 32, zeros
    return dict(
        train_x=pad(arrays["train_x"]),
        train_y=torch.from_numpy(arrays["train_y"].astype(np.int64)),
        test_x=pad(arrays["test_x"]),
        test_y=torch.from_numpy(arrays["test_y"].astype(np.int64)),
        num_classes=10,
    )


def _has_idx_files(folder: Path) -> bool:
    return all((folder / f).is_file() for f in FASHION_MNIST_FILES.values())


def source_files(name: str, root: Path, imagenet_root=None) -> list:
    """The files a dataset's cache is built from, where they are known before the build: the IDX
    files Fashion-MNIST and the sample would be read from, torchvision's CIFAR batches, the
    ImageNet split folders. Empty where nothing is there yet (the build then fails or downloads)."""
    if name == "fashion_mnist":
        folder = next((f for f in (DEBIAN_FASHION_MNIST, root / "fashion_mnist" / "FashionMNIST" / "raw")
                       if _has_idx_files(f)), None)
        return [folder / f for f in FASHION_MNIST_FILES.values()] if folder else []
    if name == "sample":
        return [root / "sample" / "fashion-mnist" / f for f in FASHION_MNIST_FILES.values()]
    if name == "imagenet":
        return [Path(imagenet_root).expanduser() / split for split in ("train", "val")] if imagenet_root else []
    return sorted(p for p in (root / name).rglob("*") if p.is_file() and not p.name.endswith(".tar.gz"))


def source_fingerprint(files) -> list:
    """[path, size, modification time (ns)] of each file: what must match for a cache to be served."""
    out = []
    for f in files:
        try:
            st = Path(f).stat()
            out.append([str(Path(f).resolve()), st.st_size, st.st_mtime_ns])
        except OSError:
            out.append([str(f), -1, -1])
    return out


def _fashion_mnist(root: Path) -> dict:
    torchvision_raw = root / "fashion_mnist" / "FashionMNIST" / "raw"
    for folder in (DEBIAN_FASHION_MNIST, torchvision_raw):
        if _has_idx_files(folder):
            return _from_idx_folder(folder)
    try:
        import torchvision

        torchvision.datasets.FashionMNIST(root / "fashion_mnist", train=True, download=True)
        torchvision.datasets.FashionMNIST(root / "fashion_mnist", train=False, download=True)
    except Exception as exc:  # no internet, no permission, ...
        raise DataNotFoundError(
            f"Fashion-MNIST not found in {DEBIAN_FASHION_MNIST} or {torchvision_raw}, and the "
            f"download failed ({type(exc).__name__}); run 'apt-get install dataset-fashion-mnist', "
            f"or copy the four .gz files into {torchvision_raw}"
        ) from None
    return _from_idx_folder(torchvision_raw)


def _sample(root: Path) -> dict:
    folder = root / "sample" / "fashion-mnist"
    if not _has_idx_files(folder):
        raise DataNotFoundError(
            f"the committed Fashion-MNIST sample is missing from {folder}; restore it with "
            f"'git checkout -- data/sample', or point RESDEPTH_DATA at the repository's data/ folder"
        )
    return _from_idx_folder(folder)


def _cifar(root: Path, name: str) -> dict:
    import torchvision

    cls = {"cifar10": torchvision.datasets.CIFAR10, "cifar100": torchvision.datasets.CIFAR100}[name]
    try:
        train = cls(root / name, train=True, download=True)
        test = cls(root / name, train=False, download=True)
    except Exception as exc:
        raise DataNotFoundError(
            f"{name} is not in {root / name} and could not be downloaded ({type(exc).__name__}: "
            f"{exc}); run once on a machine with internet, or copy torchvision's {name} folder there"
        ) from None
    to_nchw = lambda d: torch.from_numpy(d.data).permute(0, 3, 1, 2).contiguous()
    return dict(
        train_x=to_nchw(train),
        train_y=torch.tensor(train.targets, dtype=torch.int64),
        test_x=to_nchw(test),
        test_y=torch.tensor(test.targets, dtype=torch.int64),
        num_classes=len(train.classes),
    )


def _imagenet(imagenet_root, image_size: int) -> dict:
    import torchvision
    from torchvision.transforms import v2

    if imagenet_root is None:
        raise ConfigError(
            "dataset 'imagenet' needs imagenet_root=<folder with train/ and val/ ImageFolder trees>"
        )
    root = Path(imagenet_root).expanduser()
    if not ((root / "train").is_dir() and (root / "val").is_dir()):
        raise DataNotFoundError(
            f"no ImageNet ImageFolder at {root}: expected {root}/train/<class>/*.JPEG and "
            f"{root}/val/<class>/*.JPEG; pass the folder that holds them as imagenet_root"
        )
    resize = v2.Compose([v2.PILToTensor(), v2.Resize(image_size), v2.CenterCrop(image_size)])

    def convert(split):
        folder = torchvision.datasets.ImageFolder(root / split, transform=resize)
        loader = torch.utils.data.DataLoader(folder, batch_size=256, num_workers=os.cpu_count() or 1)
        xs, ys = zip(*loader)
        return torch.cat(xs), torch.cat(ys), len(folder.classes)

    train_x, train_y, num_classes = convert("train")
    test_x, test_y, _ = convert("val")
    return dict(train_x=train_x, train_y=train_y, test_x=test_x, test_y=test_y, num_classes=num_classes)


# ----------------------------------------------------------------------------- cache


def _channel_stats(x: torch.Tensor) -> tuple:
    """Per-channel mean and std of uint8 images, in [0, 1] units (computed in chunks)."""
    c = x.shape[1]
    total, total_sq, count = torch.zeros(c, dtype=torch.float64), torch.zeros(c, dtype=torch.float64), 0
    for chunk in x.split(8192):
        f = chunk.to(torch.float64) / 255
        total += f.sum(dim=(0, 2, 3))
        total_sq += (f * f).sum(dim=(0, 2, 3))
        count += f.numel() // c
    mean = total / count
    std = (total_sq / count - mean * mean).sqrt()
    return tuple(mean.tolist()), tuple(std.tolist())


def load_dataset(name: str = "fashion_mnist", root=None, imagenet_root=None, image_size: int = 64) -> Dataset:
    """Load a dataset by name as uint8 tensors, converting and caching it on first use."""
    if name not in DATASETS:
        raise ConfigError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    root = Path(root) if root is not None else data_dir()
    cache_name = f"imagenet{image_size}" if name == "imagenet" else name
    cache = root / "cache" / f"{cache_name}.pt"
    fingerprint = source_fingerprint(source_files(name, root, imagenet_root))
    if cache.is_file():
        try:
            blob = torch.load(cache, weights_only=True)
            if blob.get("version") == CACHE_VERSION and blob.get("sources") == fingerprint and fingerprint:
                return Dataset(name=name, **{k: v for k, v in blob.items() if k not in ("version", "sources")})
        except Exception:
            pass  # a stale, foreign or truncated cache is rebuilt from the source files below
    if name == "fashion_mnist":
        arrays = _fashion_mnist(root)
    elif name == "sample":
        arrays = _sample(root)
    elif name == "imagenet":
        arrays = _imagenet(imagenet_root, image_size)
    else:
        arrays = _cifar(root, name)
    mean, std = _channel_stats(arrays["train_x"])
    blob = dict(version=CACHE_VERSION, sources=source_fingerprint(source_files(name, root, imagenet_root)),
                mean=mean, std=std, **arrays)
    try:
        atomic_torch_save(blob, cache)
    except OSError:
        pass  # a read-only data dir still works, just without the cache
    return Dataset(name=name, mean=mean, std=std, **arrays)


def class_subset(data: Dataset, classes) -> Dataset:
    """``data`` restricted to the images of ``classes`` (training and test), relabelled 0 .. k-1 in
    the order given, with its own normalization constants: a k-class dataset (the difficulty
    ladder of the linearization chapter). A class the dataset lacks is one ConfigError."""
    classes = list(classes)
    bad = [c for c in classes if not 0 <= c < data.num_classes]
    if bad:
        raise ConfigError(f"classes {bad} are not classes of {data.name} (0 to {data.num_classes - 1})")
    relabel = torch.full((data.num_classes,), -1, dtype=torch.int64)
    relabel[torch.tensor(classes)] = torch.arange(len(classes))
    train, test = relabel[data.train_y] >= 0, relabel[data.test_y] >= 0
    mean, std = _channel_stats(data.train_x[train])
    return Dataset(name=f"{data.name}[{','.join(map(str, classes))}]", train_x=data.train_x[train],
                   train_y=relabel[data.train_y[train]], test_x=data.test_x[test], test_y=relabel[data.test_y[test]],
                   num_classes=len(classes), mean=mean, std=std)


# ----------------------------------------------------------------------------- batches


def channel_constants(mean, std, device, dtype=torch.float32) -> tuple:
    """Per-channel mean and std as [1, C, 1, 1] tensors on ``device``: built once per loader, since
    building them per batch is a host-to-device copy (and a sync) on a GPU."""
    return tuple(torch.tensor(v, device=device, dtype=dtype).view(1, -1, 1, 1) for v in (mean, std))


def normalize(x_uint8: torch.Tensor, mean, std, dtype=torch.float32) -> torch.Tensor:
    """uint8 [B, C, H, W] -> (x / 255 - mean) / std as float, in channels_last memory format.
    ``mean`` and ``std``: tuples, or the tensors of ``channel_constants``."""
    if not torch.is_tensor(mean):
        mean, std = channel_constants(mean, std, x_uint8.device, dtype)
    x = (x_uint8.to(dtype) / 255 - mean) / std
    return x.contiguous(memory_format=torch.channels_last)


def random_crop_flip(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, flip: torch.Tensor, pad: int = 4):
    """Batched augmentation on the batch's device: pad by ``pad`` with zeros, crop back to the
    original size at offsets (dy, dx) in [0, 2*pad], and mirror the images where ``flip``."""
    b, _, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    j = torch.arange(w, device=x.device).view(1, w)
    j = torch.where(flip.view(b, 1), w - 1 - j, j)  # mirror inside the crop
    rows = (dy.view(b, 1) + torch.arange(h, device=x.device)).view(b, 1, h, 1)
    cols = (dx.view(b, 1) + j).view(b, 1, 1, w)
    batch = torch.arange(b, device=x.device).view(b, 1, 1, 1)
    channel = torch.arange(x.shape[1], device=x.device).view(1, -1, 1, 1)
    return padded[batch, channel, rows, cols]


class DeviceLoader:
    """Shuffled, augmented training batches from a dataset resident on ``device``.

    An epoch's permutation and augmentation draws are a pure function of (seed, epoch), so any
    step can be reproduced exactly, which is what makes resuming from a checkpoint exact. The last
    partial batch of each epoch is dropped.
    """

    def __init__(self, x, y, batch_size, mean, std, device, seed=0, augment=True, dtype=torch.float32):
        if batch_size < 1 or batch_size > len(x):
            raise ConfigError(f"batch_size must be in 1..{len(x)} for this dataset; got {batch_size}")
        self.x, self.y = x.to(device), y.to(device)
        self.batch_size = batch_size
        self.device, self.seed, self.augment, self.dtype = torch.device(device), seed, augment, dtype
        self.mean, self.std = channel_constants(mean, std, self.device, dtype)
        self.steps_per_epoch = len(x) // batch_size
        self._epoch, self._plan = None, None

    def _epoch_plan(self, epoch):
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        n = len(self.x)
        plan = dict(perm=torch.randperm(n, generator=g))
        if self.augment:
            plan["dy"] = torch.randint(0, 9, (n,), generator=g)
            plan["dx"] = torch.randint(0, 9, (n,), generator=g)
            plan["flip"] = torch.rand(n, generator=g) < 0.5
        return {k: v.to(self.device) for k, v in plan.items()}

    def batch(self, step: int):
        """The (inputs, labels) of global training step ``step``."""
        epoch, i = divmod(step, self.steps_per_epoch)
        if epoch != self._epoch:
            self._epoch, self._plan = epoch, self._epoch_plan(epoch)
        sl = slice(i * self.batch_size, (i + 1) * self.batch_size)
        idx = self._plan["perm"][sl]
        x = self.x[idx]
        if self.augment:
            x = random_crop_flip(x, self._plan["dy"][sl], self._plan["dx"][sl], self._plan["flip"][sl])
        return normalize(x, self.mean, self.std, self.dtype), self.y[idx]


def sample_test_batch(count: int, dtype=torch.float32):
    """The first ``count`` test images of the committed Fashion-MNIST sample, standardized, with
    their labels: the real inputs of the analyses that need no training."""
    sample = load_dataset("sample")
    x = normalize(sample.test_x[:count], sample.mean, sample.std).to(dtype)
    return x, sample.test_y[:count]


def eval_batches(x, y, mean, std, device, batch_size=1000, dtype=torch.float32):
    """Unaugmented, unshuffled batches for evaluation."""
    mean, std = channel_constants(mean, std, device, dtype)
    for start in range(0, len(x), batch_size):
        xb = x[start : start + batch_size].to(device)
        yield normalize(xb, mean, std, dtype), y[start : start + batch_size].to(device)
