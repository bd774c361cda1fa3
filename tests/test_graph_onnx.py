"""The ONNX importer (accelsim.graph.from_onnx): the example generators exported with torch's dynamo
exporter import and run like onnxruntime and like the torch importer; small hand-built models cover
the ops the exporter does not emit, the constant folding, and the rejections."""
import contextlib
import io
import pathlib
import sys
import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from accelsim.errors import ModelError  # noqa: E402
from accelsim.graph.from_onnx import from_onnx  # noqa: E402

pytestmark = pytest.mark.torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
FACTORIES = ("dcgan_tiny", "cdcgan", "cyclegan_tiny", "pix2pix_tiny", "srresnet_tiny", "esrgan_tiny")
TOL = 1e-4


def _generators():
    from conftest import load_example_generators
    return load_example_generators()


def _ort_run(path, arrays):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {i.name: a for i, a in zip(sess.get_inputs(), arrays)})[0]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """name -> (module, example input tensors, path of its dynamo ONNX export)."""
    gens = _generators()
    out = {}
    d = tmp_path_factory.mktemp("onnx_generators")
    for name in FACTORIES:
        module, x = getattr(gens, name)()
        xs = x if isinstance(x, tuple) else (x,)
        path = d / f"{name}.onnx"
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            torch.onnx.export(module, xs, str(path), dynamo=True, verbose=False)
        out[name] = (module, xs, path)
    return out


@pytest.mark.parametrize("name", FACTORIES)
def test_generator_matches_onnxruntime_and_torch_importer(exported, name):
    from accelsim.graph.from_torch import from_torch
    module, xs, path = exported[name]
    arrays = tuple(t.numpy() for t in xs)
    g = from_onnx(path)
    assert g.name == name and g.source == str(path)
    assert [i.shape for i in g.inputs] == [tuple(a.shape) for a in arrays]
    assert [i.dtype for i in g.inputs] == ["int" if a.dtype.kind == "i" else "float" for a in arrays]
    out = g.run_float(arrays)
    np.testing.assert_allclose(out, _ort_run(path, arrays), rtol=0, atol=TOL)
    np.testing.assert_allclose(out, from_torch(module, xs).run_float(arrays), rtol=0, atol=TOL)
    assert len({n.name for n in g.nodes}) == len(g.nodes)


