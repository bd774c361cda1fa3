"""accelsim compare: the compressed generator as the simulator sees it, the C++ run of compressed
generators against the golden model, the Pareto front, and the CLI end to end (cheap recipes only:
no training in tests)."""
import json
import math

import numpy as np
import pytest

from accelsim import compare
from accelsim.cli import main
from accelsim.compress import zoo
from accelsim.errors import ConfigError
from accelsim.models import registry
from accelsim.workload import get_model


def test_workload_of_fp32_matches_the_zoo_shapes():
    cg = zoo.build("dcgan-digits", "fp32")
    w, fmts, comps = compare.workload_of(cg)
    zoo_w = get_model("dcgan-digits")
    assert [l.out_hw for l in w.layers] == [l.out_hw for l in zoo_w.layers]
    assert w.macs_effectual == zoo_w.macs_effectual and w.conv_weights == zoo_w.conv_weights == 295424
    assert {f.name for f in fmts.values()} == {"fp32"}
    # exact stored size: float32 weights, 32 bits each
    assert sum(c.exact_weight_bits for c in comps.values()) == cg.weight_bits() == 32 * 295424


@pytest.mark.parametrize("recipe, fmt", [("int4", "w4a4"), ("codebook16+huffman", "fp32"), ("lowrank50", "fp32")])
def test_workload_of_compressed_generators(recipe, fmt):
    cg = zoo.build("dcgan-digits", recipe)
    w, fmts, comps = compare.workload_of(cg)
    assert {f.name for f in fmts.values()} == {fmt}
    assert sum(c.exact_weight_bits for c in comps.values()) == cg.weight_bits()
    assert [l.name for l in w.layers] == cg.layer_names()
    assert w.layers[-1].out_hw == (32, 32) and w.layers[-1].out_channels == 1


def test_simulated_weight_bytes_are_the_exact_encoded_size():
    from accelsim.api import simulate
    cg = zoo.build("dcgan-digits", "codebook16+huffman")
    w, fmts, comps = compare.workload_of(cg)
    rep = simulate(w, "edge-npu", fmts, compression=comps)
    bias_bits = sum(32 * l.out_channels for l in w.layers if l.bias)
    assert rep.weight_bytes == sum(math.ceil((comps[l.name].exact_weight_bits + 32 * l.out_channels * l.bias) / 8)
                                   for l in w.layers)
    assert rep.weight_bytes * 8 >= cg.weight_bits() + bias_bits


@pytest.mark.parametrize("recipe", ["int8", "ternary", "binary", "xnor", "flex16", "codebook16+int8"])
def test_compressed_generators_run_bit_exact_through_the_kernels(recipe):
    cg = zoo.build("dcgan-digits", recipe)
    x = compare.model_inputs("dcgan-digits", 6)
    cpp = compare.run(cg, x, "cpp")
    ref = compare.run(cg, x, "reference")
    np.testing.assert_array_equal(cpp, ref)
    assert cpp.std() > 0.05            # not degenerate


def test_quantized_run_keeps_the_compressed_codes():
    """The kernels execute the codes the compression chose: re-quantizing dequantized int8 /
    ternary weights reproduces the same codes."""
    from accelsim.compress.qat import quantize_codes
    for kind in ("int8", "ternary", "binary"):
        cg = zoo.build("dcgan-digits", kind)
        for layer in cg.layers:
            codes, _ = quantize_codes(layer.weight, kind, layer.transposed)
            np.testing.assert_array_equal(codes, cg.encodings[layer.name].codes)


def test_pareto_front_on_synthetic_rows():
    def row(name, e, fid):
        return compare.CompareRow(name, "fp32", 1, 1.0, 1.0, 1, 1, 1, e, 1.0, 30.0, 0.9, fid, None)
    rows = [row("a", 10, 20), row("b", 5, 30), row("c", 6, 40), row("d", 20, 19), row("e", 5, 30)]
    assert compare.pareto_front(rows) == ["a", "b", "d", "e"]


def test_needs_training_is_reported_before_any_work():
    assert zoo.needs_training("dcgan-digits", "prune30+int8")            # no shipped prune30
    assert not zoo.needs_training("dcgan-digits", "int8+codebook16")      # nothing trains
    with pytest.raises(ConfigError, match="needs training") as exc:
        compare.evaluate("dcgan-digits", ["prune30+int8"], n_images=4, n_fid=0)
    assert "--" not in str(exc.value).replace("python -m accelsim.compress.zoo --model", "")  # the parameter, not a flag
    assert "allow_training" in str(exc.value)


