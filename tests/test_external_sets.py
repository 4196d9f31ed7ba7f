"""Sets made elsewhere are scored under the suite's budget and recipe and recorded as
``external:<name>``, beside the suite's own rows; nothing is unpickled."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from benchmark.cli import main
from benchmark.data import load_dataset
from benchmark.errors import UserInputError

SMOKE = ["--profile", "smoke", "--no-progress", "--device", "cpu"]


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    return err


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("outside")
    out = root / "results"
    assert (
        main(
            [
                "run",
                *SMOKE,
                "--strategies",
                "random",
                "--ipc",
                "1",
                "--repeats",
                "1",
                "--output-dir",
                str(out),
            ]
        )
        == 0
    )
    (buffer,) = out.glob("buffers/random/*.safetensors")
    assert main(["export", str(buffer), "--output-dir", str(root / "their set")]) == 0
    return out


def evaluate(out, path, *extra) -> int:
    return main(
        ["evaluate", str(path), *SMOKE, "--dataset", "digits", "--ipc", "1", "--output-dir", str(out), *extra]
    )


def test_a_folder_of_pictures_is_scored_beside_the_suite(results, capsys):
    capsys.readouterr()
    assert evaluate(results, results.parent / "their set", "--repeats", "2") == 0
    out = capsys.readouterr().out
    assert (
        "external:their-set: 10 images, uint8 values counted at 1 byte each; storage 160 / budget 640" in out
    )
    records = [json.loads(p.read_text()) for p in (results / "records" / "standard").glob("*.json")]
    outside = [r for r in records if r["config"]["strategy"] == "external"]
    assert len(outside) == 2 and {r["config"]["spec"] for r in outside} == {"external:name=their-set"}
    assert all(r["role"] == "method" and r["storage"] == 160 and r["budget"] == 640 for r in outside)
    assert main(["show", "--output-dir", str(results), "--format", "markdown"]) == 0
    shown = capsys.readouterr().out
    assert "| external:their-set |" in shown and "| random |" in shown
    assert main(["contrast", "--output-dir", str(results)]) == 0
    assert "external:their-set" in capsys.readouterr().out

    from benchmark.report.commands import build_leaderboard

    assert "external:their-set" in build_leaderboard(results, figures=False)["markdown"].read_text()


def test_npz_and_pt_count_storage_by_the_declared_values(results, tmp_path, capsys):
    data = load_dataset("digits")
    images = torch.cat([data.train.of_class(c)[:4] for c in data.classes])  # 4 per class
    labels = torch.arange(10).repeat_interleave(4)
    pixels = data.to_pixels(images).clamp(0, 1)
    np.savez(
        tmp_path / "bytes.npz", images=(pixels * 255).round().to(torch.uint8).numpy(), labels=labels.numpy()
    )
    capsys.readouterr()
    assert evaluate(results, tmp_path / "bytes.npz", "--values", "uint8") == 0  # 40 × 64 × 0.25 = 640
    assert "storage 640 / budget 640" in capsys.readouterr().out
    torch.save({"images": pixels, "labels": labels, "lr": torch.tensor(0.01)}, tmp_path / "floats.pt")
    assert evaluate(results, tmp_path / "floats.pt", "--values", "pixels") == 2  # 2560 floats > 640
    assert "budget" in one_error_line(capsys)
    assert evaluate(results, tmp_path / "floats.pt", "--values", "uint8") == 2  # floats declared as bytes
    assert "declare --values pixels" in one_error_line(capsys)
    assert evaluate(results, tmp_path / "bytes.npz") == 2
    assert "--values" in one_error_line(capsys)


def test_a_pt_is_never_unpickled(results, tmp_path, capsys):
    ran = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(ran), "w"))

    torch.save(
        {"images": torch.zeros(10, 1, 8, 8), "labels": torch.arange(10), "x": Payload()}, tmp_path / "evil.pt"
    )
    assert evaluate(results, tmp_path / "evil.pt", "--values", "pixels") == 2
    assert "weights_only=True" in one_error_line(capsys)
    assert not ran.exists()


def test_class_folders_by_index_or_by_name(tmp_path):
    from benchmark.external import class_of_folder, read_outside_set

    data = load_dataset("digits")
    assert [class_of_folder(name, data) for name in ("3", "3_three", "07-x", "5")] == [3, 3, 7, 5]
    with pytest.raises(UserInputError, match="names no class of digits: name it by index"):
        class_of_folder("cat", data)
    from PIL import Image

    for folder in ("1_one", "01"):
        (tmp_path / folder).mkdir()
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / folder / "a.png")
    with pytest.raises(UserInputError, match="both name class 1"):
        read_outside_set(tmp_path, None, data)


def test_one_name_stands_for_one_set(results, tmp_path, capsys):
    data = load_dataset("digits")
    images = torch.cat([data.train.of_class(c)[:1] for c in data.classes])
    torch.save({"images": images, "labels": torch.arange(10)}, tmp_path / "mine.pt")
    assert evaluate(results, tmp_path / "mine.pt", "--values", "preprocessed") == 0
    torch.save({"images": images.flip(0), "labels": torch.arange(10)}, tmp_path / "mine.pt")
    assert evaluate(results, tmp_path / "mine.pt", "--values", "preprocessed") == 2
    assert "choose another --name" in one_error_line(capsys)
    assert evaluate(results, tmp_path / "mine.pt", "--values", "preprocessed", "--name", "mine v2") == 0
    from benchmark.results import load

    labels = set(load(results).label)
    assert {"random", "external:mine", "external:mine-v2"} <= labels
