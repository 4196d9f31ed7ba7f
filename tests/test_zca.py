"""ZCA whitening: fitted on train only, invertible, cached on disk and reused, wired into loaders."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import benchmark.data.zca as zca_module
from benchmark.data import DatasetOptions, load_dataset
from benchmark.data.build import build_classdata
from benchmark.data.idx import write_idx
from benchmark.data.load import apply_zca, preprocess
from benchmark.data.normalize import denormalize
from benchmark.data.zca import fit_zca, unwhiten, whiten
from benchmark.errors import BenchmarkWarning, UserInputError

MEAN, STD = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)


def small_data(seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    images = torch.rand(80, 3, 6, 6, generator=generator)
    labels = torch.arange(4).repeat_interleave(20)
    test = torch.rand(8, 3, 6, 6, generator=generator)
    options = DatasetOptions(val_fraction=0.25)
    return build_classdata(
        "toy", list("abcd"), images[:], labels, test, torch.arange(4).repeat(2), options, MEAN, STD
    )


def test_whitening_is_fitted_on_train_and_round_trips(tmp_path):
    data = small_data()
    white = apply_zca(data, tmp_path)
    assert white.preprocessing == "zca" and white.whitening is not None
    assert white.mean == (0.0, 0.0, 0.0) and white.std == (1.0, 1.0, 1.0)
    reference = fit_zca(denormalize(data.train.images, MEAN, STD))  # train split only, no val/test
    for name in ("train", "val", "test"):
        raw = denormalize(getattr(data, name).images, MEAN, STD)
        whitened = getattr(white, name).images
        assert whitened.shape == raw.shape
        assert torch.equal(getattr(white, name).labels, getattr(data, name).labels)
        assert torch.allclose(whitened, reference(raw).reshape(raw.shape), atol=1e-5)
        assert torch.allclose(unwhiten(whitened, white.whitening), raw, atol=1e-4)


def test_cache_is_written_once_and_reused(tmp_path, monkeypatch):
    data = small_data()
    first = apply_zca(data, tmp_path)
    files = list((tmp_path / "cache" / "zca").glob("*.safetensors"))
    assert len(files) == 1

    def no_refit(images):
        raise AssertionError("the cached ZCA should have been reused")

    monkeypatch.setattr(zca_module, "fit_zca", no_refit)
    second = apply_zca(data, tmp_path)
    assert torch.equal(first.train.images, second.train.images)
    assert torch.equal(first.test.images, second.test.images)
    assert torch.allclose(
        unwhiten(second.val.images, second.whitening), denormalize(data.val.images, MEAN, STD), atol=1e-4
    )
    # Different train data → a different cache entry, never the stale one.
    monkeypatch.undo()
    apply_zca(small_data(seed=1), tmp_path)
    assert len(list((tmp_path / "cache" / "zca").glob("*.safetensors"))) == 2


def test_damaged_cache_is_refitted(tmp_path):
    data = small_data()
    first = apply_zca(data, tmp_path)
    (path,) = (tmp_path / "cache" / "zca").glob("*.safetensors")
    path.write_bytes(b"garbage")
    with pytest.warns(BenchmarkWarning, match="damaged cache"):
        second = apply_zca(data, tmp_path)
    assert torch.allclose(first.train.images, second.train.images, atol=1e-6)
    assert path.stat().st_size > 100


def test_whiten_unwhiten_of_new_images(tmp_path):
    data = apply_zca(small_data(), tmp_path)
    images = torch.rand(5, 3, 6, 6)
    assert torch.allclose(unwhiten(whiten(images, data.whitening), data.whitening), images, atol=1e-4)


def test_loader_returns_zca_data_when_asked(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "MNIST" / "raw"
    folder.mkdir(parents=True)
    write_idx(folder / "train-images-idx3-ubyte", rng.integers(0, 256, (20, 28, 28)))
    write_idx(folder / "train-labels-idx1-ubyte", np.repeat(np.arange(10), 2))
    write_idx(folder / "t10k-images-idx3-ubyte", rng.integers(0, 256, (10, 28, 28)))
    write_idx(folder / "t10k-labels-idx1-ubyte", np.arange(10))
    options = DatasetOptions(
        data_root=tmp_path, val_fraction=0.0, preprocessing="zca", cache_dir=tmp_path / "out"
    )
    data = load_dataset("mnist", options)
    plain = load_dataset("mnist", DatasetOptions(data_root=tmp_path, val_fraction=0.0))
    assert data.preprocessing == "zca" and len(list((tmp_path / "out" / "cache" / "zca").iterdir())) == 1
    raw = denormalize(plain.test.images, plain.mean, plain.std)
    assert torch.allclose(unwhiten(data.test.images, data.whitening), raw, atol=1e-4)


def test_unknown_preprocessing_and_oversized_images_are_refused(tmp_path):
    with pytest.raises(UserInputError, match="meanstd, zca"):
        preprocess(small_data(), DatasetOptions(preprocessing="pca"))
    big = small_data()
    big.image_shape = (3, 128, 128)
    with pytest.raises(UserInputError, match="meanstd"):
        apply_zca(big, tmp_path)
