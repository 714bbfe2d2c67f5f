import time

import pytest
import torch

from resdepth import data as data_module
from resdepth.data import DeviceLoader, load_dataset, random_crop_flip
from resdepth.errors import ConfigError, DataNotFoundError
from resdepth.files import project_data_dir


def test_sample_is_real_balanced_fashion_mnist(sample):
    assert sample.train_x.shape == (2000, 1, 32, 32) and sample.test_x.shape == (1000, 1, 32, 32)
    assert sample.train_x.dtype == torch.uint8 and sample.train_y.dtype == torch.int64
    assert torch.bincount(sample.train_y).tolist() == [200] * 10
    assert torch.bincount(sample.test_y).tolist() == [100] * 10
    border = torch.cat([sample.train_x[..., :2, :].flatten(), sample.train_x[..., -2:, :].flatten(),
                        sample.train_x[..., :, :2].flatten(), sample.train_x[..., :, -2:].flatten()])
    assert border.max() == 0  # zero-padded from 28x28
    assert sample.train_x[..., 2:30, 2:30].float().mean() > 50  # real images, not blanks
    assert sample.num_classes == 10 and len(sample.mean) == 1 and 0.2 < sample.mean[0] < 0.4


def test_uint8_cache_round_trip(tmp_path):
    (tmp_path / "sample").symlink_to(project_data_dir() / "sample")
    first = load_dataset("sample", root=tmp_path)
    cache = tmp_path / "cache" / "sample.pt"
    assert cache.is_file()
    start = time.perf_counter()
    second = load_dataset("sample", root=tmp_path)
    assert time.perf_counter() - start < 1.0
    for field in ("train_x", "train_y", "test_x", "test_y"):
        assert torch.equal(getattr(first, field), getattr(second, field))
    assert second.mean == first.mean and second.std == first.std


def test_truncated_cache_is_rebuilt(tmp_path):
    (tmp_path / "sample").symlink_to(project_data_dir() / "sample")
    good = load_dataset("sample", root=tmp_path)
    cache = tmp_path / "cache" / "sample.pt"
    cache.write_bytes(cache.read_bytes()[:1000])
    again = load_dataset("sample", root=tmp_path)
    assert torch.equal(again.train_x, good.train_x)


def test_unknown_dataset_error():
    with pytest.raises(ConfigError, match="unknown dataset 'mnist'.*fashion_mnist"):
        load_dataset("mnist")


def test_missing_sample_names_where_and_how(tmp_path):
    with pytest.raises(DataNotFoundError, match=str(tmp_path / "sample") + ".*git checkout"):
        load_dataset("sample", root=tmp_path)


