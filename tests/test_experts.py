"""Expert trajectories: content, cache reuse, resume, the command."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

import baselines.experts as experts
from baselines.experts import ExpertRecipe, build_experts, expert_folder, load_snapshots

RECIPE = ExpertRecipe(width=4, epochs=2, subset=8, dsa="none")


def test_trajectory_holds_init_and_every_epoch(digits, tmp_path):
    files = build_experts(digits, RECIPE, 0, 2, tmp_path, show_progress=False)
    assert [f.name for f in files] == ["expert_0000.safetensors", "expert_0001.safetensors"]
    trajectory = load_file(files[0])["trajectory"]
    net = experts.build_network(digits, RECIPE)
    assert trajectory.shape == (3, sum(p.numel() for p in net.parameters()))
    assert trajectory.dtype == torch.float32
    assert not torch.equal(trajectory[0], trajectory[1])  # it trained
    assert not torch.equal(trajectory[0], load_file(files[1])["trajectory"][0])  # own init per expert
    start, target = load_snapshots(files[0], [0, 2])
    assert torch.equal(start, trajectory[0]) and torch.equal(target, trajectory[2])


def test_second_build_trains_nothing_and_resume_trains_only_the_missing(digits, tmp_path, monkeypatch):
    files = build_experts(digits, RECIPE, 0, 3, tmp_path, show_progress=False)
    kept = {f: load_file(f)["trajectory"] for f in files}
    trained = []
    original = experts.train_expert

    def counting(data, recipe, seed, index, device="cpu", bar=None):
        trained.append(index)
        return original(data, recipe, seed, index, device, bar)

    monkeypatch.setattr(experts, "train_expert", counting)
    assert build_experts(digits, RECIPE, 0, 3, tmp_path, show_progress=False) == files
    assert trained == []
    files[1].unlink()
    build_experts(digits, RECIPE, 0, 3, tmp_path, show_progress=False)
    assert trained == [1]
    assert torch.equal(load_file(files[1])["trajectory"], kept[files[1]])  # seeded: the same expert
    build_experts(digits, RECIPE, 0, 4, tmp_path, show_progress=False)  # more experts: only the new one
    assert trained == [1, 3]


def test_a_damaged_expert_is_trained_again_with_a_warning(digits, tmp_path):
    from benchmark.errors import BenchmarkWarning

    files = build_experts(digits, RECIPE, 0, 2, tmp_path, show_progress=False)
    kept = load_file(files[0])["trajectory"].clone()  # load_file maps the file, which is overwritten
    files[0].write_bytes(b"not a safetensors file")
    with pytest.warns(BenchmarkWarning, match="damaged cache"):
        build_experts(digits, RECIPE, 0, 2, tmp_path, show_progress=False)
    assert torch.equal(load_file(files[0])["trajectory"], kept)  # seeded: the same expert again


def test_key_changes_with_what_changes_the_content(digits, tmp_path):
    base = expert_folder(tmp_path, digits, RECIPE, 0)
    assert expert_folder(tmp_path, digits, ExpertRecipe(width=4, epochs=2, subset=9, dsa="none"), 0) != base
    assert expert_folder(tmp_path, digits, ExpertRecipe(width=4, epochs=3, subset=8, dsa="none"), 0) != base
    assert expert_folder(tmp_path, digits, RECIPE, 1) != base
    assert expert_folder(tmp_path, digits.restricted_to([0, 1]), RECIPE, 0) != base


def test_experts_command(tmp_path, capsys):
    from benchmark.cli import main

    code = main(
        ["experts", "--dataset", "digits", "--experts", "1", "--epochs", "1", "--subset", "5", "--width", "4"]
        + ["--output-dir", str(tmp_path), "--device", "cpu", "--no-progress"]
    )
    assert code == 0
    assert "1 experts in" in capsys.readouterr().out
    assert len(list((tmp_path / "cache" / "experts").glob("*/expert_0000.safetensors"))) == 1


def test_experts_command_rejects_zero_epochs(tmp_path):
    from benchmark.cli import main

    assert main(["experts", "--dataset", "digits", "--epochs", "0", "--output-dir", str(tmp_path)]) == 2


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("BENCHMARK_PROGRESS", "0")