# ---- hand-built models -----------------------------------------------------------------------------------
def _vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def _save(tmp_path, nodes, inputs, outputs, inits=None, opset=17, fname="m.onnx"):
    graph = helper.make_graph(nodes, "hand", inputs, outputs,
                              initializer=[numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    path = tmp_path / fname
    onnx.save(model, str(path))
    return path


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _check(path, *arrays):
    g = from_onnx(path)
    np.testing.assert_allclose(g.run_float(arrays), _ort_run(path, arrays), rtol=0, atol=1e-5)
    return g


@pytest.mark.parametrize("trans_b", [0, 1])
def test_gemm(tmp_path, trans_b):
    w = _rand(3, 5, seed=1)
    path = _save(tmp_path, [helper.make_node("Gemm", ["x", "w", "c"], ["y"], name="fc", transB=trans_b)],
                 [_vi("x", [1, 5])], [_vi("y", None)], {"w": w if trans_b else w.T.copy(), "c": _rand(3, seed=2)})
    g = _check(path, _rand(1, 5))
    (n,) = g.nodes
    assert (n.name, n.op) == ("fc", "linear")
    np.testing.assert_array_equal(n.params["weight"], w.astype(np.float64))
    np.testing.assert_allclose(g.run_float(_rand(4, 5, seed=3)), _rand(4, 5, seed=3) @ w.T.astype(np.float64)
                               + n.params["bias"], atol=1e-6)


def test_matmul_with_initializer_then_bias(tmp_path):
    w, b = _rand(5, 4, seed=1), _rand(4, seed=2)
    path = _save(tmp_path, [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Add", ["h", "b"], ["y"])],
                 [_vi("x", [1, 2, 5])], [_vi("y", None)], {"w": w, "b": b})
    g = _check(path, _rand(1, 2, 5))
    assert [n.op for n in g.nodes] == ["linear", "add"]
    assert g.nodes[0].params["weight"].shape == (4, 5) and g.nodes[0].name == "h"
    assert set(g.nodes[1].params) == {"other"}


@pytest.mark.parametrize("ctm,nearest_mode,scales,sizes", [
    ("asymmetric", "floor", [1, 1, 2, 2], None),
    ("half_pixel", "round_prefer_floor", [1, 1, 3, 2], None),
    ("asymmetric", "floor", None, [1, 2, 6, 12]),
])
def test_resize_nearest(tmp_path, ctm, nearest_mode, scales, sizes):
    inits = {"roi": np.zeros(0, np.float32)}
    if scales is not None:
        inits["scales"] = np.array(scales, np.float32)
    else:
        inits["sizes"] = np.array(sizes, np.int64)
    node = helper.make_node("Resize", ["x", "", "scales" if scales else "", "sizes" if sizes else ""], ["y"],
                            mode="nearest", coordinate_transformation_mode=ctm, nearest_mode=nearest_mode)
    path = _save(tmp_path, [node], [_vi("x", [1, 2, 3, 4])], [_vi("y", None)], inits)
    g = _check(path, _rand(1, 2, 3, 4))
    assert [(n.op, n.attrs["mode"]) for n in g.nodes] == [("upsample", "nearest")]


@pytest.mark.parametrize("ctm,scales,sizes,align", [
    ("half_pixel", [1, 1, 2, 2], None, False),
    ("pytorch_half_pixel", [1, 1, 2, 3], None, False),
    ("half_pixel", None, [1, 2, 7, 9], False),
    ("align_corners", None, [1, 2, 7, 9], True),
])
def test_resize_linear(tmp_path, ctm, scales, sizes, align):
    inits = {"scales": np.array(scales, np.float32)} if scales else {"sizes": np.array(sizes, np.int64)}
    node = helper.make_node("Resize", ["x", "", "scales" if scales else "", "sizes" if sizes else ""], ["y"],
                            mode="linear", coordinate_transformation_mode=ctm)
    path = _save(tmp_path, [node], [_vi("x", [1, 2, 3, 4])], [_vi("y", None)], inits)
    g = _check(path, _rand(1, 2, 3, 4))
    (n,) = g.nodes
    assert n.op == "upsample" and n.attrs["mode"] == "bilinear" and n.attrs["align_corners"] is align


@pytest.mark.parametrize("mode,kind", [("reflect", "reflect"), ("edge", "replicate"), ("constant", "zeros")])
def test_pad(tmp_path, mode, kind):
    path = _save(tmp_path, [helper.make_node("Pad", ["x", "pads"], ["y"], mode=mode)],
                 [_vi("x", [1, 2, 4, 5])], [_vi("y", None)], {"pads": np.array([0, 0, 1, 2, 0, 0, 3, 1], np.int64)})
    g = _check(path, _rand(1, 2, 4, 5))
    assert [(n.op, n.attrs["pads"], n.attrs["mode"]) for n in g.nodes] == [("pad", (1, 3, 2, 1), kind)]


def test_clip(tmp_path):
    nodes = [helper.make_node("Clip", ["x", "lo", "hi"], ["a"]), helper.make_node("Clip", ["a", "zero"], ["y"])]
    path = _save(tmp_path, nodes, [_vi("x", [1, 8])], [_vi("y", None)],
                 {"lo": np.array(-0.5, np.float32), "hi": np.array(0.7, np.float32), "zero": np.array(0, np.float32)})
    g = _check(path, _rand(1, 8))
    assert [n.op for n in g.nodes] == ["hardtanh", "relu"]
    assert g.nodes[0].attrs == {"min": -0.5, "max": pytest.approx(0.7)}


@pytest.mark.parametrize("pads,auto_pad,stride,pad_node", [
    ([1, 0, 0, 1], None, 1, (1, 0, 0, 1)),
    (None, "SAME_UPPER", 2, (0, 1, 0, 0)),
    (None, "SAME_LOWER", 2, (1, 0, 0, 0)),
    ([1, 1, 1, 1], None, 1, None),
])
def test_conv_padding(tmp_path, pads, auto_pad, stride, pad_node):
    kw = {"pads": pads} if pads else {"auto_pad": auto_pad}
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], name="conv", strides=[stride, stride], **kw)
    path = _save(tmp_path, [node], [_vi("x", [1, 2, 6, 6])], [_vi("y", None)],
                 {"w": _rand(3, 2, 3, 2, seed=1), "b": _rand(3, seed=2)})
    g = _check(path, _rand(1, 2, 6, 6))
    if pad_node is None:
        assert [(n.name, n.op, n.attrs["padding"]) for n in g.nodes] == [("conv", "conv2d", (1, 1))]
    else:
        assert [(n.name, n.op) for n in g.nodes] == [("conv.pad", "pad"), ("conv", "conv2d")]
        assert g.nodes[0].attrs == {"pads": pad_node, "mode": "zeros"} and g.nodes[1].attrs["padding"] == (0, 0)


@pytest.mark.parametrize("kw,k,padding,output_padding", [
    ({"pads": [2, 2, 2, 2], "dilations": [2, 2]}, 3, (2, 2), (0, 0)),
    ({"auto_pad": "SAME_UPPER"}, 4, (1, 1), (0, 0)),
    ({"auto_pad": "VALID", "output_padding": [1, 1]}, 3, (0, 0), (1, 1)),
])
def test_conv_transpose(tmp_path, kw, k, padding, output_padding):
    node = helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], strides=[2, 2], group=2, **kw)
    path = _save(tmp_path, [node], [_vi("x", [1, 4, 3, 3])], [_vi("y", None)],
                 {"w": _rand(4, 3, k, k, seed=1), "b": _rand(6, seed=2)})
    g = _check(path, _rand(1, 4, 3, 3))
    (n,) = g.nodes
    assert (n.op, n.attrs["padding"], n.attrs["output_padding"], n.attrs["groups"]) == \
        ("conv_transpose2d", padding, output_padding, 2)


