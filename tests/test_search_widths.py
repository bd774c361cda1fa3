"""accelsim search --widths (issue 15 item 4, MFAGAN part): sub-generator widths of sr-x4 priced by
the simulator, filtered by the budget, the ones nearest it distilled (tiny step counts here) and
scored against the HR ground truth; the PatchGAN discriminator and its distillation; clear errors."""
import json

import numpy as np
import pytest

from accelsim.cli import main
from accelsim.errors import ConfigError, FormatError, ModelError
from accelsim.search import (
    SR_WIDTH_GRID,
    parse_widths,
    price_width,
    search_widths,
    sr_student_shape,
)

torch = pytest.importorskip("torch")


def _pairs(seed=0):
    """Synthetic LR/HR training pairs: smooth random HR images, LR = 4x4 mean pooling of them."""
    rng = np.random.default_rng(seed)
    pairs_lr, pairs_hr = [], []
    for h, w in ((128, 160), (112, 112)):
        base = rng.uniform(0, 255, (h // 8, w // 8, 3))
        hr = np.kron(base, np.ones((8, 8, 1)))
        hr = np.clip(hr + rng.normal(0, 8, hr.shape), 0, 255).astype(np.uint8)
        lr = hr.reshape(h // 4, 4, w // 4, 4, 3).mean(axis=(1, 3)).round().astype(np.uint8)
        pairs_lr.append(lr)
        pairs_hr.append(hr)
    return pairs_lr, pairs_hr


WIDTHS = "6/6,12/6,18/6,12/12,48/24"


@pytest.fixture(scope="module")
def tiny():
    return search_widths("sr-x4", "edge-npu", 100.0, widths=WIDTHS, distil=2, steps=2, batch_size=2,
                         pairs=_pairs(), threads=1)


def test_budget_filter_trains_and_chooses_only_within_the_budget(tiny):
    costs = {c.widths: c.energy_uj for c in tiny.priced}
    assert len(tiny.priced) == 5 and costs[(48, 24)] > 100 > costs[(6, 6)]
    within = {c.widths for c in tiny.priced if c.energy_uj <= 100}
    assert {c.widths for c in tiny.within} == within
    # the costliest two within the budget were distilled; nothing over the budget was trained or chosen
    nearest = sorted(within, key=lambda w: -costs[w])[:2]
    assert sorted(c.widths for c in tiny.evaluated) == sorted(nearest)
    assert all(c.origin == "distilled" and c.steps == 2 and c.energy_uj <= 100 for c in tiny.evaluated)
    assert tiny.chosen.energy_uj <= 100 and tiny.chosen in tiny.evaluated
    assert tiny.chosen.psnr_gt_db == max(c.psnr_gt_db for c in tiny.evaluated)
    assert tiny.quality_metric == "psnr_gt_db" and tiny.chosen in tiny.pareto()
    assert sorted(tiny.generators) == sorted(c.widths for c in tiny.evaluated)
    assert [l.out_channels for l in tiny.generators[tiny.chosen.widths].layers][:2] == list(tiny.chosen.widths)


@pytest.mark.parametrize("budget", [50.0, 63.0, 80.0, 300.0])
def test_chosen_is_never_over_the_budget(budget):
    r = search_widths("sr-x4", "edge-npu", budget, widths=WIDTHS, distil=3, steps=0)
    assert all(c.energy_uj <= budget for c in r.evaluated) and r.chosen.energy_uj <= budget
    over = [c for c in r.priced if c.energy_uj > budget]
    assert not any(c.widths == o.widths for c in r.evaluated for o in over)
    if budget >= 300:          # the teacher fits: it competes as itself (never retrained) and wins
        assert r.chosen.origin == "teacher" and r.chosen.widths == (48, 24)


def test_other_costs_and_the_format():
    r = search_widths("sr-x4", "edge-npu", 2.0e5, cost="weight_bits", fmt="w8a8", widths=WIDTHS, steps=0)
    assert r.fmt == "int8" and all(c.weight_bits <= 2.0e5 for c in r.evaluated)
    fp = {c.widths: c for c in search_widths("sr-x4", "edge-npu", 1e9, cost="dram_bytes", widths=WIDTHS,
                                             steps=0).priced}
    for c in r.priced:   # 8-bit weights: a quarter of fp32's weight bits (+ the per-channel scales)
        assert c.weight_bits < 0.3 * fp[c.widths].weight_bits


def test_the_price_is_compare_s():
    """A candidate's cost is exactly what accelsim compare reports for the trained student."""
    from accelsim import compare
    from accelsim.compress import distill, zoo
    teacher = zoo.build("sr-x4", "fp32")
    student = distill.distill_sr(teacher, 12, 6, 0, None)
    x = compare.model_inputs("sr-x4", 1)
    ref = teacher.forward(x, np.float32).astype(np.float64)
    row = compare.evaluate_generator(student, "s", "edge-npu", x, ref, teacher.weight_bits())
    c = price_width(sr_student_shape((12, 6)), "fp32", "edge-npu")
    assert c.energy_uj == pytest.approx(row.energy_per_image_uj, rel=1e-12)
    assert (c.dram_bytes, c.weight_bits, c.macs) == (row.dram_bytes, row.weight_bits, row.macs_total)
    t = price_width(teacher, "fp32", "edge-npu")
    assert t.widths == (48, 24) and t.energy_uj == pytest.approx(price_width(sr_student_shape((48, 24)), "fp32",
                                                                              "edge-npu").energy_uj)


def test_adversarial_distillation_with_a_distilled_patchgan():
    r = search_widths("sr-x4", "edge-npu", 70.0, widths="6/6,12/6", distil=1, steps=2, batch_size=2,
                      pairs=_pairs(), adv_weight=0.01, disc_steps=2, disc_width=4, threads=1)
    d = r.discriminator
    assert d["teacher_width"] == 4 and d["student_width"] == 2 and d["adv_weight"] == 0.01
    assert 0 <= d["student_sign_agreement"] <= 1 and r.chosen.widths == (12, 6)
    from accelsim.models.sr import PatchDiscriminator, init_discriminator
    given = init_discriminator(PatchDiscriminator(2), seed=1)
    g = search_widths("sr-x4", "edge-npu", 70.0, widths="12/6", steps=2, batch_size=2, pairs=_pairs(),
                      adv_weight=0.01, discriminator=given, threads=1)
    assert g.discriminator == {"given": True, "adv_weight": 0.01}


def test_grid():
    assert len(SR_WIDTH_GRID) == 26 and (48, 24) in SR_WIDTH_GRID and (6, 6) in SR_WIDTH_GRID
    assert all(s <= f for f, s in SR_WIDTH_GRID)
    assert parse_widths("24/12, 12/6") == ((24, 12), (12, 6))


@pytest.mark.parametrize("kwargs,error,message", [
    ({"model": "dcgan-digits"}, ConfigError, "has no width knob"),
    ({"widths": "24"}, ConfigError, "widths: '24' is not features/shrink"),
    ({"widths": "24/x"}, ConfigError, "is not features/shrink"),
    ({"widths": "4/4"}, ConfigError, "features must be in"),
    ({"widths": "48/30"}, ConfigError, "shrink must be in"),
    ({"widths": "12/6,12/6"}, ConfigError, "repeated"),
    ({"widths": ""}, ConfigError, "is not features/shrink"),
    ({"budget": 10.0}, ConfigError, "budget: no sr-x4 width fits"),
    ({"budget": -1.0}, ConfigError, "budget must be a positive number"),
    ({"budget": float("nan")}, ConfigError, "budget must be a positive number"),
    ({"cost": "latency"}, ConfigError, "cost must be one of"),
    ({"fmt": "w3a3"}, FormatError, "format: 'w3a3' is not one the width search prices"),
    ({"steps": -1}, ConfigError, "steps must be an integer >= 0"),
    ({"distil": 0}, ConfigError, "distil must be an integer >= 1"),
    ({"adv_weight": 0.1}, ConfigError, "adv_weight: the adversarial term needs training"),
    ({"adv_weight": -0.1, "steps": 1}, ConfigError, "adv_weight must be a number >= 0"),
])
def test_library_errors(kwargs, error, message):
    args = {"model": "sr-x4", "arch": "edge-npu", "budget": 100.0, "widths": "12/6", "steps": 0, **kwargs}
    with pytest.raises(error, match=message.replace("(", r"\(")):
        search_widths(**args)


def test_cli_widths_prints_the_pareto_set_and_writes_json(tmp_path, capsys):
    out = tmp_path / "w.json"
    assert main(["search", "--model", "sr-x4", "--widths", "6/6,12/6,48/24", "--budget-uj", "70", "--steps", "0",
                 "--distil", "1", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Pareto set (PSNR vs HR" in text and "chosen within --budget-uj 70: 12/6" in text
    assert "48/24" in text and "(over budget)" in text
    data = json.loads(out.read_text())
    assert data["mode"] == "widths" and data["chosen"]["label"] == "12/6" and len(data["priced"]) == 3
    assert [c["label"] for c in data["evaluated"]] == ["12/6"]       # the nearest the budget, under it


@pytest.mark.parametrize("argv,message", [
    (["--widths", "--budget-uj", "70"], "--widths: model 'dcgan-digits' has no width knob"),
    (["--model", "sr-x4", "--widths"], "--widths needs a budget"),
    (["--model", "sr-x4", "--widths", "--budget-uj", "10"], "--budget-uj: no sr-x4 width fits"),
    (["--model", "sr-x4", "--widths", "5/5", "--budget-uj", "70"], "--widths: '5/5': features must be in"),
    (["--model", "sr-x4", "--widths", "--budget-uj", "70", "--width-format", "w3a3"], "--width-format: 'w3a3'"),
    (["--model", "sr-x4", "--widths", "--budget-uj", "70", "--steps", "-2"], "--steps must be an integer"),
    (["--model", "sr-x4", "--widths", "--budget-uj", "70", "--ladder", "w8a8,w4a8"], "--ladder is for the format"),
    (["--model", "sr-x4", "--widths", "--budget-uj", "70", "--adv-weight", "0.1"], "--adv-weight: the adversarial"),
])
def test_cli_errors_are_one_line(argv, message, capsys):
    assert main(["search", "--steps", "0"] + argv if "--steps" not in argv else ["search"] + argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err


@pytest.mark.parametrize("argv,message", [
    (["--steps", "5"], "--steps is for the width search: add --widths"),
    (["--width-format", "int8"], "--width-format is for the width search"),
    (["--threads", "1"], "--threads is for the width search"),
    (["--model", "sr-x4", "--widths", "--budget-uj", "70", "--n", "8"], "--n is for the format search, not --widths"),
    (["--model", "sr-x4", "--widths", "--budget-uj", "70", "--weight-quantizer", "em"], "--weight-quantizer is for"),
])
def test_cli_options_of_the_other_mode_are_refused(argv, message, capsys):
    assert main(["search"] + argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_cli_widths_json_may_not_overwrite_the_arch_file(tmp_path, capsys):
    arch = tmp_path / "a.yaml"
    arch.write_text("preset: edge-npu\n")
    assert main(["search", "--model", "sr-x4", "--widths", "--budget-uj", "70", "--steps", "0", "--arch", str(arch),
                 "--json", str(arch)]) == 2
    assert "--json" in capsys.readouterr().err and arch.read_text() == "preset: edge-npu\n"


# ---- the PatchGAN -----------------------------------------------------------------------------------
def test_patchgan_shapes_and_features():
    from accelsim.models.sr import PatchDiscriminator, init_discriminator
    d = init_discriminator(PatchDiscriminator(8), seed=3)
    x = torch.zeros(2, 3, 96, 96)
    assert d(x).shape == (2, 1, 12, 12)
    assert d(torch.zeros(1, 3, 128, 128)).shape == (1, 1, 16, 16)
    feats, logit = d.features(x)
    assert [f.shape[1] for f in feats] == [8, 16, 32, 32] and logit.shape == (2, 1, 12, 12)
    assert PatchDiscriminator(4, n_down=2)(torch.zeros(1, 3, 32, 32)).shape == (1, 1, 8, 8)
    assert PatchDiscriminator.receptive_field(3) == 54 and PatchDiscriminator.receptive_field(1) == 12
    e = init_discriminator(PatchDiscriminator(8), seed=3)
    assert all(torch.equal(a, b) for a, b in zip(d.state_dict().values(), e.state_dict().values()))
    with pytest.raises(ValueError, match="width must be a positive integer"):
        PatchDiscriminator(0)
    with pytest.raises(ValueError, match="n_down"):
        PatchDiscriminator(8, n_down=9)


def test_paired_sampler_crops_the_hr_patch_of_each_lr_patch():
    from accelsim.compress.finetune import lr_patch_sampler, paired_patch_sampler
    rng = np.random.default_rng(2)
    lrs = [rng.integers(0, 256, (12, 16, 3), dtype=np.uint8), rng.integers(0, 256, (10, 10, 3), dtype=np.uint8)]
    hrs = [np.repeat(np.repeat(im, 4, 0), 4, 1) for im in lrs]       # nearest x4: HR crops are LR crops x4
    lo, hi = paired_patch_sampler(lrs, hrs, patch=6)(9, torch.Generator().manual_seed(1))
    assert torch.equal(lo, lr_patch_sampler(lrs, patch=6)(9, torch.Generator().manual_seed(1)))
    assert hi.shape == (9, 3, 24, 24)
    assert torch.equal(hi, lo.repeat_interleave(4, 2).repeat_interleave(4, 3))
    with pytest.raises(ModelError, match="not 4x its LR"):
        paired_patch_sampler(lrs, [lrs[0], lrs[1]], patch=6)
    with pytest.raises(ModelError, match="2 LR images but 1 HR"):
        paired_patch_sampler(lrs, hrs[:1], patch=6)


def test_patch_discriminators_train_and_distil():
    from accelsim.compress import distill
    from accelsim.compress.finetune import paired_patch_sampler
    from accelsim.compress.zoo import build
    teacher = build("sr-x4", "fp32")
    pairs = _pairs()
    sampler = paired_patch_sampler(*pairs, patch=8)
    d_t, _ = distill.train_patch_discriminator(teacher, sampler, 3, width=4, batch_size=2, threads=1)
    assert not any(p.requires_grad for p in d_t.parameters()) and not d_t.training
    d_s, sd = distill.distill_patch_discriminator(d_t, teacher, sampler, 3, width=2, batch_size=2, threads=1)
    assert d_s.width == 2 and d_s.n_down == d_t.n_down and 0 <= sd["sign_agreement"] <= 1
    d_t2, _ = distill.train_patch_discriminator(teacher, sampler, 3, width=4, batch_size=2, threads=1)
    assert all(torch.equal(a, b) for a, b in zip(d_t.state_dict().values(), d_t2.state_dict().values()))
    lr_only = lambda n, g: sampler(n, g)[0]
    adv = distill.distill_sr(teacher, 6, 6, 2, lr_only, batch_size=2, discriminator=d_s, adv_weight=0.1)
    plain = distill.distill_sr(teacher, 6, 6, 2, lr_only, batch_size=2)
    assert any(not np.array_equal(a.weight, b.weight) for a, b in zip(adv.layers, plain.layers))
    with pytest.raises(ModelError, match="need a discriminator"):
        distill.distill_sr(teacher, 6, 6, 2, lr_only, adv_weight=0.1)
    with pytest.raises(ModelError, match="features must be an integer >= 6"):
        distill.distill_sr(teacher, 4, 6, 0, None)
