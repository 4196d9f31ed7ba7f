import torch

from benchmark.augment.dsa import DSA, AugmentationDraw
from benchmark.seeding import generator


def ramp(n=2, c=1, size=8):
    return torch.arange(n * c * size * size, dtype=torch.float32).reshape(n, c, size, size)


def test_siamese_applies_one_draw_to_batches_of_different_sizes():
    dsa = DSA()
    image = torch.randn(1, 3, 16, 16)
    for seed in range(12):  # every family gets drawn
        real, syn = dsa.siamese([image.repeat(5, 1, 1, 1), image.repeat(2, 1, 1, 1)], generator(seed))
        assert torch.allclose(real, real[:1].expand_as(real), atol=1e-6)
        assert torch.allclose(real[:2], syn, atol=1e-6)


def test_per_sample_draws_differ_within_a_batch():
    dsa = DSA("crop")
    x = torch.randn(1, 1, 16, 16).repeat(32, 1, 1, 1)
    out = dsa(x, generator(0))
    assert len({tuple(o.flatten().tolist()) for o in out}) > 1


def test_gradient_flows_through_every_family():
    for family in ("color", "crop", "cutout", "flip", "scale", "rotate"):
        x = torch.randn(4, 3, 16, 16, requires_grad=True)
        DSA(family)(x, generator(1)).sum().backward()
        assert x.grad is not None and x.grad.abs().sum() > 0, family


def test_flip_crop_cutout_on_known_input():
    dsa = DSA()
    x = ramp()
    flipped = dsa.apply(x, AugmentationDraw("flip", {"flip": torch.tensor([[True], [False]])}))
    assert torch.equal(flipped[0], x[0].flip(-1)) and torch.equal(flipped[1], x[1])
    shifted = dsa.apply(
        x, AugmentationDraw("crop", {"tx": torch.tensor([1, 0]), "ty": torch.tensor([0, -2])})
    )
    assert torch.equal(shifted[0, :, :, :-1], x[0, :, :, 1:]) and torch.all(shifted[0, :, :, -1] == 0)
    assert torch.equal(shifted[1, :, 2:, :], x[1, :, :-2, :]) and torch.all(shifted[1, :, :2, :] == 0)
    cut = dsa.apply(
        x + 1, AugmentationDraw("cutout", {"cx": torch.tensor([4, 0]), "cy": torch.tensor([4, 0])})
    )
    assert int((cut[0] == 0).sum()) == 16  # a 4×4 square (half of 8) fully inside
    assert torch.all(cut[0, 0, 2:6, 2:6] == 0)
    assert int((cut[1] == 0).sum()) == 4  # clipped at the corner


def test_colour_scale_rotate_ranges():
    dsa = DSA()
    x = torch.rand(2, 3, 8, 8)
    neutral = {
        "brightness": torch.tensor([0.5]),
        "saturation": torch.tensor([0.5]),
        "contrast": torch.tensor([0.5]),
    }
    assert torch.allclose(dsa.apply(x, AugmentationDraw("color", neutral)), x, atol=1e-6)
    brighter = dict(neutral, brightness=torch.tensor([1.0]))
    assert torch.allclose(dsa.apply(x, AugmentationDraw("color", brighter)), x + 0.5, atol=1e-6)
    unit = torch.tensor([(1 - 1 / 1.2) / (1.2 - 1 / 1.2)])  # the draw that maps to scale 1
    identity_scale = {"sx": unit, "sy": unit}
    assert torch.allclose(dsa.apply(x, AugmentationDraw("scale", identity_scale)), x, atol=1e-5)
    assert torch.allclose(
        dsa.apply(x, AugmentationDraw("rotate", {"angle": torch.tensor([0.5])})), x, atol=1e-5
    )
    draw = dsa.draw(1000, 32, generator(0))
    while draw.family != "rotate":
        draw = dsa.draw(1000, 32, generator(int(torch.randint(1000, (1,)))))
    degrees = (draw.values["angle"] - 0.5) * 30
    assert degrees.min() >= -15 and degrees.max() <= 15 and degrees.min() < -14


def test_same_seed_same_augmentation():
    x = torch.randn(4, 3, 16, 16)
    assert torch.equal(DSA()(x, generator(5)), DSA()(x, generator(5)))
