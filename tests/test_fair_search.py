"""The fair search study (studies/fair_search.py): its grids, its selection rule, one smoke trial."""

import json

import pytest
from script_modules import load_script


@pytest.fixture(scope="module")
def fair_search():
    return load_script("studies/fair_search.py", "fair_search")


def test_grids_are_twelve_fixed_trials_of_each_method_s_own_knobs(fair_search):
    from benchmark.spec import parse_spec
    from benchmark.strategy import resolve

    knobs = {
        "tm": {"lr_img", "lr_init", "syn_steps", "max_start", "expert_epochs", "iterations"},
        "dm": {"lr_img", "batch_real", "iterations"},
        "dsa": {"lr_img", "outer_loop", "inner_loop", "iterations"},
    }
    for method, grid in fair_search.GRIDS.items():
        assert len(grid) == 12 and grid[0] == {}  # the quick preset first
        assert {k for overrides in grid for k in overrides} <= knobs[method]
        assert len({json.dumps(o, sort_keys=True) for o in grid}) == 12
        for trial in fair_search.trials([method]):
            config = resolve(parse_spec(trial.spec), "quick", "fashion_mnist", 1).config
            assert config | trial.overrides == config
            if method == "tm":  # the quick experts (6 epochs) serve every trial
                assert config["expert_train_epochs"] == 6
                assert config["max_start"] + config["expert_epochs"] <= 6


def test_the_evaluation_is_the_speed_selection_s(fair_search):
    recipe = fair_search.eval_recipe("quick")
    assert (recipe.epochs, recipe.lr, recipe.dsa, recipe.use_buffer_lr, recipe.network_options) == (
        300, 0.01, "auto", True, {}
    )
    assert (fair_search.NETWORKS, fair_search.EVAL_SEED_NAMESPACE) == (2, "convergence-study")


def entry(trial, mean, cost, overrides=None):
    return {"trial": trial, "mean": mean, "cost": cost, "overrides": overrides or {"lr_img": float(mean)}}


def test_selection_rule_ties_go_to_the_cheaper_then_two_seeds_decide(fair_search):
    results = {f"dm-{i:02d}": entry(f"dm-{i:02d}", 60.0 + i / 10, 1000 * i) for i in range(1, 13)}
    results["dm-12"] = entry("dm-12", 70.0, 5000)
    results["dm-11"] = entry("dm-11", 69.8, 9000)
    results["dm-05"] = entry("dm-05", 69.75, 3000)  # within 0.3 of the best and the cheapest
    chosen, status = fair_search.selection(results, "dm")
    assert (chosen["trial"], status) == ("dm-05", "provisional")
    again = [t.name for t in fair_search.confirmations(results, "dm")]
    assert again == ["dm-12-seed1", "dm-11-seed1", "dm-05-seed1"]
    results |= {
        "dm-12-seed1": entry("dm-12-seed1", 68.0, 5000),  # two-seed mean 69.0
        "dm-11-seed1": entry("dm-11-seed1", 69.9, 9000),  # 69.85: the best
        "dm-05-seed1": entry("dm-05-seed1", 69.0, 3000),  # 69.375: not within 0.3
    }
    chosen, status = fair_search.selection(results, "dm")
    assert (chosen["trial"], status) == ("dm-11", "final")


