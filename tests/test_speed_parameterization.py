import torch
import torch.nn.functional as F

from benchmark.budget import Budget
from benchmark.buffer import Buffer
from benchmark.data.classdata import ClassData, Split
from benchmark.distill.loop import distill, make_optimizers
from benchmark.distill.objective import Objective
from benchmark.strategy import FitContext
from speed.decoder import decode_speed
from speed.parameterization import SpeedParameterization

TINY = dict(dim=8, tokens=8, heads=2, k=4, depth=1, patch=2, lam=1e-3)


def fake_data(classes: int = 3, per_class: int = 12, seed: int = 0) -> ClassData:
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(classes).repeat_interleave(per_class)
    # class-dependent smooth images plus a little noise, so reconstruction can succeed
    base = torch.randn(classes, 1, 8, 8, generator=g)
    images = base[labels] + 0.1 * torch.randn(len(labels), 1, 8, 8, generator=g)
    split = Split(images, labels)
    return ClassData(
        name="fake", class_names=[str(c) for c in range(classes)], image_shape=(1, 8, 8),
        mean=(0.5,), std=(0.5,), train=split, val=split, test=split,
    )  # fmt: skip


def make(config=None, ipc=4, seed=0, data=None):
    data = data or fake_data()
    budget = Budget(ipc=ipc, num_classes=len(data.classes), image_shape=data.image_shape)
    cfg = TINY | (config or {})
    return SpeedParameterization(data, budget, cfg, seed, FitContext(show_progress=False)), budget


def eval_images(p):
    p.eval()
    with torch.no_grad():
        images = torch.cat([p.images_of_class(c) for c in p.classes])
    p.train()
    return images


def test_shapes_plan_and_budget():
    p, budget = make()
    assert p.images_per_class == 11  # (768 − 64 − 248 − 36) / (1.5·2·4) / 3 classes
    assert p.scm.shape == (33, 2, 16, 8) and p.saet.shape == (8, 8)
    assert p.images_of_class(1).shape == (11, 1, 8, 8)
    images, labels = p.synthesize()
    assert images.shape == (33, 1, 8, 8) and labels.tolist() == [0] * 11 + [1] * 11 + [2] * 11
    buffer = p.export()
    assert buffer.storage == p.plan.total <= budget.floats
    buffer.check(budget)
    assert buffer.manifest["classes"] == [0, 1, 2] and buffer.manifest["images_per_class"] == 11


def test_export_decodes_bit_identically_after_save_and_load(tmp_path):
    for scope in ("global", "local"):
        p, _ = make({"scope": scope})
        expected = eval_images(p)
        buffer = p.export()
        assert torch.equal(decode_speed(buffer.tensors, buffer.manifest), expected)
        path = buffer.save(tmp_path / f"speed_{scope}.safetensors")
        images, labels, lr = Buffer.load(path).materialize()
        assert torch.equal(images, expected)
        assert labels.tolist() == [0] * 11 + [1] * 11 + [2] * 11 and lr is None
        stored = Buffer.load(path).tensors
        assert stored["coo_rows"].dtype == torch.uint8 and stored["coo_values"].shape == (33, 2, 4)


def test_same_seed_same_buffer_other_seed_differs():
    a, b, c = make(seed=3)[0].export(), make(seed=3)[0].export(), make(seed=4)[0].export()
    assert all(torch.equal(a.tensors[n], b.tensors[n]) for n in a.tensors)
    assert not torch.equal(a.tensors["saet"], c.tensors["saet"])


def test_sparsify_modes_in_training():
    dense, _ = make({"sparsify": "export"})
    forward, _ = make({"sparsify": "forward"})
    assert not torch.equal(dense.images_of_class(0).detach(), eval_images(dense)[:11])
    assert torch.equal(forward.images_of_class(0).detach(), eval_images(forward)[:11])


def test_gradient_reaches_e_a_and_freenet_and_regularizer():
    p, _ = make({"sparsify": "forward"})
    images, _ = p.synthesize()
    (images.square().mean() + p.regularizer()).backward()
    assert p.saet.grad.abs().sum() > 0
    assert (p.scm.grad != 0).all()  # straight-through: every code gets a gradient
    assert all(q.grad is not None and q.grad.abs().sum() > 0 for q in p.freenet.parameters())
    torch.testing.assert_close(p.regularizer(), 1e-3 * p.scm.detach().abs().sum())
    groups = p.optimizer_groups()
    assert [g["name"] for g in groups] == ["saet", "scm", "freenet"]
    assert groups[1]["lr"] == 100.0 and groups[0]["momentum"] == 0.95
    assert len(make_optimizers(groups)) == 3


def test_init_real_reconstruction_improves_and_codes_are_sparse():
    data = fake_data()
    p, _ = make({"init": "real", "init_steps": 60, "init_fit_lr": 0.01}, data=data)
    assert len(p.init_losses) == 60
    assert p.init_losses[-1] < 0.5 * p.init_losses[0]
    assert torch.all((p.scm != 0).sum((-1, -2)) <= 4)  # the dropped codes were zeroed
    assert torch.equal(p.images_of_class(0).detach(), eval_images(p)[:11])


class MSEToClassMeans(Objective):
    """Test-only objective: each synthetic image should equal its class's mean real image."""

    def __init__(self, data, config, seed, context):
        super().__init__(data, config, seed, context)
        self.targets = {c: data.train.of_class(c).mean(0, keepdim=True) for c in data.classes}

    def loss(self, synthetic, generator):
        total = torch.zeros(())
        for c, target in self.targets.items():
            images = synthetic.images_of_class(c)
            total = total + F.mse_loss(images, target.expand_as(images))
        return total


def test_distill_loop_on_digits_lowers_the_loss():
    from benchmark.data.load import load_dataset

    data = load_dataset("digits")
    budget = Budget(ipc=1, num_classes=10, image_shape=data.image_shape)
    config = TINY | dict(heads=1, optimizer="adam", lr_saet=0.01, lr_scm=0.01, lr_freenet=0.01, lam=0.0)
    context = FitContext(show_progress=False)
    p = SpeedParameterization(data, budget, config, 0, context)
    objective = MSEToClassMeans(data, config, 0, context)
    losses = distill(p, objective, 40, 0, context)
    assert losses[-1] < 0.5 * losses[0]
    buffer = p.export()
    buffer.check(budget)
    assert torch.equal(decode_speed(buffer.tensors, buffer.manifest), eval_images(p))
