import pytest
import torch

from benchmark.errors import UserInputError
from benchmark.nets import create_network
from benchmark.training import compiled
from benchmark.training.compiled import AUTO_MIN_IMAGE_PASSES, should_compile
from benchmark.training.evaluate import train_network
from benchmark.training.recipe import EvalRecipe


def test_auto_compiles_only_long_cpu_trainings():
    assert should_compile("auto", "cpu", 100, AUTO_MIN_IMAGE_PASSES // 100)
    assert not should_compile("auto", "cpu", 100, AUTO_MIN_IMAGE_PASSES // 100 - 1)
    assert not should_compile("auto", "cuda", 1000, 10_000)
    assert should_compile("on", "cpu", 1, 1) and not should_compile("off", "cpu", 10**6, 10**6)
    with pytest.raises(UserInputError, match="'fast'.*auto, on, off"):
        should_compile("fast", "cpu", 1, 1)


def _train(digits, mode, seed=0):
    torch.manual_seed(seed)
    net = create_network("ConvNet", 1, 8, 10, width=8, depth=2)
    images = digits.train.images[:40]
    labels = digits.train.labels[:40]
    # batch 16: two full batches and a remainder of 8, i.e. two batch shapes per epoch
    recipe = EvalRecipe(epochs=2, batch_size=16, dsa=None)
    train_network(net, images, labels, 0.01, recipe, seed, show_progress=False, compile_mode=mode)
    return torch.cat([p.detach().flatten() for p in net.parameters()])


def test_compiled_training_matches_eager_to_rounding(digits):
    eager, built = _train(digits, "off"), _train(digits, "on")
    assert not torch.equal(eager, _train(digits, "off", seed=1))  # the comparison can fail
    torch.testing.assert_close(built, eager, rtol=1e-4, atol=1e-5)
    assert torch.equal(built, _train(digits, "on"))  # compiled training is deterministic run to run


def test_a_failing_compiler_falls_back_to_eager_with_a_warning(digits, monkeypatch):
    def broken_compile(module, **_):
        def fail(_x):
            raise RuntimeError("no C++ compiler")

        return fail

    monkeypatch.setattr(compiled.torch, "compile", broken_compile)
    with pytest.warns(UserWarning, match="no C\\+\\+ compiler.*training eagerly"):
        fallen_back = _train(digits, "on")
    assert torch.equal(fallen_back, _train(digits, "off"))
