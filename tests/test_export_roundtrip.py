"""Exports hold what training consumed: pt/npz bit for bit (values outside [0, 1] included), the map to
pixels (mean/std, or the ZCA matrices), and a network trained on a re-imported export is the network
trained on the buffer; PNG is clamped and says so."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from benchmark.buffer import Buffer
from benchmark.cli import main
from benchmark.engine import Engine
from benchmark.export import export_buffer
from benchmark.options import EngineOptions, RunOptions
from benchmark.pixels import pixel_buffer
from benchmark.profiles import load_profile

SMOKE = ["--profile", "smoke", "--no-progress", "--device", "cpu"]


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    root = tmp_path_factory.mktemp("roundtrip") / "results"
    return Engine(EngineOptions(output_dir=root, device="cpu", show_progress=False), load_profile("smoke"))


def made_buffer(engine, preprocessing: str, scale: float) -> Buffer:
    """Real digits (5 per class) scaled so that their pixels leave [0, 1], with a learned lr, stamped
    as the engine stamps every buffer."""
    from benchmark.engine.buffers import stamp
    from benchmark.engine.plan import fit_plan

    data = engine.buffers.data("digits", preprocessing)
    images = torch.cat([data.train.of_class(c)[:5] for c in data.classes]) * scale
    buffer = pixel_buffer(images, data.classes)
    buffer.tensors["lr"] = torch.tensor([0.0123])
    stamp(buffer, fit_plan(data, engine.buffers.resolve("random", "digits", 5), 5, 0))
    path = engine.store.buffer_path("random", f"made-{preprocessing}")
    return Buffer.load(buffer.save(path))


def test_pt_and_npz_hold_exactly_what_training_consumed(engine, tmp_path, capsys):
    buffer = made_buffer(engine, "meanstd", 2.5)
    images, labels, lr = buffer.materialize("cpu")
    unclamped, _ = buffer.pixels(engine.store.root, clamp=False)
    assert ((unclamped < 0) | (unclamped > 1)).float().mean() > 0.2  # the case the export must keep
    path = engine.store.buffer_path("random", "made-meanstd")
    assert main(["export", str(path), "--format", "pt", "--output-dir", str(tmp_path / "pt")]) == 0
    assert "exactly as training consumed them" in capsys.readouterr().out
    pt = torch.load(tmp_path / "pt" / "buffer.pt", weights_only=True)
    assert sorted(pt) == ["images", "labels", "lr", "mean", "std"]
    assert pt["images"].dtype == torch.float32 and torch.equal(pt["images"], images)
    assert torch.equal(pt["labels"], labels) and float(pt["lr"]) == pytest.approx(lr, rel=0, abs=0)
    mapped = pt["images"] * pt["std"][None, :, None, None] + pt["mean"][None, :, None, None]
    assert torch.allclose(mapped, unclamped, atol=1e-6)

    export_buffer(buffer, tmp_path / "npz", "npz")
    with np.load(tmp_path / "npz" / "buffer.npz", allow_pickle=False) as npz:
        assert npz["images"].dtype == np.float32 and np.array_equal(npz["images"], images.numpy())
        assert np.array_equal(npz["labels"], labels.numpy()) and npz["lr"].dtype == np.float32
        assert list(npz["class_names"]) == buffer.manifest["class_names"]
    info = json.loads((tmp_path / "npz" / "buffer.json").read_text())
    assert info["content"]["values"] == "preprocessed" and info["manifest"]["strategy"] == "random"


def test_png_is_clamped_and_says_so(engine, tmp_path, capsys):
    made_buffer(engine, "meanstd", 2.5)
    path = engine.store.buffer_path("random", "made-meanstd")
    assert main(["export", str(path), "--output-dir", str(tmp_path / "png")]) == 0
    line = capsys.readouterr().out
    clamped = json.loads((tmp_path / "png" / "buffer.json").read_text())["content"]["clamped"]
    assert clamped["of"] == 50 * 64 and clamped["values"] > 0.2 * clamped["of"]
    assert f"clamped to [0, 1] ({clamped['values']} of {clamped['of']} values" in line


def test_a_zca_export_carries_its_transform(engine, tmp_path):
    buffer = made_buffer(engine, "zca", 1.5)
    assert buffer.manifest["whitening"]
    export_buffer(buffer, tmp_path / "zca", "pt", cache_root=engine.store.root)
    pt = torch.load(tmp_path / "zca" / "buffer.pt", weights_only=True)
    assert {"zca_mean", "zca_matrix", "zca_inverse"} <= set(pt) and "mean" not in pt
    images = pt["images"]
    assert torch.equal(images, buffer.materialize("cpu")[0])
    documented = ((images.flatten(1) + pt["zca_mean"] @ pt["zca_matrix"]) @ pt["zca_inverse"]).reshape(
        images.shape
    )
    unclamped, _ = buffer.pixels(engine.store.root, clamp=False)
    assert torch.allclose(documented, unclamped, atol=1e-5)


def test_a_network_trained_on_a_reimported_export_is_the_same_network(engine, tmp_path):
    """Re-imported through the buffer API (no budget check on the way back), the smoke recipe on CPU."""
    from benchmark.registries import SUITES
    from benchmark.training.job import EvaluationJob, TrainingSet

    buffer = made_buffer(engine, "meanstd", 2.5)
    export_buffer(buffer, tmp_path / "pt", "pt")
    pt = torch.load(tmp_path / "pt" / "buffer.pt", weights_only=True)
    reimported = Buffer("pixels", {"images": pt["images"], "lr": pt["lr"].reshape(1)}, dict(buffer.manifest))
    data = engine.buffers.data("digits", "meanstd")
    suite = SUITES.get("standard")(RunOptions(engine=engine.options), engine.profile, engine)
    recipe = suite.recipe("MLP", None, "digits", 5)
    trained = []
    for source in (buffer, reimported):
        images, labels, lr = source.materialize("cpu")
        job = EvaluationJob("MLP", data, TrainingSet(images, labels, lr, source.storage), recipe, seed=7)
        trained.append(engine.evaluation.train(job))
    original, again = trained
    assert again.accuracy == original.accuracy and original.accuracy > 0.3
    for (name, a), (_, b) in zip(
        original.net.state_dict().items(), again.net.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
