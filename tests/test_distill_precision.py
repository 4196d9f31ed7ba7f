"""The distillation precision (benchmark/distill/precision.py): the option, the refusal without
bfloat16, fp32 keys as they were, bf16 in the spec, key, manifest and records, and a bf16 distillation
close to the fp32 one."""

import pytest
import torch
from safetensors import safe_open

from benchmark.buffer import Buffer
from benchmark.cache import cache_key
from benchmark.errors import UserInputError
from benchmark.spec import parse_spec

DIGITS_TM_SMOKE = (
    "tm:batch_syn=16:dsa=auto:expert_epochs=1:expert_standardize=false:expert_subset=20:"
    "expert_train_epochs=2:graph_memory_gib=6.0:graph_steps=0:init=real:iterations=3:lr_img=100.0:"
    "lr_init=0.01:lr_lr=1e-05:max_start=1:min_lr=0.001:momentum_img=0.5:momentum_lr=0.5:net_width=8:"
    "network=ConvNet:num_experts=1:student_momentum=0.0:syn_steps=3"
)
# the buffer keys of tm and dm at digits IPC 1 seed 0 (smoke) as they were before the option existed
FP32_KEYS = {"tm": "2d3fbd2a4618a3ba", "dm": "a105c2d2ee2c95f9", "random": "22f76027f590e48f"}
NO_BF16 = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")


def engine(tmp_path, precision="fp32"):
    from benchmark.engine import Engine
    from benchmark.options import EngineOptions
    from benchmark.profiles import load_profile

    options = EngineOptions(
        output_dir=tmp_path, device="cpu", distill_precision=precision, show_progress=False
    )
    return Engine(options, load_profile("smoke"))


def keys(tmp_path, digits, precision):
    buffers = engine(tmp_path, precision).buffers
    return {
        name: buffers.key(digits, buffers.resolve(name, "digits", 1), 1, 0) for name in ("tm", "dm", "random")
    }


