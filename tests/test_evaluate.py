import torch

from benchmark.seeding import generator
from benchmark.training.evaluate import per_class_subset, train_and_test
from benchmark.training.job import EvaluationJob, TrainingSet
from benchmark.training.recipe import EvalRecipe


def few_per_class(data, n, seed=0):
    rng = generator(seed)
    images = torch.cat([data.train.sample_class(c, n, rng) for c in data.classes])
    return images, torch.as_tensor(data.classes).repeat_interleave(n)


def test_convnet_on_few_real_fashion_mnist_images_beats_chance(fashion_mnist):
    data = fashion_mnist
    images, labels = few_per_class(data, 10)
    recipe = EvalRecipe(epochs=30, network_options={"width": 32}, test_subset=100)
    _, accuracy = train_and_test(EvaluationJob("ConvNet", data, TrainingSet(images, labels), recipe, seed=0))
    # Measured 0.661 with these settings (seed 0); chance is 0.10.
    assert accuracy > 0.4


def test_evaluation_is_deterministic_per_seed(digits):
    images, labels = few_per_class(digits, 3)
    recipe = EvalRecipe(epochs=5, network_options={"width": 16})
    job = EvaluationJob("ConvNet", digits, TrainingSet(images, labels, lr=0.01), recipe, seed=1)
    first, second = train_and_test(job)[1], train_and_test(job)[1]
    assert first == second


def test_learned_lr_is_used_unless_the_recipe_says_otherwise():
    assert EvalRecipe(lr=0.01).learning_rate(0.03) == 0.03
    assert EvalRecipe(lr=0.01).learning_rate(None) == 0.01
    assert EvalRecipe(lr=0.01, use_buffer_lr=False).learning_rate(0.03) == 0.01


def test_test_subset_is_seeded_and_balanced(digits):
    part = per_class_subset(digits.test, 5)
    assert torch.bincount(part.labels).tolist() == [5] * 10
    assert torch.equal(part.images, per_class_subset(digits.test, 5).images)


def test_instance_norm_networks_train_nchw_the_others_channels_last():
    from benchmark.nets import create_network
    from benchmark.training.evaluate import train_network, training_layout

    layouts = {
        name: training_layout(create_network(name, 3, 32, 10))
        for name in ("ConvNet", "ResNet18BN", "AlexNet")
    }
    assert layouts == {
        "ConvNet": torch.contiguous_format, "ResNet18BN": torch.channels_last, "AlexNet": torch.channels_last
    }  # fmt: skip
    images, labels = torch.randn(8, 3, 32, 32), torch.arange(8) % 10
    for name, layout in layouts.items():
        recipe = EvalRecipe(epochs=1, dsa=None)
        net = train_network(
            create_network(name, 3, 32, 10), images, labels, 0.01, recipe, 0, show_progress=False
        )
        weight = next(p for p in net.parameters() if p.dim() == 4)
        assert weight.is_contiguous(memory_format=layout)
