"""accelsim generate and the stdlib PNG writer."""
import struct
import zlib

import numpy as np
import pytest

from accelsim import imageio
from accelsim.cli import main


def read_png(path):
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n = struct.unpack(">I", data[pos:pos + 4])[0]
        tag, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        assert struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0] == zlib.crc32(tag + body) & 0xFFFFFFFF
        if tag == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif tag == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, _, ctype, *_ = ihdr
    c = 1 if ctype == 0 else 3
    raw = zlib.decompress(idat)
    rows = [raw[y * (w * c + 1) + 1:(y + 1) * (w * c + 1)] for y in range(h)]
    return np.frombuffer(b"".join(rows), np.uint8).reshape(h, w, c)


def test_png_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (5, 7, 3)).astype(np.uint8)
    imageio.write_png(str(tmp_path / "a.png"), img)
    np.testing.assert_array_equal(read_png(str(tmp_path / "a.png")), img)
    g = imageio.grid(imageio.to_uint8(rng.uniform(-1, 1, (5, 1, 4, 4))), pad=1)
    assert g.shape == (11, 16, 1)
    with pytest.raises(ValueError):
        imageio.write_png(str(tmp_path / "b.png"), img.astype(np.float32))


def test_generate_writes_grid_and_reports_psnr(tmp_path, capsys):
    pytest.importorskip("accelsim.models.registry")
    from accelsim.models import registry
    if "dcgan-digits" not in registry.available():
        pytest.skip("dcgan-digits weights not shipped")
    out = tmp_path / "g.png"
    assert main(["generate", "--format", "int8", "--n", "4", "--scale", "1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    psnr = float(text.split("PSNR vs float ")[1].split(" dB")[0])
    assert psnr > 35
    assert read_png(str(out)).shape == (2 * 34 + 2, 2 * 34 + 2, 1)


@pytest.mark.parametrize("argv,msg", [
    (["generate", "--format", "int99", "--out", "x.png"], "--format"),
    (["generate", "--model", "nope", "--out", "x.png"], "--model"),
    (["generate", "--n", "0", "--out", "x.png"], "--n"),
    (["generate", "--out", "/nonexistent-dir/x.png", "--n", "1"], "cannot write"),
])
def test_generate_bad_arguments(argv, msg, capsys):
    assert main(argv) == 2
    assert msg in capsys.readouterr().err
