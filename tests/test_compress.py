"""Compressions: exact sizes on small hand-made tensors, exact pruning densities, codebooks, Huffman,
low-rank factorization, quantizer round trips and agreement with the golden formats, composition."""

import numpy as np
import pytest

from accelsim.compress import chain, encoding, huffman, lowrank, precision, pruning, qat, recipe, storage
from accelsim.graph.shipped import dcgan_graph


def small_generator(seed=0, channels=(16, 8, 4), z_dim=8) -> chain.CompressedGenerator:
    """A random DCGAN-shaped generator (with BatchNorm, folded on import)."""
    rng = np.random.default_rng(seed)
    c = (z_dim,) + channels + (1,)
    w = {}
    for i in range(4):
        w[f"deconv{i + 1}.weight"] = rng.normal(0, 0.1, (c[i], c[i + 1], 4, 4))
        if i < 3:
            w[f"bn{i + 1}.weight"] = rng.uniform(0.5, 1.5, c[i + 1])
            w[f"bn{i + 1}.bias"] = rng.normal(0, 0.1, c[i + 1])
            w[f"bn{i + 1}.running_mean"] = rng.normal(0, 0.1, c[i + 1])
            w[f"bn{i + 1}.running_var"] = rng.uniform(0.5, 2, c[i + 1])
    return chain.from_graph("test-dcgan", dcgan_graph("test-dcgan", w))


def latents(n=4, z_dim=8, seed=1):
    return np.random.default_rng(seed).standard_normal((n, z_dim, 1, 1))


# ---- storage formats -----------------------------------------------------------------------------
KNOWN_MASK = np.array([[1, 0, 0, 1],
                       [0, 0, 0, 0],
                       [1, 1, 0, 1]], bool)


def test_csr_of_known_matrix():
    # 5 nonzeros; column index: ceil(log2 4) = 2 bits; 3+1 row pointers of ceil(log2 6) = 3 bits
    assert storage.csr_index_bits(KNOWN_MASK) == 5 * 2 + 4 * 3
    assert storage.bitmap_index_bits(KNOWN_MASK) == 12
    m4 = KNOWN_MASK.reshape(3, 4, 1, 1)
    enc = storage.TensorEncoding((3, 4, 1, 1), mask=m4, sparse_format="csr")
    assert enc.size_bits() == 22 + 5 * 32
    assert storage.TensorEncoding((3, 4, 1, 1), mask=m4, sparse_format="bitmap").size_bits() == 12 + 5 * 32
    assert storage.TensorEncoding((3, 4, 1, 1), mask=m4).size_bits() == 12 * 32  # dense stores the zeros
    assert storage.TensorEncoding((3, 4, 1, 1), mask=m4).with_sparse_format("best").sparse_format == "bitmap"


def test_index_bits():
    assert [storage.index_bits(n) for n in (1, 2, 3, 4, 5, 16, 17, 2048)] == [1, 1, 2, 2, 3, 4, 5, 11]


def test_huffman_of_known_histogram():
    counts = {0: 45, 1: 13, 2: 12, 3: 16, 4: 9, 5: 5}   # the textbook (CLRS) example
    lengths = huffman.code_lengths(counts)
    assert lengths == {0: 1, 1: 3, 2: 3, 3: 3, 4: 4, 5: 4}
    symbols = np.repeat(list(counts), list(counts.values()))
    assert huffman.encoded_bits(symbols) == 224
    bits, lens = huffman.encode(symbols)
    assert len(bits) == 224 and huffman.decode(bits, lens) == list(symbols)


def test_huffman_edge_cases_and_determinism():
    assert huffman.code_lengths({7: 10}) == {7: 1}
    assert huffman.code_lengths({}) == {}
    assert huffman.code_lengths({0: 1, 1: 1, 2: 1, 3: 1}) == {0: 2, 1: 2, 2: 2, 3: 2}
    # ties: same result whatever the dict order
    a = huffman.code_lengths({3: 2, 1: 2, 2: 1, 0: 1, -1: 4})
    b = huffman.code_lengths({-1: 4, 0: 1, 1: 2, 2: 1, 3: 2})
    assert a == b
    codes = huffman.canonical_codes(a)
    words = sorted(codes.values())
    assert all(not w2.startswith(w1) for w1, w2 in zip(words, words[1:]))  # prefix-free