def test_one_smoke_trial_per_method_is_written_once(fair_search, tmp_path, capsys):
    out, cache = tmp_path / "out", tmp_path / "cache"
    argv = ["--dataset", "digits", "--profile", "smoke", "--trials", "1", "--output", str(out),
            "--cache", str(cache)]  # fmt: skip
    assert fair_search.main(argv) == 0
    written = sorted(p.name for p in out.iterdir())
    assert written == ["dm-01.json", "dsa-01.json", "tm-01.json"]
    tm = json.loads((out / "tm-01.json").read_text())
    assert (tm["split"], tm["dataset"], tm["profile"], tm["distill_seed"], tm["spec"][:3]) == (
        "val", "digits", "smoke", 0, "tm:"
    )
    assert len(tm["val_accuracy"]) == 2 and tm["eval_lr"] == tm["learned_lr"]
    assert tm["recipe"]["epochs"] == 30 and tm["recipe"]["network_options"] == {"width": 16}
    printed = capsys.readouterr().out
    assert "| tm-01 | preset |" in printed and "selection provisional: tm-01" in printed
    before = (out / "tm-01.json").stat().st_mtime_ns
    assert fair_search.main(argv) == 0  # resumed: nothing distilled or written again
    assert (out / "tm-01.json").stat().st_mtime_ns == before


def test_selected_refuses_a_provisional_selection(fair_search, tmp_path):
    (tmp_path / "tm-01.json").write_text(json.dumps(entry("tm-01", 70.0, 100, {})))
    with pytest.raises(SystemExit, match="tm: the selection is provisional"):
        fair_search.main(["selected", "--methods", "tm", "--output", str(tmp_path)])


def test_attribution_evaluates_each_buffer_at_its_learned_lr_and_the_common_one(fair_search, tmp_path):
    attribution = load_script("studies/attribution.py", "attribution")  # imports the fixture's fair_search
    assert set(attribution.ARMS) == {
        "tm", "tm-speed-optimizer", "tm-300", "speed", "speed-mtt-optimizer", "speed-fit-only"
    }  # fmt: skip
    argv = ["--dataset", "digits", "--profile", "smoke", "--arms", "tm-speed-optimizer", "--seeds", "0",
            "--output", str(tmp_path / "out"), "--cache", str(tmp_path / "cache")]  # fmt: skip
    assert attribution.main(argv) == 0
    entry = json.loads((tmp_path / "out" / "tm-speed-optimizer-seed0.json").read_text())
    assert ":momentum_lr=0.95:" in entry["spec"] and ":student_momentum=0.9:" in entry["spec"]
    assert entry["learned"]["eval_lr"] == entry["learned_lr"] != 0.01
    assert entry["fixed"]["eval_lr"] == 0.01 and entry["fixed"]["recipe"]["use_buffer_lr"] is False
    assert len(entry["fixed"]["val_accuracy"]) == 2 and entry["split"] == "val"


def test_attribution_report_pairs_arms_by_seed_and_evaluation_network(fair_search, tmp_path):
    attribution = load_script("studies/attribution.py", "attribution")

    def write(arm, seed, learned, fixed):
        entry = {"arm": arm, "distill_seed": seed, "learned_lr": 0.02}
        entry |= {"learned": {"val_accuracy": learned}, "fixed": {"val_accuracy": fixed}}
        (tmp_path / f"{arm}-seed{seed}.json").write_text(json.dumps(entry))

    write("tm", 0, [0.70, 0.60], [0.70, 0.60])
    write("tm", 1, [0.50, 0.50], [0.50, 0.50])
    write("speed", 0, [0.72, 0.64], [0.70, 0.61])
    write("speed", 1, [0.49, 0.53], [0.50, 0.50])
    write("speed-fit-only", 0, [0.60, 0.60], [0.60, 0.60])  # seed 1 missing: paired on seed 0 only
    unfinished = {"arm": "tm-300", "distill_seed": 0}  # no evaluation yet
    (tmp_path / "tm-300-seed0.json").write_text(json.dumps(unfinished))
    text = attribution.report(tmp_path)
    gap = "| +2.00 (per seed +3.00, +1.00) | +0.25 (per seed +0.50, +0.00) |"
    assert f"| the gap: SPEED × TM − pixel TM {gap}" in text
    assert "| the iterations after the fit: speed − speed-fit-only | +8.00 (per seed +8.00) |" in text
    assert "tm-300" not in text and "optimizer" not in text  # no arm without both of its runs