def test_missing_fashion_mnist_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(data_module, "DEBIAN_FASHION_MNIST", tmp_path / "nowhere")
    import torchvision

    def offline(*args, **kwargs):
        raise RuntimeError("no internet")

    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", offline)
    with pytest.raises(DataNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion_mnist", root=tmp_path)


def test_imagenet_needs_a_folder(tmp_path):
    with pytest.raises(ConfigError, match="imagenet_root"):
        load_dataset("imagenet", root=tmp_path)
    with pytest.raises(DataNotFoundError, match="train/"):
        load_dataset("imagenet", root=tmp_path, imagenet_root=tmp_path)


def test_imagenet_imagefolder_path(tmp_path, sample):
    from torchvision.utils import save_image

    for split, n in (("train", 6), ("val", 3)):
        for label in (0, 1):
            folder = tmp_path / "imnet" / split / f"class{label}"
            folder.mkdir(parents=True)
            images = sample.train_x[sample.train_y == label][:n]
            for i, img in enumerate(images):
                save_image(img.float().repeat(3, 1, 1) / 255, folder / f"{i}.png")
    ds = load_dataset("imagenet", root=tmp_path, imagenet_root=tmp_path / "imnet", image_size=16)
    assert ds.train_x.shape == (12, 3, 16, 16) and ds.test_x.shape == (6, 3, 16, 16)
    assert ds.num_classes == 2 and ds.train_y.tolist() == [0] * 6 + [1] * 6


def test_crop_flip_geometry():
    x = torch.arange(2 * 3 * 5 * 5, dtype=torch.uint8).view(2, 3, 5, 5)
    four = torch.full((2,), 4)
    no, yes = torch.zeros(2, dtype=torch.bool), torch.ones(2, dtype=torch.bool)
    assert torch.equal(random_crop_flip(x, four, four, no), x)  # centred crop
    assert torch.equal(random_crop_flip(x, four, four, yes), x.flip(3))
    shifted = random_crop_flip(x, torch.tensor([5, 5]), torch.tensor([4, 4]), no)  # one row down
    assert torch.equal(shifted[:, :, :4], x[:, :, 1:]) and shifted[:, :, 4].max() == 0


def test_device_loader_is_a_function_of_seed_and_step(sample):
    make = lambda seed: DeviceLoader(sample.train_x, sample.train_y, 64, sample.mean, sample.std, "cpu", seed)
    a, b, c = make(0), make(0), make(1)
    xa, ya = a.batch(17)
    a.batch(3)
    xb, yb = b.batch(17)
    assert torch.equal(xa, xb) and torch.equal(ya, yb)
    assert not torch.equal(c.batch(17)[0], xa)
    assert xa.shape == (64, 1, 32, 32) and xa.is_contiguous(memory_format=torch.channels_last)
    epoch_labels = torch.cat([a.batch(s)[1] for s in range(a.steps_per_epoch)])
    assert len(epoch_labels) == 31 * 64 and len(set(epoch_labels.tolist())) == 10
    x0 = a.batch(0)[0]
    assert abs(x0.mean().item()) < 0.3 and 0.7 < x0.std().item() < 1.3  # standardized


def test_batch_size_error(sample):
    with pytest.raises(ConfigError, match="batch_size"):
        DeviceLoader(sample.train_x, sample.train_y, 5000, sample.mean, sample.std, "cpu")


def copied_sample(tmp_path):
    """A writable copy of the committed sample's IDX files under ``tmp_path/sample``."""
    import shutil

    folder = tmp_path / "sample" / "fashion-mnist"
    shutil.copytree(project_data_dir() / "sample" / "fashion-mnist", folder)
    return folder


def write_idx_labels(path, labels):
    """A gzipped IDX label file (magic 0x00000801) holding ``labels``."""
    import gzip

    with gzip.open(path, "wb") as f:
        f.write(b"\x00\x00\x08\x01" + len(labels).to_bytes(4, "big") + bytes(labels))


def test_a_cache_whose_source_changed_is_rebuilt_not_served(tmp_path):
    folder = copied_sample(tmp_path)
    first = load_dataset("sample", root=tmp_path)
    labels = first.test_y.tolist()
    flipped = [(label + 1) % 10 for label in labels]  # other valid data, same shape
    write_idx_labels(folder / "t10k-labels-idx1-ubyte.gz", flipped)
    again = load_dataset("sample", root=tmp_path)
    assert again.test_y.tolist() == flipped  # the new source, not the cached labels
    write_idx_labels(folder / "t10k-labels-idx1-ubyte.gz", labels)
    assert load_dataset("sample", root=tmp_path).test_y.tolist() == labels


@pytest.mark.parametrize("damage, message", [
    (lambda raw: raw[: len(raw) // 2], "truncated or padded"),
    (lambda raw: b"\x12\x34" + raw[2:], "bad header"),
    (lambda raw: b"", "bad header"),
])
def test_a_damaged_idx_file_is_one_line_naming_it(tmp_path, damage, message):
    import gzip

    folder = copied_sample(tmp_path)
    path = folder / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(damage(raw)))
    with pytest.raises(DataNotFoundError, match=message) as err:
        load_dataset("sample", root=tmp_path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_random_bytes_and_out_of_range_labels_are_one_line(tmp_path):
    folder = copied_sample(tmp_path)
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataNotFoundError, match="unreadable"):
        load_dataset("sample", root=tmp_path)
    folder = copied_sample(tmp_path / "second")
    write_idx_labels(folder / "train-labels-idx1-ubyte.gz", [200] * 2000)
    with pytest.raises(DataNotFoundError, match="label 200, outside the 10 classes"):
        load_dataset("sample", root=tmp_path / "second")


def test_a_class_subset_keeps_those_classes_relabelled_with_its_own_statistics(sample):
    from resdepth.data import class_subset

    two = class_subset(sample, [7, 2])
    assert two.num_classes == 2 and set(two.train_y.tolist()) == {0, 1} and set(two.test_y.tolist()) <= {0, 1}
    assert len(two.train_x) == int(((sample.train_y == 7) | (sample.train_y == 2)).sum())
    assert torch.equal(two.train_x[two.train_y == 0], sample.train_x[sample.train_y == 7])  # 7 -> 0, order kept
    assert two.mean != sample.mean and two.name == "sample[7,2]"
    with pytest.raises(ConfigError, match=r"classes \[10\] are not classes of sample \(0 to 9\)"):
        class_subset(sample, [0, 10])


def test_classes_in_a_config_are_checked_and_hash_neutral_when_empty():
    from resdepth.config import RunConfig

    base = dict(model_args=dict(depth=2), epochs=1)
    assert RunConfig(**base).key == RunConfig(**base, classes=[]).key  # every stored key unchanged
    assert RunConfig(**base, classes=[3, 5]).classes == (3, 5) != RunConfig(**base).classes
    assert RunConfig(**base, classes=[3, 5]).key != RunConfig(**base, classes=[5, 3]).key
    for bad in ([1], [2, 2], [-1, 3], ["a", "b"], 7):
        with pytest.raises(ConfigError, match="classes must be a list of at least 2 distinct"):
            RunConfig(**base, classes=bad)
    cfg = RunConfig(**base, classes=[3, 5])
    assert RunConfig.from_dict(cfg.to_dict()) == cfg


def test_a_run_on_a_class_subset_trains_a_head_of_that_many_classes(isolated_store):
    from resdepth.config import RunConfig
    from resdepth.plan import training_images
    from resdepth.results import run_or_load

    cfg = RunConfig(model_args=dict(depth=2, width=4), dataset="sample", steps=4, batch_size=32, classes=[0, 1, 2])
    record = run_or_load(cfg, progress=False)
    assert record["status"] == "ok" and record["final"]["test_acc"] > 0
    assert training_images("sample", (0, 1, 2)) < training_images("sample")


# ----------------------------------------------------------------------------- the CIFAR path (paper profile)


def write_cifar(root, name: str, per_batch: int = 6) -> None:
    """A few random images in torchvision's own on-disk layout of ``name`` (pickled batches and meta)."""
    import pickle

    import numpy as np
    import torchvision.datasets.cifar as cifar

    cls = {"cifar10": cifar.CIFAR10, "cifar100": cifar.CIFAR100}[name]
    classes = 10 if name == "cifar10" else 100
    label_key = "labels" if name == "cifar10" else "fine_labels"
    folder = root / name / cls.base_folder
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for file_name, _ in cls.train_list + cls.test_list:
        batch = {"data": rng.integers(0, 256, (per_batch, 3 * 32 * 32), dtype=np.uint8),
                 label_key: [int(x) for x in rng.integers(0, classes, per_batch)]}
        (folder / file_name).write_bytes(pickle.dumps(batch))
    meta = {cls.meta["key"]: [f"class {i}" for i in range(classes)]}
    (folder / cls.meta["filename"]).write_bytes(pickle.dumps(meta))


@pytest.mark.parametrize("name, classes, train_batches", [("cifar10", 10, 5), ("cifar100", 100, 1)])
def test_the_cifar_loader_reads_torchvisions_layout_and_caches_it(tmp_path, monkeypatch, name, classes,
                                                                 train_batches):
    import torchvision.datasets.cifar as cifar

    monkeypatch.setattr(cifar, "check_integrity", lambda *args, **kwargs: True)  # our files have no official md5
    write_cifar(tmp_path, name)
    data = load_dataset(name, root=tmp_path)
    assert data.train_x.shape == (6 * train_batches, 3, 32, 32) and data.test_x.shape == (6, 3, 32, 32)
    assert data.train_x.dtype == torch.uint8 and data.train_y.dtype == torch.int64
    assert data.num_classes == classes and int(data.train_y.max()) < classes and data.in_channels == 3
    assert (tmp_path / "cache" / f"{name}.pt").is_file()
    again = load_dataset(name, root=tmp_path)  # from the cache, keyed by the source files
    assert torch.equal(again.train_x, data.train_x) and again.mean == data.mean


def test_a_missing_cifar_folder_is_one_line_that_says_where_to_put_it(tmp_path, monkeypatch):
    import torchvision.datasets.cifar as cifar

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(cifar, "download_and_extract_archive", offline)
    with pytest.raises(DataNotFoundError, match=f"cifar10 is not in {tmp_path / 'cifar10'}.*copy torchvision's") as err:
        load_dataset("cifar10", root=tmp_path)
    assert "\n" not in str(err.value)