def test_legacy_opset_attributes(tmp_path):
    """Opset 9: Upsample with a scales input, Pad / Clip / Squeeze / Unsqueeze with attributes."""
    nodes = [helper.make_node("Upsample", ["x", "s"], ["u"], mode="nearest"),
             helper.make_node("Pad", ["u"], ["p"], mode="reflect", pads=[0, 0, 1, 2, 0, 0, 2, 1]),
             helper.make_node("Clip", ["p"], ["c"], min=-0.5, max=0.5),
             helper.make_node("Unsqueeze", ["c"], ["q"], axes=[2]),
             helper.make_node("Squeeze", ["q"], ["y"], axes=[2])]
    path = _save(tmp_path, nodes, [_vi("x", [1, 2, 3, 3])], [_vi("y", None)],
                 {"s": np.array([1, 1, 2, 2], np.float32)}, opset=9)
    g = _check(path, _rand(1, 2, 3, 3))
    assert [n.op for n in g.nodes] == ["upsample", "pad", "hardtanh", "reshape", "reshape"]


def test_norms_activations_and_dropped_nodes(tmp_path):
    c = 4
    inits = {"w": _rand(c, 2, 3, 3, seed=1), "s": np.abs(_rand(c, seed=2)) + 0.5, "bb": _rand(c, seed=3),
             "m": _rand(c, seed=4) * 0.1, "v": np.abs(_rand(c, seed=5)) + 0.5,
             "slope": np.full((c, 1, 1), 0.2, np.float32),
             "fc": _rand(3, 2 * 8 * 8, seed=6), "fcb": _rand(3, seed=7), "ratio": np.array(0.5, np.float32)}
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "s", "bb", "m", "v"], ["bn"], epsilon=1e-3),
        helper.make_node("PRelu", ["bn", "slope"], ["p"]),
        helper.make_node("InstanceNormalization", ["p", "s", "bb"], ["in"]),
        helper.make_node("LeakyRelu", ["in"], ["lr"], alpha=0.1),
        helper.make_node("Dropout", ["lr", "ratio"], ["d"]),
        helper.make_node("Identity", ["d"], ["i"]),
        helper.make_node("DepthToSpace", ["i"], ["ds"], mode="CRD", blocksize=2),
        helper.make_node("Sigmoid", ["ds"], ["sg"]),
        helper.make_node("Tanh", ["sg"], ["t"]),
        helper.make_node("Concat", ["t", "t"], ["cat"], axis=1),
        helper.make_node("Flatten", ["cat"], ["f"]),
        helper.make_node("Gemm", ["f", "fc", "fcb"], ["y"], transB=1),
    ]
    path = _save(tmp_path, nodes, [_vi("x", [1, 2, 4, 4])], [_vi("y", None)], inits)
    g = _check(path, _rand(1, 2, 4, 4))
    assert [n.op for n in g.nodes] == ["conv2d", "batch_norm", "prelu", "instance_norm", "leaky_relu",
                                       "pixel_shuffle", "sigmoid", "tanh", "concat", "reshape", "linear"]
    assert g.node("bn").attrs["eps"] == pytest.approx(1e-3) and g.node("lr").attrs["slope"] == pytest.approx(0.1)
    assert g.node("ds").inputs == ("lr",)


