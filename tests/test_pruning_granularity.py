"""Pruning in whole groups (vector / kernel / channel), the blockmap storage format, its price in the
simulator's ``Compression`` and the discriminator-supervised fine-tuning path (issue 15 item 1)."""

import numpy as np
import pytest

from accelsim.compress import pruning, recipe, serialize, storage
from accelsim.errors import ConfigError
from accelsim.workload import Compression, get_format

from tests.test_compress import latents, small_generator


def _groups(weight_mask, block):
    """(kept per group, every group all-kept or all-pruned) of a mask viewed in blocks."""
    m = np.asarray(weight_mask, bool)
    split = [d for s, b in zip(m.shape, block) for d in (s // b, b)]
    v = m.reshape(split)
    axes = tuple(range(1, 2 * m.ndim, 2))
    return v.any(axis=axes), bool(np.array_equal(v.any(axis=axes), v.all(axis=axes)))


@pytest.mark.parametrize("granularity,block_of", [
    ("vector", lambda l: (4, 1, 1, 1)),                       # conv_transpose2d: input channels on axis 0
    ("kernel", lambda l: (1, 1, 4, 4)),
    ("channel", lambda l: (l.weight.shape[0], 1, 4, 4)),       # one output channel (axis 1)
])
@pytest.mark.parametrize("sparsity", [0.5, 0.75, 0.9])
def test_group_pruning_exact_fraction_in_whole_groups(granularity, block_of, sparsity):
    cg = small_generator()
    out = pruning.prune(cg, sparsity, granularity=granularity)
    pruned_layers = cg.layers[:-1] if granularity == "channel" else cg.layers
    for a in pruned_layers:
        enc = out.encodings[a.name]
        block = block_of(a)
        assert pruning.group_block(a, granularity) == block and enc.block == block
        kept, whole = _groups(enc.mask, block)
        assert whole                                            # groups kept or pruned as a whole
        assert kept.size - kept.sum() == round(sparsity * kept.size)
        norms = pruning.block_sum(np.abs(a.weight), block)      # the kept groups have the largest L1 norms
        assert kept.all() or not kept.any() or norms[kept].min() >= norms[~kept].max()
        w = out.layer(a.name).weight
        assert np.all(w[~enc.mask] == 0) and np.array_equal(w[enc.mask], a.weight[enc.mask])
    if granularity == "channel":                                 # the image layer stays dense
        assert out.encodings[cg.layers[-1].name].mask is None


def test_fine_granularity_is_plain_magnitude_pruning():
    cg = small_generator()
    a, b = pruning.prune(cg, 0.75), pruning.prune(cg, 0.75, granularity="fine")
    assert all(np.array_equal(a.encodings[n].mask, b.encodings[n].mask) for n in cg.layer_names())
    assert a.weight_bits() == b.weight_bits()


def test_blockmap_bits_are_what_the_format_says():
    cg = small_generator()
    out = pruning.prune(cg, 0.75, granularity="vector", sparse_format="blockmap")
    for l in cg.layers:
        enc = out.encodings[l.name]
        n_vectors = l.weight.size // 4
        kept = n_vectors - round(0.75 * n_vectors)
        assert enc.sparse_format == "blockmap"
        assert enc.index_bits() == n_vectors                     # one bit per vector
        assert enc.size_bits() == n_vectors + kept * 4 * 32      # + every value of the kept vectors
    # by hand: a 2 x 4 x 1 x 1 tensor in vectors of 2 along axis 0; a mask with one position set in a
    # block stores that whole block
    mask = np.zeros((2, 4, 1, 1), bool)
    mask[0, 1] = mask[1, 3] = mask[0, 3] = True
    enc = storage.TensorEncoding((2, 4, 1, 1), mask=mask, sparse_format="blockmap", block=(2, 1, 1, 1))
    assert enc.index_bits() == 4 and enc.stored_count == 4 and enc.size_bits() == 4 + 4 * 32
    with pytest.raises(ConfigError, match="block"):
        storage.TensorEncoding((2, 4, 1, 1), mask=mask, sparse_format="blockmap")
    with pytest.raises(ConfigError, match="does not tile"):
        storage.TensorEncoding((2, 4, 1, 1), mask=mask, block=(3, 1, 1, 1))


def test_blockmap_survives_quantization_codebooks_and_serialization(tmp_path):
    cg = small_generator()
    budget = recipe.TrainingBudget(finetune_steps=0)
    out = recipe.compose(cg, "prune75-kernel+int8+codebook16+huffman", budget)
    assert {out.encodings[n].sparse_format for n in cg.layer_names()} == {"blockmap"}
    path = str(tmp_path / "g.npz")
    serialize.save(out, path)
    back = serialize.load(path)
    assert back.weight_bits() == out.weight_bits()
    assert all(back.encodings[n].block == (1, 1, 4, 4) for n in cg.layer_names())
    assert np.array_equal(back.forward(latents()), out.forward(latents()))


def test_simulator_compression_prices_blockmap_like_storage():
    """``Compression(weight_storage="blockmap")`` (the formula the simulator uses without exact bits)
    equals the exact storage count of a vector-pruned fp32 tensor."""
    cg = small_generator()
    fp32 = get_format("fp32")
    for g, sparsity in (("vector", 0.5), ("kernel", 0.75), ("channel", 0.75)):
        out = pruning.prune(cg, sparsity, granularity=g, sparse_format="blockmap")
        for l in (cg.layers[:-1] if g == "channel" else cg.layers):
            enc = out.encodings[l.name]
            comp = Compression(weight_density=enc.density, weight_storage="blockmap",
                               weight_block_elems=int(np.prod(enc.block)))
            assert comp.weight_storage_bits(l.weight.size, l.out_channels, fp32) == enc.size_bits()
    with pytest.raises(ValueError, match="weight_block_elems"):
        Compression(weight_storage="blockmap", weight_block_elems=0)
    with pytest.raises(ValueError, match="does not divide"):
        Compression(weight_storage="blockmap", weight_block_elems=3).weight_storage_bits(1000, 10, fp32)


def test_recipe_names():
    cg = small_generator()
    budget = recipe.TrainingBudget(finetune_steps=0)
    for name in ("prune50-vector", "dprune75-kernel", "dprune90-channel", "dprune50", "prune50", "chprune50"):
        assert recipe.check_recipe(name) == [name]
    out = recipe.compose(cg, "dprune90-channel", budget)
    assert out.name == "dprune90-channel"
    for bad in ("prune50-block", "chprune50-vector", "dprune"):
        with pytest.raises(ConfigError, match="unknown compression step"):
            recipe.check_recipe(bad)
    with pytest.raises(ConfigError, match="granularity"):
        pruning.prune(cg, 0.5, granularity="row")
    with pytest.raises(ConfigError, match="scope"):
        pruning.prune(cg, 0.5, granularity="kernel", scope="global")
    from accelsim.compress import zoo
    assert zoo.trained_prefix(["dprune75-vector", "int8"]) == ["dprune75-vector"]


def test_discriminator_supervised_finetune_runs_a_step():
    torch = pytest.importorskip("torch")
    from accelsim.compress import finetune
    from accelsim.models.dcgan import Discriminator
    torch.manual_seed(0)
    disc = Discriminator(channels=(4, 8, 8)).eval()
    x = torch.rand(2, 1, 32, 32) * 2 - 1
    assert finetune.teacher_loss(x, x, disc, 1.0, 0.0, 0.0, logit_weight=1.0).item() == 0.0
    assert finetune.teacher_loss(x, -x, disc, 0.0, 0.0, 0.0, logit_weight=1.0).item() > 0.0
    cg = small_generator()
    pruned = pruning.prune(cg, 0.75, granularity="vector")
    calls = []
    real_loss = finetune.teacher_loss

    def spy(*args):
        calls.append(args)
        return real_loss(*args)
    finetune.teacher_loss = spy
    try:
        tuned = finetune.finetune(pruned, cg, 1, batch_size=2, discriminator=disc, **{
            k: v for k, v in finetune.DSUP_WEIGHTS.items()})
    finally:
        finetune.teacher_loss = real_loss
    assert len(calls) == 1 and calls[0][2] is disc and calls[0][4:] == (
        finetune.DSUP_WEIGHTS["adv_weight"], finetune.DSUP_WEIGHTS["fm_weight"], finetune.DSUP_WEIGHTS["logit_weight"])
    changed = False
    for l in tuned.layers:
        enc = tuned.encodings[l.name]
        assert np.all(l.weight[~enc.mask] == 0)                   # whole vectors stay pruned
        changed |= not np.array_equal(l.weight, pruned.layer(l.name).weight)
    assert changed                                                # the step moved the kept weights