def test_huffman_round_trip_random():
    rng = np.random.default_rng(0)
    s = rng.geometric(0.3, 500) - 3
    bits, lengths = huffman.encode(s)
    assert huffman.decode(bits, lengths) == list(s)
    assert len(bits) == huffman.encoded_bits(s)
    # never worse than fixed length over the same alphabet
    assert len(bits) <= s.size * storage.index_bits(len(lengths))


def test_huffman_encoding_size_in_tensor():
    codes = np.array([0, 0, 0, 0, 1, 1, -1, 0]).reshape(2, 4, 1, 1)
    enc = storage.TensorEncoding((2, 4, 1, 1), "ternary", 2, codes, side_bits=64, entropy="huffman")
    # counts {0: 5, 1: 2, -1: 1} -> lengths 1, 2, 2 -> 5 + 4 + 2 = 11 bits; table: min(4 x 8, 32 + 3 x 10)
    assert enc.payload_bits() == 11 and enc.table_bits() == 32 and enc.size_bits() == 11 + 32 + 64


# ---- codebook -----------------------------------------------------------------------------------
def test_codebook_indices_known():
    c, idx = encoding.kmeans_1d([0.0, 0.1, 0.9, 1.0, 0.05], 2)
    assert np.allclose(c, [0.05, 0.95]) and idx.tolist() == [0, 0, 1, 1, 0]
    c, idx = encoding.kmeans_1d([3.0, 1.0, 3.0], 16)      # fewer distinct values than k
    assert c.tolist() == [1.0, 3.0] and idx.tolist() == [1, 0, 1]


def test_share_weights_sizes_and_values():
    cg = small_generator()
    out = encoding.share_weights(cg, 16)
    for layer in out.layers:
        enc = out.encodings[layer.name]
        assert enc.value_kind == "codebook" and enc.value_bits == 4
        assert len(np.unique(layer.weight)) <= 16
        assert enc.size_bits() == layer.weight.size * 4 + 16 * 32
    assert out.weight_bits() == sum(l.weight.size * 4 + 16 * 32 for l in out.layers)
    assert out.name == "codebook16"


# ---- pruning ------------------------------------------------------------------------------------
@pytest.mark.parametrize("sparsity", [0.0, 0.3, 0.5, 0.9])
def test_pruning_density_exact(sparsity):
    cg = small_generator()
    out = pruning.prune(cg, sparsity)
    for a, b in zip(cg.layers, out.layers):
        kept = int(np.count_nonzero(out.encodings[b.name].mask))
        assert kept == a.weight.size - round(sparsity * a.weight.size)
        assert np.count_nonzero(b.weight) <= kept
        kept_vals = np.abs(a.weight[out.encodings[b.name].mask])
        dropped = np.abs(a.weight[~out.encodings[b.name].mask])
        assert dropped.size == 0 or kept_vals.min() >= dropped.max()


def test_global_pruning_and_mask_accumulation():
    cg = small_generator()
    out = pruning.prune(cg, 0.6, scope="global")
    assert sum(int(out.encodings[n].mask.sum()) for n in out.layer_names()) == cg.weight_count() - round(0.6 * cg.weight_count())
    twice = pruning.prune(pruning.prune(cg, 0.5), 0.5)
    for l in twice.layers:
        assert twice.encodings[l.name].mask.sum() <= l.weight.size - round(0.5 * l.weight.size)


def test_prune_storage_sizes_exact():
    cg = small_generator()
    out = pruning.prune(cg, 0.5, sparse_format="bitmap")
    expected = sum(l.weight.size + (l.weight.size - round(0.5 * l.weight.size)) * 32 for l in cg.layers)
    assert out.weight_bits() == expected
    csr = pruning.prune(cg, 0.5, sparse_format="csr")
    exp_csr = 0
    for l in cg.layers:
        nnz = l.weight.size - round(0.5 * l.weight.size)
        rows, cols = l.weight.shape[0], l.weight.size // l.weight.shape[0]
        exp_csr += nnz * (32 + storage.index_bits(cols)) + (rows + 1) * storage.index_bits(nnz + 1)
    assert csr.weight_bits() == exp_csr


def test_channel_prune_shapes_and_forward():
    cg = small_generator()
    out = pruning.channel_prune(cg, 0.25)
    assert [l.weight.shape[:2] for l in out.layers] == [(8, 12), (12, 6), (6, 3), (3, 1)]
    assert out.forward(latents()).shape == (4, 1, 32, 32)
    assert out.weight_bits() == 32 * out.weight_count()


def test_channel_prune_zero_fraction_is_identity():
    cg = small_generator()
    out = pruning.channel_prune(cg, 0.0)
    assert np.array_equal(out.forward(latents()), cg.forward(latents()))


