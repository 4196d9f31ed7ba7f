import pytest

from benchmark.errors import UserInputError
from benchmark.spec import Param, parse_spec, parse_spec_list, validate_params


def test_values_parse_and_canonical_form_sorts_keys():
    spec = parse_spec("speed:objective=dm:k=24:lam=3e-7:flag=TRUE")
    assert spec.params == {"objective": "dm", "k": 24, "lam": 3e-7, "flag": True}
    assert spec.canonical() == "speed:flag=true:k=24:lam=3e-07:objective=dm"
    assert parse_spec(spec.canonical()) == spec
    assert [s.name for s in parse_spec_list("random, dm,speed:k=2")] == ["random", "dm", "speed"]


@pytest.mark.parametrize("text", ["speed:k", "speed:k=", ":k=1", "speed:=3", "sp eed", "speed:k=1:k=2"])
def test_malformed_specs_are_one_clear_error(text):
    with pytest.raises(UserInputError, match="malformed strategy spec"):
        parse_spec(text)


def test_unknown_keys_and_bad_values_name_the_accepted_keys():
    declared = {
        "k": Param(24, minimum=1),
        "init": Param("noise", choices=("noise", "real")),
        "lr": Param(0.1),
    }
    assert validate_params("speed", declared, {"lr": 1}) == {"lr": 1.0}
    with pytest.raises(UserInputError, match="does not accept nope; accepted keys: init, k, lr"):
        validate_params("speed", declared, {"nope": 1})
    with pytest.raises(UserInputError, match="k=-1 is too small; k must be an integer >= 1"):
        validate_params("speed", declared, {"k": -1})
    with pytest.raises(UserInputError, match="k=2.5 is not an integer"):
        validate_params("speed", declared, {"k": 2.5})
    with pytest.raises(UserInputError, match="init must be one of noise, real"):
        validate_params("speed", declared, {"init": "zeros"})
    with pytest.raises(UserInputError, match="is not an integer"):
        validate_params("speed", declared, {"k": True})


def test_resolution_fills_defaults_and_presets(tmp_path):
    from benchmark.spec import Spec
    from benchmark.strategy import resolve

    resolved = resolve(Spec("dm", {"iterations": 3}), "quick", "digits", 1)
    assert resolved.config["iterations"] == 3  # spec beats preset
    assert resolved.config["batch_real"] == 64  # quick preset beats plain default 256
    assert resolved.config["lr_img"] == 1.0  # plain default
    assert resolved.canonical.startswith("dm:batch_real=64:dsa=")
    with pytest.raises(UserInputError, match="Unknown strategy 'nope'"):
        resolve(Spec("nope"), "quick", "digits", 1)


def test_a_key_given_by_its_former_name_is_read_under_its_name():
    declared = {"init_fit_lr": Param(0.005, minimum=0.0, formerly="init_lr"), "k": Param(24)}
    assert validate_params("speed", declared, {"init_lr": 0.01, "k": 3}) == {"init_fit_lr": 0.01, "k": 3}
    with pytest.raises(UserInputError, match="init_lr is the former name of init_fit_lr; give one"):
        validate_params("speed", declared, {"init_lr": 0.01, "init_fit_lr": 0.02})
    with pytest.raises(UserInputError, match="init_fit_lr=-1.0 is too small"):
        validate_params("speed", declared, {"init_lr": -1.0})
