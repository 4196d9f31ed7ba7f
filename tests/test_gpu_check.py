"""The GPU check's plumbing, dry-run on CPU (smoke profile, digits): every stage runs, prints and saves."""

import json

import pytest
import script_modules


def load_script():
    return script_modules.load_script("studies/gpu_check.py", "gpu_check")


@pytest.mark.slow
def test_dry_run_runs_every_stage_and_saves_its_measurements(tmp_path, capsys):
    gpu_check = load_script()
    assert gpu_check.main(["--dry-run", "--output-dir", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    dsa = json.loads((tmp_path / "dsa.json").read_text())
    tm = json.loads((tmp_path / "tm.json").read_text())
    speed = json.loads((tmp_path / "speed.json").read_text())
    speed_real = json.loads((tmp_path / "speed-real.json").read_text())
    assert dsa["exit_status"] == 0 and dsa["published"] == {"dsa": [70.6, 0.6]}
    (dsa_spec,) = dsa["measured"]
    assert dsa_spec.startswith("dsa:") and dsa["measured"][dsa_spec]["n"] == 2
    ((tm_spec, tm_measured),) = tm["measured"].items()
    assert tm_spec.startswith("tm:") and ":iterations=2:" in tm_spec and tm_measured["n"] == 1
    ((speed_spec, _),) = speed["measured"].items()
    ((real_spec, _),) = speed_real["measured"].items()
    assert ":init=noise:" in speed_spec and ":sparsify=export:" in speed_spec
    assert ":init=real:" in real_spec and ":sparsify=forward:" in real_spec
    for stage in ("dsa", "tm", "speed", "speed-real"):
        assert f"stage {stage}: exit 0" in printed


def test_unknown_stage_is_one_line(tmp_path, capsys):
    gpu_check = load_script()
    assert gpu_check.main(["--dry-run", "--stages", "dsa,nope", "--output-dir", str(tmp_path)]) == 2
    expected = "error: unknown stage 'nope'; choose from dsa, tm, speed, speed-real"
    assert capsys.readouterr().err.strip() == expected
    assert not (tmp_path / "dsa.json").exists()