def test_constant_folding_and_symbolic_batch(tmp_path):
    """The Shape -> Gather -> Unsqueeze -> Concat -> Reshape pattern and Constant operands fold away; a
    symbolic batch is imported as 1 and the graph runs at any batch."""
    const = lambda name, arr: helper.make_node("Constant", [], [name], value=numpy_helper.from_array(arr))  # noqa: E731
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"]),
        const("zero", np.array(0, np.int64)),
        helper.make_node("Gather", ["shape", "zero"], ["n"], axis=0),
        const("ax0", np.array([0], np.int64)),
        helper.make_node("Unsqueeze", ["n", "ax0"], ["n1"]),
        const("minus1", np.array([-1], np.int64)),
        helper.make_node("Concat", ["n1", "minus1"], ["target"], axis=0),
        helper.make_node("Cast", ["target"], ["target64"], to=TensorProto.INT64),
        helper.make_node("Reshape", ["x", "target64"], ["flat"], name="flatten"),
        const("two", np.array(2.0, np.float32)),
        helper.make_node("Div", ["flat", "two"], ["half"], name="halve"),
        const("row", _rand(1, 32, seed=1)),
        helper.make_node("Mul", ["half", "row"], ["scaled"]),
        const("one", np.array(1.0, np.float32)),
        helper.make_node("Sub", ["one", "scaled"], ["y"], name="one_minus"),
    ]
    path = _save(tmp_path, nodes, [_vi("x", ["N", 2, 4, 4])], [_vi("y", None)])
    g = from_onnx(path)
    assert [(n.name, n.op) for n in g.nodes] == [("flatten", "reshape"), ("halve", "mul"), ("scaled", "mul"),
                                                 ("one_minus", "sub")]
    assert g.inputs[0].shape == (1, 2, 4, 4)
    assert g.node("flatten").attrs["shape"] == (32,)
    assert g.node("halve").attrs == {"const": 0.5} and "other" in g.node("scaled").params
    assert g.node("one_minus").attrs == {"reverse": True, "const": 1.0}
    for batch in (1, 3):
        x = _rand(batch, 2, 4, 4, seed=batch)
        np.testing.assert_allclose(g.run_float(x), _ort_run(path, (x,)), rtol=0, atol=1e-6)


def test_node_names(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="dup"), helper.make_node("Tanh", ["a"], ["b"], name="dup"),
             helper.make_node("Sigmoid", ["b"], ["c"]), helper.make_node("Relu", ["c"], ["y"], name="last")]
    g = from_onnx(_save(tmp_path, nodes, [_vi("x", [1, 3])], [_vi("y", None)]), name="named")
    assert g.name == "named"
    assert [n.name for n in g.nodes] == ["a", "b", "c", "last"] and g.outputs == ("last",)


def test_model_proto_and_int_input(tmp_path):
    table = _rand(10, 3)
    nodes = [helper.make_node("Gather", ["table", "labels"], ["y"], name="emb")]
    path = _save(tmp_path, nodes, [_vi("labels", [1, 2], TensorProto.INT64)], [_vi("y", None)], {"table": table})
    g = from_onnx(onnx.load(str(path)))
    assert g.inputs[0].dtype == "int" and g.nodes[0].op == "embedding"
    labels = np.array([[3, 7]], np.int64)
    np.testing.assert_allclose(g.run_float(labels), _ort_run(path, (labels,)), atol=0)