# ---- low rank -----------------------------------------------------------------------------------
def test_lowrank_sizes_exact():
    cg = small_generator(channels=(32, 16, 8))
    out = lowrank.lowrank(cg, rank=2)
    # deconv1 (8, 32*16): 2*(8+512); deconv2 (32, 256): 2*(32+256); deconv3 (16, 128): 2*(16+128);
    # deconv4 (8, 16): 2*(8+16) = 48 < 128, also factorized
    assert out.weight_count() == 2 * (8 + 512) + 2 * (32 + 256) + 2 * (16 + 128) + 2 * (8 + 16)
    assert out.weight_bits() == 32 * out.weight_count()
    assert [l.name for l in out.layers][:2] == ["deconv1.u", "deconv1.v"]


def test_lowrank_full_rank_is_exact_and_skips_unprofitable():
    cg = small_generator()
    full = lowrank.lowrank(cg, rank_fraction=1.0)
    assert [l.name for l in full.layers] == cg.layer_names()    # full rank never saves weights
    for layer in cg.layers:
        a, b = lowrank.factorize_layer(layer, min(layer.weight.shape[0], layer.weight[0].size))
        one = chain.CompressedGenerator("t", (a, b), {}).with_layers((a, b))
        single = chain.CompressedGenerator("t", (layer,), {}).with_layers((layer,))
        x = np.random.default_rng(0).standard_normal((2, layer.in_channels, 4, 4))
        assert np.allclose(one.forward(x), single.forward(x), atol=1e-10)


def test_lowrank_energy_rank_choice():
    s = np.array([3.0, 2.0, 1.0, 0.0])
    assert lowrank.choose_rank(s, energy=0.5) == 1       # 9/14
    assert lowrank.choose_rank(s, energy=0.9) == 2       # 13/14
    assert lowrank.choose_rank(s, rank_fraction=0.5) == 2
    with pytest.raises(ValueError):
        lowrank.choose_rank(s)


# ---- precision ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind,bits", [("int8", 8), ("int4", 4), ("int2", 2), ("ternary", 2), ("binary", 1)])
def test_quantize_sizes_and_round_trip(kind, bits):
    cg = small_generator()
    out = precision.quantize(cg, kind)
    assert out.weight_bits() == sum(l.weight.size * bits + 32 * l.out_channels for l in cg.layers)
    again = precision.quantize(out, kind)                    # quantizing quantized weights is exact
    for a, b in zip(out.layers, again.layers):
        assert np.allclose(a.weight, b.weight, rtol=0, atol=1e-12)
        assert np.array_equal(out.encodings[a.name].codes, again.encodings[b.name].codes)


def test_flex16_size():
    cg = small_generator()
    out = precision.quantize(cg, "flex16")
    assert out.weight_bits() == sum(l.weight.size * 16 + 5 for l in cg.layers)
    assert out.fmt == "flex16"


def test_ternary_binary_definitions():
    w = np.array([0.5, -0.05, 0.0, -0.9, 0.2, 0.1]).reshape(1, 6, 1, 1)   # conv2d: one output channel
    codes, alpha = qat.quantize_codes(w, "ternary", transposed=False)
    delta = 0.7 * np.mean(np.abs(w))
    assert codes.ravel().tolist() == [1, 0, 0, -1, 0, 0] and delta == pytest.approx(0.7 * 1.75 / 6)
    assert alpha[0] == pytest.approx((0.5 + 0.9) / 2)
    codes, alpha = qat.quantize_codes(w, "binary", transposed=False)
    assert codes.ravel().tolist() == [1, -1, 1, -1, 1, 1] and alpha[0] == pytest.approx(np.mean(np.abs(w)))


def test_binary_after_pruning_is_rejected():
    cg = pruning.prune(small_generator(), 0.5)
    with pytest.raises(ValueError, match="binar"):
        precision.quantize(cg, "binary")
    assert precision.quantize(cg, "ternary").density() == pytest.approx(0.5, abs=0.01)


def test_torch_fake_quant_matches_golden_codes():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    for transposed in (True, False):
        w = rng.normal(0, 0.1, (6, 5, 3, 3))
        for kind in ("int8", "int4", "int2", "ternary", "binary"):
            codes, scales = qat.quantize_codes(w, kind, transposed)
            tc, ts = qat.fake_quant_torch_codes(torch.from_numpy(w), kind, 1 if transposed else 0)
            assert np.array_equal(tc.numpy().astype(np.int64), codes), kind
            assert np.allclose(ts.numpy(), scales, rtol=1e-12), kind


