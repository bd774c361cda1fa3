"""Joint generator / discriminator training in ``finetune`` (QGAN's multi-precision setting): the
discriminator is a trainable copy (the shipped one is never changed), its conv weights fake-quantized
to ``disc_kind`` in the forward pass, and bad arguments are refused before any step."""
import numpy as np
import pytest

from accelsim.compress import zoo
from accelsim.errors import FormatError, ModelError

torch = pytest.importorskip("torch")


def _shipped_disc_state():
    from accelsim.compress.finetune import load_teacher_discriminator
    return {k: v.clone() for k, v in load_teacher_discriminator("dcgan-digits").state_dict().items()}


def test_adversary_is_a_quantized_trainable_copy():
    from accelsim.compress.finetune import _adversary, load_teacher_discriminator
    from accelsim.compress.qat import fake_quant_torch_codes
    disc = load_teacher_discriminator("dcgan-digits")
    before = {k: v.clone() for k, v in disc.state_dict().items()}
    adv, opt = _adversary(disc, 1e-3, "int2")
    assert opt is not None and adv is not disc
    w = adv.conv2.weight                                  # the parametrized (fake-quantized) weight
    codes, _ = fake_quant_torch_codes(adv.conv2.parametrizations.weight.original, "int2", 0)
    per_channel = w.detach().reshape(w.shape[0], -1)
    assert all(len(torch.unique(row)) <= 3 for row in per_channel)     # int2: codes -1, 0, 1 per channel
    assert set(torch.unique(codes).tolist()) <= {-1.0, 0.0, 1.0}
    x = torch.randn(4, 1, 32, 32)
    loss = adv(x).sum()
    loss.backward()
    assert adv.conv2.parametrizations.weight.original.grad is not None   # straight-through gradient
    opt.step()
    after = disc.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)       # the shipped module untouched
    frozen, none = _adversary(disc, 0.0, "binary")
    assert none is None and not any(p.requires_grad for p in frozen.parameters())


def test_qat_with_a_trained_quantized_discriminator_runs_and_changes_the_result():
    from accelsim.compress import qat_train
    cg = zoo.build("dcgan-digits", "fp32")
    state = _shipped_disc_state()
    kw = dict(steps=3, batch_size=8, seed=0, threads=1, adv_weight=0.05)
    frozen = qat_train.qat(cg, "ternary", **kw)
    joint = qat_train.qat(cg, "ternary", disc_lr=2e-4, disc_kind="int4", **kw)
    assert joint.fmt == "ternary" and set(np.unique(joint.encodings["deconv1"].codes)) <= {-1, 0, 1}
    assert any(not np.array_equal(frozen.encodings[l.name].codes, joint.encodings[l.name].codes) or
               not np.allclose(frozen.layers[i].weight, joint.layers[i].weight)
               for i, l in enumerate(cg.layers))
    again = qat_train.qat(cg, "ternary", disc_lr=2e-4, disc_kind="int4", **kw)     # deterministic
    assert all(np.array_equal(a.weight, b.weight) for a, b in zip(joint.layers, again.layers))
    from accelsim.compress.finetune import load_teacher_discriminator
    after = load_teacher_discriminator("dcgan-digits").state_dict()
    assert all(torch.equal(state[k], after[k]) for k in state)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"disc_lr": -1e-4}, ModelError, "disc_lr must be >= 0"),
    ({"disc_kind": "int1"}, FormatError, "weight quantizer must be"),
    ({"disc_lr": 1e-4, "discriminator": None}, ModelError, "need a discriminator"),
    ({"lr_schedule": "step"}, ModelError, r"lr_schedule must be one of \('constant', 'cosine'\), got 'step'"),
])
def test_bad_discriminator_arguments(kwargs, error, match):
    from accelsim.compress.finetune import finetune
    cg = zoo.build("dcgan-digits", "fp32")
    with pytest.raises(error, match=match):
        finetune(cg, cg, 1, batch_size=2, **kwargs)


def test_cosine_schedule_decays_the_learning_rate():
    # the same first step as constant (the rate starts at lr), different after; deterministic
    from accelsim.compress.finetune import finetune
    cg = zoo.build("dcgan-digits", "fp32")
    kw = dict(batch_size=4, seed=0, threads=1, discriminator=None, lr=1e-2, weight_kind="ternary")   # a loss to follow
    one = [finetune(cg, cg, 1, lr_schedule=s, **kw) for s in ("constant", "cosine")]
    assert all(np.array_equal(a.weight, b.weight) for a, b in zip(one[0].layers, one[1].layers))
    three = [finetune(cg, cg, 3, lr_schedule=s, **kw) for s in ("constant", "cosine", "cosine")]
    assert any(not np.array_equal(a.weight, b.weight) for a, b in zip(three[0].layers, three[1].layers))
    assert all(np.array_equal(a.weight, b.weight) for a, b in zip(three[1].layers, three[2].layers))