# ---- rejections --------------------------------------------------------------------------------------------
def test_unsupported_op_names_file_and_node(tmp_path):
    path = _save(tmp_path, [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Softmax", ["r"], ["y"],
                                                                                    name="my_softmax")],
                 [_vi("x", [1, 4])], [_vi("y", None)], fname="bad_model.onnx")
    with pytest.raises(ModelError) as exc:
        from_onnx(path)
    msg = str(exc.value)
    assert "bad_model.onnx" in msg and "my_softmax" in msg and "Softmax" in msg and "\n" not in msg


def test_missing_file(tmp_path):
    with pytest.raises(ModelError, match="nowhere.onnx"):
        from_onnx(tmp_path / "nowhere.onnx")


def test_not_an_onnx_file(tmp_path):
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"\xff\x00 not a protobuf \x17")
    with pytest.raises(ModelError, match="junk.onnx"):
        from_onnx(path)


def test_onnx_not_installed(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ModelError, match="pip install onnx"):
        from_onnx(tmp_path / "m.onnx")


X4 = [_vi("x", [1, 4, 4, 4])]
REJECTS = {
    "DCR": ([helper.make_node("DepthToSpace", ["x"], ["y"], blocksize=2, mode="DCR")], X4, {}, "DCR"),
    "convt_asym": ([helper.make_node("ConvTranspose", ["x", "w"], ["y"], pads=[1, 0, 0, 0])], X4,
                   {"w": _rand(4, 2, 3, 3)}, "asymmetric"),
    "convt_output_shape": ([helper.make_node("ConvTranspose", ["x", "w"], ["y"], output_shape=[8, 8],
                                             strides=[2, 2])], X4, {"w": _rand(4, 2, 3, 3)}, "output_shape"),
    "transpose_batch": ([helper.make_node("Transpose", ["x"], ["y"], perm=[1, 0, 2, 3])], X4, {}, "batch"),
    "gemm_alpha": ([helper.make_node("Gemm", ["x", "w"], ["y"], alpha=2.0)], [_vi("x", [1, 4])],
                   {"w": _rand(4, 3)}, "alpha"),
    "nearest_fraction": ([helper.make_node("Resize", ["x", "", "s"], ["y"], mode="nearest")], X4,
                         {"s": np.array([1, 1, 1.5, 1.5], np.float32)}, "integer"),
    "linear_asymmetric": ([helper.make_node("Resize", ["x", "", "s"], ["y"], mode="linear",
                                            coordinate_transformation_mode="asymmetric")], X4,
                          {"s": np.array([1, 1, 2, 2], np.float32)}, "asymmetric"),
    "div_tensor": ([helper.make_node("Div", ["x", "x"], ["y"])], X4, {}, "division"),
    "flatten_batch": ([helper.make_node("Flatten", ["x"], ["y"], axis=0)], X4, {}, "batch"),
    "pad_channels": ([helper.make_node("Pad", ["x", "p"], ["y"])], X4,
                     {"p": np.array([0, 1, 0, 0, 0, 1, 0, 0], np.int64)}, "H and W"),
    "matmul_tensors": ([helper.make_node("MatMul", ["x", "x"], ["y"])], X4, {}, "initializer"),
    "convt_same_output_padding": ([helper.make_node("ConvTranspose", ["x", "w"], ["y"], auto_pad="SAME_UPPER",
                                                    strides=[2, 2], output_padding=[1, 1])], X4,
                                  {"w": _rand(4, 2, 4, 4)}, "output_padding"),
    "clip_max_only": ([helper.make_node("Clip", ["x", "", "hi"], ["y"])], X4,
                      {"hi": np.array(6.0, np.float32)}, "both bounds"),
}


@pytest.mark.parametrize("case", sorted(REJECTS))
def test_rejections(tmp_path, case):
    nodes, inputs, inits, words = REJECTS[case]
    path = _save(tmp_path, nodes, inputs, [_vi("y", None)], inits, fname=f"{case}.onnx")
    with pytest.raises(ModelError) as exc:
        from_onnx(path)
    msg = str(exc.value)
    assert f"{case}.onnx" in msg and nodes[-1].op_type in msg and words in msg, msg
