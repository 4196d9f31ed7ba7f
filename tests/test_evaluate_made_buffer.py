"""``evaluate`` reads a made buffer's spec as it stands: evaluating distils nothing, so the run's
distillation precision is neither added to the spec nor checked against the machine."""

from __future__ import annotations

from benchmark.cli import main
from benchmark.distill import precision


def test_a_bf16_buffer_is_evaluated_on_a_machine_without_bfloat16(tmp_path, monkeypatch, capsys):
    common = ["--profile", "smoke", "--device", "cpu", "--output-dir", str(tmp_path), "--no-progress"]
    monkeypatch.setattr(precision, "bf16_unsupported", lambda device: None)  # made where bf16 runs
    made = ["distill", "--dataset", "digits", "--strategy", "dm", "--ipc", "1", "--distill-precision", "bf16"]
    assert main([*made, *common]) == 0
    (path,) = tmp_path.glob("buffers/dm/*.safetensors")
    capsys.readouterr()
    monkeypatch.setattr(precision, "bf16_unsupported", lambda device: "no bfloat16 here")
    assert main(["evaluate", str(path), *common]) == 0
    out = capsys.readouterr().out
    assert "repeat 0: test accuracy" in out
    # distilling in bf16 on this machine is still refused
    assert main([*made, "--seed", "1", *common]) == 2
    assert "no bfloat16 here" in capsys.readouterr().err