def test_the_option_is_parsed_and_a_bad_value_is_one_line(capsys):
    from benchmark.cli import build_parser, main

    argv = ["distill", "--strategy", "tm", "--ipc", "1", "--distill-precision", "bf16"]
    assert build_parser(argv).parse_args(argv).distill_precision == "bf16"
    assert build_parser(argv[:-2]).parse_args(argv[:-2]).distill_precision == "fp32"
    with pytest.raises(SystemExit) as exit_:
        main(["distill", "--strategy", "tm", "--ipc", "1", "--distill-precision", "fp16"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--distill-precision" in err and "fp16" in err


def test_fp32_keys_are_the_keys_before_the_option(tmp_path, digits):
    from benchmark.strategy import resolve

    assert keys(tmp_path, digits, "fp32") == FP32_KEYS
    assert resolve(parse_spec("tm"), "smoke", "digits", 1).canonical == DIGITS_TM_SMOKE
    assert engine(tmp_path).buffers.resolve("tm", "digits", 1).canonical == DIGITS_TM_SMOKE
    # the key written out: data, split, the spec without a precision, ipc, seed
    buffers = engine(tmp_path).buffers
    split = {"val_fraction": 0.1, "split_seed": 0}
    content = {"data": digits.describe(), "split": split, "strategy": DIGITS_TM_SMOKE, "ipc": 1, "seed": 0}
    assert buffers.key(digits, buffers.resolve("tm", "digits", 1), 1, 0) == cache_key("buffer", content)


def test_bf16_is_in_the_spec_and_key_of_distilling_strategies_only(tmp_path, digits):
    bf16 = keys(tmp_path, digits, "bf16")
    assert bf16["random"] == FP32_KEYS["random"]  # nothing distils: the same buffer
    assert bf16["tm"] != FP32_KEYS["tm"] and bf16["dm"] != FP32_KEYS["dm"]
    resolved = engine(tmp_path, "bf16").buffers.resolve("speed:objective=dm", "digits", 1)
    assert resolved.config["distill_precision"] == "bf16" and resolved.config["objective"] == "dm"
    # given in the spec itself, the same resolution as the option's
    given = engine(tmp_path).buffers.resolve("tm:distill_precision=bf16", "digits", 1)
    assert given == engine(tmp_path, "bf16").buffers.resolve("tm", "digits", 1)
    assert given.canonical == DIGITS_TM_SMOKE.replace("dsa=auto", "distill_precision=bf16:dsa=auto")


def test_fp32_in_a_spec_is_refused_in_one_line(tmp_path):
    with pytest.raises(UserInputError) as error:
        engine(tmp_path).buffers.resolve("tm:distill_precision=fp32", "digits", 1)
    assert "\n" not in str(error.value) and "leaving the key out" in str(error.value)


def test_a_cpu_without_bfloat16_is_refused_in_one_line_naming_the_flag(tmp_path, monkeypatch, capsys):
    from benchmark.cli import main

    for probe in NO_BF16:
        monkeypatch.setattr(torch.cpu, probe, lambda: False)
    argv = ["distill", "--profile", "smoke", "--dataset", "digits", "--strategy", "dm", "--ipc", "1",
            "--device", "cpu", "--output-dir", str(tmp_path), "--distill-precision", "bf16"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "avx512_bf16" in err and "--distill-precision fp32" in err
    assert not list(tmp_path.glob("buffers/*/*"))
    # random does not distil: bf16 does not apply, so nothing is refused
    assert main([*argv[:6], "random", *argv[7:]]) == 0


def test_bf16_run_records_and_manifests_carry_it_and_rows_stay_apart(tmp_path):
    from benchmark.options import RunOptions
    from benchmark.results.frame import records_frame
    from benchmark.results.store import ResultStore
    from benchmark.runner import run

    for precision in ("fp32", "bf16"):
        options = RunOptions(profile="smoke", datasets=["digits"], strategies=["random", "tm"], ipcs=[1],
                             output_dir=tmp_path, device="cpu", show_progress=False)  # fmt: skip
        run(options.replace(distill_precision=precision))
    manifests = [Buffer.load(p).manifest for p in tmp_path.glob("buffers/tm/*.safetensors")]
    assert sorted("distill_precision=bf16" in m["spec"] for m in manifests) == [False, True]
    assert len(list(tmp_path.glob("buffers/random/*.safetensors"))) == 1
    records = ResultStore(tmp_path).records("standard")
    specs = {r.config["spec"] for r in records}
    assert DIGITS_TM_SMOKE in specs
    assert DIGITS_TM_SMOKE.replace("dsa=auto", "distill_precision=bf16:dsa=auto") in specs
    labels = set(records_frame(records)["label"])
    assert {"random", "tm", "tm:distill_precision=bf16"} <= labels
    # read alone, a bf16 row still names its precision (it is a component key, not a differing knob)
    bf16_only = [r for r in records if "distill_precision=bf16" in r.config["spec"]]
    assert set(records_frame(bf16_only)["label"]) == {"tm:distill_precision=bf16"}


def tiny(digits, name, precision, tmp_path):
    """Three smoke iterations of pixels × ``name`` on digits in ``precision``: (losses, synthetic,
    objective)."""
    from baselines.pixels import PixelParameterization
    from benchmark.budget import Budget
    from benchmark.distill.loop import distill
    from benchmark.registries import OBJECTIVES
    from benchmark.strategy import FitContext, resolve

    spec = name if precision == "fp32" else f"{name}:distill_precision=bf16"
    config = resolve(parse_spec(spec), "smoke", "digits", 1).config
    context = FitContext(cache_root=tmp_path, show_progress=False)
    synthetic = PixelParameterization(digits, Budget(1, 10, digits.image_shape), config, 0, context)
    objective = OBJECTIVES.get(name)(digits, config, 0, context)
    losses = distill(synthetic, objective, 3, 0, context, precision=config.get("distill_precision", "fp32"))
    return losses, synthetic, objective


def test_a_tiny_bf16_distillation_runs_close_to_fp32_and_keeps_fp32_state(digits, tmp_path):
    dm_fp32, _, _ = tiny(digits, "dm", "fp32", tmp_path)
    dm_bf16, _, _ = tiny(digits, "dm", "bf16", tmp_path)
    assert dm_fp32 != dm_bf16 and dm_bf16 == pytest.approx(dm_fp32, rel=0.03)
    # TM's loss divides by the experts' small step ‖θ0 − θ*‖²: bfloat16 moves it more (the first
    # iteration, before the images differ, within 10 %)
    tm_fp32, _, _ = tiny(digits, "tm", "fp32", tmp_path)
    tm_bf16, synthetic, objective = tiny(digits, "tm", "bf16", tmp_path)
    assert tm_fp32 != tm_bf16 and all(torch.isfinite(torch.tensor(tm_bf16)))
    assert tm_bf16[0] == pytest.approx(tm_fp32[0], rel=0.1)
    assert all(p.dtype == torch.float32 for p in [*synthetic.parameters(), objective.alpha])
    # the experts were trained once, in float32, and shared by both precisions
    (expert,) = objective.expert_files()
    assert len(list(tmp_path.rglob("*.safetensors"))) == 1
    with safe_open(str(expert), framework="pt") as handle:
        assert handle.get_slice("trajectory").get_dtype() == "F32"


def test_the_study_runs_a_smoke_pair_resumes_and_reports(tmp_path, capsys):
    import json

    from script_modules import load_script

    load_script("studies/fair_search.py", "fair_search")  # the study builds on the fair search's harness
    study = load_script("studies/distill_precision.py", "distill_precision")
    assert [t.name for t in study.trials(seeds=[0])] == [
        "speed-fp32-seed0", "speed-bf16-seed0", "tm-fp32-seed0", "tm-bf16-seed0"
    ]  # fmt: skip
    argv = ["run", "--dataset", "digits", "--profile", "smoke", "--methods", "tm", "--seeds", "0,1",
            "--output", str(tmp_path / "data"), "--cache", str(tmp_path / "cache")]  # fmt: skip
    assert study.main(argv) == 0
    entries = {p.stem: json.loads(p.read_text()) for p in (tmp_path / "data").glob("*.json")}
    assert sorted(entries) == ["tm-bf16-seed0", "tm-bf16-seed1", "tm-fp32-seed0", "tm-fp32-seed1"]
    assert "distill_precision=bf16" in entries["tm-bf16-seed0"]["spec"]
    assert "distill_precision" not in entries["tm-fp32-seed0"]["spec"]
    assert entries["tm-bf16-seed0"]["recipe"]["precision"] == "fp32"  # evaluated in fp32
    assert study.main(argv) == 0  # resumed: nothing redone
    out = capsys.readouterr().out
    assert out.count("validation") == 4 and "| tm | 0, 1 |" in out