def test_cli_names_the_options_of_an_untrained_recipe(capsys):
    assert main(["compare", "--recipes", "int8,prune30+int8", "--images", "4", "--fid-images", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("accelsim compare: error: --recipes: 'prune30+int8' needs training") and "--train" in err
    assert main(["compare", "--recipes", "int8,zip9"]) == 2
    assert capsys.readouterr().err.startswith("accelsim compare: error: --recipes: recipe 'zip9': unknown")


def test_every_compare_row_is_shipped_or_needs_no_training():
    assert [r for r in zoo.RECIPES if zoo.needs_training("dcgan-digits", r)] == []


def test_cli_compare_end_to_end(tmp_path, capsys):
    out, png = tmp_path / "c.json", tmp_path / "c.png"
    assert main(["compare", "--recipes", "fp32,int8,ternary,codebook16", "--images", "16", "--fid-images", "64",
                 "--json", str(out), "--plot", str(png)]) == 0
    text = capsys.readouterr().out
    assert "Pareto front" in text and "codebook16" in text
    data = json.loads(out.read_text())
    rows = {r["name"]: r for r in data["rows"]}
    assert set(rows) == {"fp32", "int8", "ternary", "codebook16"}
    for r in rows.values():
        assert {"name", "weight_bits", "compression_ratio", "dram_bytes", "energy_per_image_uj", "psnr_db", "ssim",
                "fid"} <= set(r)
    assert rows["fp32"]["psnr_db"] == "inf" and rows["fp32"]["compression_ratio"] == 1.0
    assert rows["int8"]["compression_ratio"] > 3.9 and rows["int8"]["psnr_db"] > 30
    assert rows["int8"]["energy_per_image_uj"] < rows["fp32"]["energy_per_image_uj"]
    assert rows["ternary"]["dram_bytes"] < rows["int8"]["dram_bytes"] < rows["fp32"]["dram_bytes"]
    assert all(isinstance(r["fid"], float) for r in rows.values())
    assert png.stat().st_size > 10000


@pytest.mark.parametrize("argv, needle", [
    (["compare", "--model", "nope"], "--model"),
    (["compare", "--recipes", "int8,bogus7"], "bogus7"),
    (["compare", "--images", "0"], "--images"),
    (["compare", "--fid-images", "5"], "--fid-images"),
    (["compare", "--lowering", "sideways"], "--lowering"),
])
def test_cli_compare_bad_input(argv, needle, capsys):
    assert main(argv + ["--fid-images", "0"] if "--fid-images" not in argv else argv) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_sr_model_is_scored_against_ground_truth():
    rows = compare.evaluate("sr-x4", ["fp32", "int8"], n_images=1, n_fid=0)
    assert rows[0].fid is None and rows[0].psnr_gt_db > 20
    assert rows[1].psnr_db > 25 and rows[1].psnr_gt_db > 20
    assert registry.GENERATORS


def test_compare_and_energy_differ_only_by_the_per_channel_scales():
    """The reason the compare legend gives, checked: an int8 row moves exactly 4 bytes per output
    channel more than `accelsim energy`'s w8a8 (codes only), and the same layer names."""
    from accelsim.api import simulate
    cg = zoo.build("dcgan-digits", "int8")
    w, fmts, comps = compare.workload_of(cg)
    row = simulate(w, "edge-npu", fmts, compression=comps, lowering="phase")
    plain = simulate("dcgan-digits", "edge-npu", "w8a8", lowering="phase")
    assert [l.name for l in w.layers] == [l.name for l in plain.layers] == ["deconv1", "deconv2", "deconv3", "deconv4"]
    assert row.weight_bytes - plain.weight_bytes == 4 * sum(l.out_channels for l in w.layers)
    assert row.dram_bytes - plain.dram_bytes == row.weight_bytes - plain.weight_bytes
    assert row.energy_per_image_uj > plain.energy_per_image_uj
    from accelsim.report.compare import COMPARE_LEGEND
    assert "per-channel scales (4 bytes per output channel)" in COMPARE_LEGEND


def test_row_cache_reads_back_exactly_and_skips_the_work(tmp_path, monkeypatch):
    cache = compare.RowCache(str(tmp_path))
    first = compare.evaluate("dcgan-digits", ["fp32", "int8", "ternary"], n_images=4, n_fid=0, cache=cache)
    assert len(list(tmp_path.glob("*.json"))) == 3

    real_build, built = zoo.build, []

    def counting_build(model, recipe):
        built.append(recipe)
        return real_build(model, recipe)
    monkeypatch.setattr(zoo, "build", counting_build)
    again = compare.evaluate("dcgan-digits", ["fp32", "int8", "ternary"], n_images=4, n_fid=0, cache=cache)
    assert built == ["fp32"]          # the reference generator only: no row was recomputed
    assert again == first and [r.to_json() for r in again] == [r.to_json() for r in first]


def test_row_cache_misses_on_any_change_and_survives_a_corrupt_file(tmp_path, monkeypatch):
    cache = compare.RowCache(str(tmp_path))
    arch = compare_arch()
    key = compare.row_key("dcgan-digits", "int8", arch, lowering="phase", n_images=4, n_fid=0, impl="cpp",
                          fusion="none")
    changed = [compare.row_key("dcgan-digits", "int8", arch, lowering="phase", n_images=5, n_fid=0, impl="cpp",
                               fusion="none"),
               compare.row_key("dcgan-digits", "int4", arch, lowering="phase", n_images=4, n_fid=0, impl="cpp",
                               fusion="none"),
               compare.row_key("dcgan-digits", "int8", arch, lowering="scatter", n_images=4, n_fid=0, impl="cpp",
                               fusion="none")]
    assert key not in changed and len(set(changed)) == 3
    monkeypatch.setattr(compare, "code_digest", lambda: "another version of the code")
    assert compare.row_key("dcgan-digits", "int8", arch, lowering="phase", n_images=4, n_fid=0, impl="cpp",
                           fusion="none") != key
    monkeypatch.undo()
    (tmp_path / f"{key}.json").write_text("{ not json")
    assert cache.get(key) is None
    rows = compare.evaluate("dcgan-digits", ["int8"], arch, n_images=4, n_fid=0, cache=cache)
    assert cache.get(key) == rows[0]
    (tmp_path / f"{key}.json").write_text(json.dumps({"key": "someone else", "row": rows[0].to_json()}))
    assert cache.get(key) is None


def compare_arch():
    from accelsim.arch import load_arch
    return load_arch("edge-npu")


@pytest.mark.parametrize("extra, needle", [
    (["--no-cache", "--cache", "{t}"], "--cache"),
    (["--cache", "{t}/file"], "--cache"),
])
def test_cli_cache_options_bad_input(extra, needle, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    argv = ["compare", "--recipes", "int8", "--images", "1", "--fid-images", "0"]
    assert main(argv + [e.format(t=tmp_path) for e in extra]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_cli_cache_dir_is_used(tmp_path, capsys):
    argv = ["compare", "--recipes", "int8", "--images", "2", "--fid-images", "0", "--cache", str(tmp_path)]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert len(list((tmp_path / "compare").glob("*.json"))) == 1
    assert main(argv) == 0 and capsys.readouterr().out == first


def test_cli_unusable_default_cache_is_a_note_not_an_error(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    monkeypatch.setenv("ACCELSIM_CACHE_DIR", str(blocker))
    assert main(["compare", "--recipes", "int8", "--images", "1", "--fid-images", "0"]) == 0
    err = capsys.readouterr().err
    assert "no row cache" in err and "Traceback" not in err


def test_evaluate_generator_is_the_row_of_evaluate():
    """A generator built outside the recipes gets exactly the row ``evaluate`` gives its recipe."""
    from accelsim.compress import zoo
    row = compare.evaluate("dcgan-digits", ["int8"], n_images=4, n_fid=0)[0]
    ref_cg = zoo.build("dcgan-digits", "fp32")
    x = compare.model_inputs("dcgan-digits", 4)
    again = compare.evaluate_generator(zoo.build("dcgan-digits", "int8"), "int8", "edge-npu", x,
                                       ref_cg.forward(x, np.float32).astype(np.float64), ref_cg.weight_bits(),
                                       n_images=4, n_fid=0)
    assert again == row