def test_straight_through_gradient():
    torch = pytest.importorskip("torch")
    w = torch.randn(4, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    qat.fake_quant_torch(w, "ternary", 1).sum().backward()
    assert torch.equal(w.grad, torch.ones_like(w))


# ---- composition --------------------------------------------------------------------------------
def test_compose_orders_and_names():
    cg = small_generator()
    budget = recipe.TrainingBudget(finetune_steps=0)
    a = recipe.compose(cg, "prune50+int8+codebook16+huffman", budget)
    b = recipe.compose(cg, "int8+prune50", budget)
    c = recipe.compose(cg, "codebook16+int8", budget)
    assert a.name == "prune50+int8+codebook16+huffman" and a.fmt == "int8"
    assert b.name == "int8+prune50" and b.density() == pytest.approx(0.5, abs=0.01)
    assert c.encodings["deconv2"].value_kind == "codebook" and c.fmt == "int8"
    assert a.weight_bits() < recipe.compose(cg, "prune50+int8+codebook16", budget).weight_bits()
    fp32 = recipe.compose(cg, "fp32", budget)
    assert fp32.name == "fp32" and fp32.weight_bits() == 32 * cg.weight_count()
    with pytest.raises(ValueError, match="unknown"):
        recipe.compose(cg, "int8+zip", budget)
    with pytest.raises(ValueError, match="codes"):
        recipe.compose(cg, "huffman", budget)


def test_folded_chain_matches_torch_generator():
    torch = pytest.importorskip("torch")
    from accelsim.models.dcgan import Generator
    gen = Generator(z_dim=8, channels=(16, 8, 4)).eval()
    with torch.no_grad():
        for m in gen.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
        z = latents()
        ref = gen(torch.from_numpy(z).float()).double().numpy()
    cg = chain.from_graph("t", dcgan_graph("t", {k: v.numpy() for k, v in gen.state_dict().items()
                                                 if not k.endswith("num_batches_tracked")}))
    assert np.allclose(cg.forward(z), ref, atol=1e-5)


def test_finetune_qat_and_distill_run_a_few_steps():
    pytest.importorskip("torch")
    from accelsim.compress import distill, finetune, qat_train
    cg = small_generator()
    pruned = pruning.prune(cg, 0.5)
    tuned = finetune.finetune(pruned, cg, 2, batch_size=4, discriminator=None)
    for l in tuned.layers:
        assert np.all(l.weight[~tuned.encodings[l.name].mask] == 0)          # masks kept
    tq = finetune.finetune(precision.quantize(cg, "int4"), cg, 2, batch_size=4, discriminator=None)
    assert tq.encodings["deconv2"].value_kind == "int"
    assert len(np.unique(tq.encodings["deconv2"].codes)) <= 15
    q = qat_train.qat(cg, "ternary", steps=2, batch_size=4, discriminator=None)
    assert q.name == "ternary-qat" and q.fmt == "ternary"
    assert set(np.unique(q.encodings["deconv1"].codes)) <= {-1, 0, 1}
    s = distill.distill(cg, channels=(8, 4, 2), steps=2, batch_size=4, discriminator=None)
    assert s.name == "distilled" and [l.weight.shape[1] for l in s.layers] == [8, 4, 2, 1]
    assert s.forward(latents()).shape == (4, 1, 32, 32)


@pytest.mark.parametrize("recipe_name", ["fp32", "prune50+int8+huffman", "ternary", "binary", "codebook16+int4",
                                         "chprune25+int4", "lowrank50+flex16", "int8+codebook16"])
def test_serialize_round_trip_exact(tmp_path, recipe_name):
    from accelsim.compress import serialize
    cg = recipe.compose(small_generator(), recipe_name, recipe.TrainingBudget(finetune_steps=0))
    path = str(tmp_path / "cg.npz")
    serialize.save(cg, path)
    back = serialize.load(path)
    assert back.name == cg.name and back.fmt == cg.fmt and back.weight_bits() == cg.weight_bits()
    for a, b in zip(cg.layers, back.layers):
        assert a == b and np.array_equal(a.weight, b.weight)
        assert (a.bias is None and b.bias is None) or np.array_equal(a.bias, b.bias)
        ea, eb = cg.encodings[a.name], back.encodings[b.name]
        assert ea == eb
        assert (ea.codes is None) == (eb.codes is None) and (ea.codes is None or np.array_equal(ea.codes, eb.codes))
        assert (ea.mask is None) == (eb.mask is None) and (ea.mask is None or np.array_equal(ea.mask, eb.mask))


def test_zoo_trained_prefix_and_recipes_parse():
    from accelsim.compress import zoo
    assert zoo.trained_prefix(["distilled", "int8", "codebook16"]) == ["distilled"]
    assert zoo.trained_prefix(["int8", "codebook16"]) == []
    assert zoo.trained_prefix(["distilled", "prune50", "int4-qat", "huffman"]) == ["distilled", "prune50", "int4-qat"]
    for name in ("fp32", "int8", "int4", "ternary", "binary", "flex16", "prune50", "codebook16", "distilled",
                 "distilled+int8+codebook16"):
        assert name in zoo.RECIPES
    cg = small_generator()
    budget = recipe.TrainingBudget(finetune_steps=0)
    for r in zoo.RECIPES:                       # every untrained recipe composes on any chain
        if not zoo.trained_prefix(r.split("+")):
            assert recipe.compose(cg, r, budget).name == r


def test_activation_fake_quant_levels():
    torch = pytest.importorskip("torch")
    from accelsim.compress.torch_chain import ChainModule
    m = ChainModule(small_generator())
    x = torch.linspace(-3.0, 5.0, 1001)
    y = m._fake_quant_affine(x, x.min(), x.max(), 4)
    assert len(torch.unique(y)) <= 16 and 0.0 in set(y.tolist())   # 4-bit codes; real 0 exact
    scale = 8.0 / 15
    assert torch.allclose(y / scale, torch.round(y / scale), atol=1e-4)   # on the scale grid
    m.act_bits = 4
    with torch.no_grad():
        out = m(torch.from_numpy(latents(16)).float()).numpy()
    assert np.abs(out).max() <= 1.0 and out.std() > 0


def test_huffman_table_uses_the_smaller_layout():
    codes = np.arange(-3, 5).reshape(2, 4, 1, 1) * 1000      # 8 distinct 16-bit symbols
    enc = storage.TensorEncoding((2, 4, 1, 1), "flex16", 16, codes, side_bits=5, entropy="huffman")
    assert enc.table_bits() == 32 + 8 * (16 + 8)               # not 2^16 x 8
    assert enc.payload_bits() == 8 * 3


def test_chain_fake_quantization_matches_the_runtime():
    """QAT's fake quantization (ChainModule with act_bits) is what accelsim.runtime deploys: the same
    calibrated ranges and grids, so outputs differ by float32 rounding only."""
    torch = pytest.importorskip("torch")
    from accelsim.compress.torch_chain import ChainModule
    from accelsim.runtime import quantize
    cg = precision.quantize(small_generator(), "int8")
    z = latents(16)
    m = ChainModule(cg)
    m.calibrate(torch.from_numpy(z).float())
    g = quantize(cg.to_graph(z.shape[1:]), "int8", z)
    assert float(m.act_ranges[0][1]) == pytest.approx(z.max(), rel=1e-6)
    m.act_bits = 8
    with torch.no_grad():
        out = m(torch.from_numpy(z).float()).double().numpy()
    assert np.abs(out - g.run(z, impl="reference")).max() <= 2 / 127 + 1e-6   # at most a rounding step or two


def test_teacher_loss_feature_matching():
    torch = pytest.importorskip("torch")
    from accelsim.compress.finetune import teacher_loss
    from accelsim.models.dcgan import Discriminator
    disc = Discriminator(channels=(4, 8, 8)).eval()
    x = torch.rand(2, 1, 32, 32) * 2 - 1
    assert teacher_loss(x, x, disc, 1.0, 0.0, 3.0).item() == 0.0      # identical images: no pixel/feature loss
    assert teacher_loss(x, -x, disc, 0.0, 0.0, 3.0).item() > 0.0


@pytest.mark.torch
def test_compressions_take_any_conv_chain_graph():
    """A user's chain (the pytorch/examples DCGAN, imported) compresses and runs like a shipped one;
    a graph that is not a chain is an error naming the node."""
    pytest.importorskip("torch")
    import pathlib

    from accelsim.errors import ModelError
    from accelsim.graph.reference import load
    gen_py = pathlib.Path(__file__).resolve().parent.parent / "examples" / "generators.py"
    loaded = load(f"{gen_py}:dcgan_tiny")
    cg = chain.from_graph("dcgan_tiny", loaded.graph)
    assert [l.act for l in cg.layers][-1] == "tanh" and all(l.transposed for l in cg.layers)
    z = loaded.example_inputs(4, 0)[0]
    np.testing.assert_allclose(cg.forward(z), loaded.graph.run_float(z), atol=1e-9)
    q = precision.quantize(cg, "int8")
    assert q.weight_bits() < cg.weight_bits() / 3.9
    with pytest.raises(ModelError, match=r"node '.*' \((add|instance_norm|pad|conv2d|concat)"):
        chain.from_graph("cyclegan_tiny", load(f"{gen_py}:cyclegan_tiny").graph)


def test_trained_generators_are_saved_with_their_provenance(tmp_path):
    """zoo.write_shipped stores model, recipe, budget and the code digest with a hash of all four
    (issue 15 item 5); a file saved without one reads back None."""
    from accelsim.compress import serialize, zoo
    from accelsim.compress.recipe import TrainingBudget
    cg = zoo.build("dcgan-digits", "int8")
    record = zoo.provenance_of("dcgan-digits", "prune50", TrainingBudget())
    serialize.save(cg, str(tmp_path / "a.npz"), record)
    serialize.save(cg, str(tmp_path / "b.npz"))
    assert serialize.provenance(str(tmp_path / "a.npz")) == record
    assert serialize.provenance(str(tmp_path / "b.npz")) is None
    assert serialize.load(str(tmp_path / "a.npz")).weight_bits() == cg.weight_bits()
    assert len(record["code_digest"]) == 64 and record["budget"]["finetune_steps"] == 500
    other = zoo.provenance_of("dcgan-digits", "prune50", TrainingBudget(finetune_steps=10))
    assert other["hash"] != record["hash"] and other["code_digest"] == record["code_digest"]


def test_finetune_image_input_generator_with_lr_patch_sampler():
    """An image-input chain (sr-x4's shape: conv2d first) fine-tunes with an input sampler of LR
    patches; without one it is a clear ModelError; the sampler is deterministic for a seed."""
    torch = pytest.importorskip("torch")
    from accelsim.compress import finetune
    from accelsim.errors import ModelError
    from accelsim.graph.shipped import shipped_graph
    teacher = chain.from_graph("sr-x4", shipped_graph("sr-x4"))
    student = pruning.channel_prune(teacher, 0.5)
    assert [l.out_channels for l in student.layers] == [24, 12, 12, 12, 12, 12, 24, 3]
    with pytest.raises(ModelError, match="input_sampler"):
        finetune.finetune(student, teacher, 1, batch_size=2)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (30, 40, 3), dtype=np.uint8), rng.integers(0, 256, (26, 26, 3), dtype=np.uint8)]
    sample = finetune.lr_patch_sampler(images, patch=8)
    a, b = sample(5, torch.Generator().manual_seed(3)), sample(5, torch.Generator().manual_seed(3))
    assert a.shape == (5, 3, 8, 8) and torch.equal(a, b) and float(a.min()) >= -1 and float(a.max()) <= 1
    tuned = finetune.finetune(student, teacher, 2, batch_size=2, input_sampler=sample)
    assert [l.weight.shape for l in tuned.layers] == [l.weight.shape for l in student.layers]
    assert any(not np.array_equal(t.weight, s.weight) for t, s in zip(tuned.layers, student.layers))
    with pytest.raises(ModelError, match="H, W >= 8"):
        finetune.lr_patch_sampler([images[0][:4]], patch=8)


def test_distill_sr_student_starts_from_bilinear_and_trains():
    torch = pytest.importorskip("torch")
    from accelsim.compress import distill, finetune
    from accelsim.graph.shipped import shipped_graph
    teacher = chain.from_graph("sr-x4", shipped_graph("sr-x4"))
    rng = np.random.default_rng(1)
    sample = finetune.lr_patch_sampler([rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)], patch=8)
    start = distill.distill_sr(teacher, 12, 6, 0, sample)
    assert [l.out_channels for l in start.layers] == [12, 6, 6, 6, 6, 6, 12, 3] and start.name == "distilled"
    x = rng.uniform(-1, 1, (1, 3, 6, 6))
    up = start.forward(x)          # bilinear start: the output is smooth and in the input's range
    assert up.shape == (1, 3, 24, 24) and np.abs(up).max() <= 1.5
    tuned = distill.distill_sr(teacher, 12, 6, 2, sample, batch_size=2)
    assert any(not np.array_equal(a.weight, b.weight) for a, b in zip(start.layers, tuned.layers))
    del torch
