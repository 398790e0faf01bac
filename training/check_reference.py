"""Self-checks for the reference, the BPE and the golden files. Run from the repo root after make_tiny_kimivl.py:
    /usr/bin/python3 training/check_reference.py
"""
import json
import os
import struct
import sys

import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
import safetensors_io  # noqa: E402
from kimivl_reference import (KimiVLForConditionalGeneration, deinterleave, preprocess_image,  # noqa: E402
                              rotate_half, vision_rope_cis)

CARD = "src/test/resources/golden/kimivl/checkpoint"
GOLDEN = "src/test/resources/golden/kimivl"


def check_safetensors():
    path = "/tmp/_check.safetensors"
    t = {"b": torch.randn(3, 5), "a": torch.arange(7, dtype=torch.int64)}
    safetensors_io.save(path, t)
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    assert n % 8 == 0
    assert [k for k in header if k != "__metadata__"] == ["a", "b"]
    assert header["a"]["dtype"] == "I64" and header["b"]["dtype"] == "F32"
    back = safetensors_io.load(path)
    assert all(torch.equal(back[k], t[k]) for k in t)
    os.remove(path)


def check_bpe():
    ranks = bpe.load_tiktoken(os.path.join(CARD, "tiktoken.model"))
    assert all(ranks[bytes([i])] == i for i in range(256))
    assert sorted(ranks.values()) == list(range(len(ranks)))
    for text in ["What color is the circle?", "Hello, WORLD! It's 2024 \u4e2d\u6587 caf\u00e9\n\n  x  ", ""]:
        assert bpe.decode(bpe.encode(text, ranks), ranks) == text
    assert bpe.pretokenize("I'm 12345 HELLO\u4e2d\u6587 x") == ["I'm", " ", "123", "45", " HELLO", "\u4e2d\u6587", " x"]


def check_vision_rope():
    # HF MoonViT Rope2DPosEmb: a (64,64,hd/2) table, (x, y) interleaved per frequency, sliced per image.
    hd, grids = 16, [(4, 8), (8, 6)]
    flat = torch.arange(64 * 64).float()
    x, y = flat % 64, flat // 64
    fr = 1.0 / (10000 ** (torch.arange(0, hd, 4)[: hd // 4].float() / hd))
    xc = torch.polar(torch.ones(len(x), len(fr)), torch.outer(x, fr))
    yc = torch.polar(torch.ones(len(x), len(fr)), torch.outer(y, fr))
    table = torch.cat([xc[..., None], yc[..., None]], -1).reshape(64, 64, -1)
    ref = torch.cat([table[:h, :w].reshape(-1, hd // 2) for h, w in grids])
    assert torch.equal(ref, vision_rope_cis(grids, hd))


def check_text_rope_equivalence():
    # HF: de-interleave then rotate_half. Same scores as rotating interleaved pairs (2i, 2i+1) in place as complex
    # numbers (ORT RotaryEmbedding interleaved=1): q.k is invariant under the common permutation.
    d, theta = 8, 800000.0
    inv = 1.0 / (theta ** (torch.arange(0, d, 2).float() / d))
    pos = torch.arange(5).float()
    f = torch.outer(pos, inv)
    cos, sin = torch.cat([f, f], -1).cos(), torch.cat([f, f], -1).sin()
    q, k = torch.randn(5, d), torch.randn(5, d)
    hf_q = deinterleave(q) * cos + rotate_half(deinterleave(q)) * sin
    hf_k = deinterleave(k) * cos + rotate_half(deinterleave(k)) * sin
    cis = torch.polar(torch.ones_like(f), f)
    il_q = torch.view_as_real(torch.view_as_complex(q.view(5, -1, 2)) * cis).flatten(-2)
    il_k = torch.view_as_real(torch.view_as_complex(k.view(5, -1, 2)) * cis).flatten(-2)
    assert torch.allclose(hf_q @ hf_k.T, il_q @ il_k.T, atol=1e-5)
    assert torch.allclose(deinterleave(il_q), hf_q, atol=1e-6)


def check_preprocess_resize():
    img = Image.new("RGB", (1000, 990), (10, 20, 30))
    pv, (h, w) = preprocess_image(img)
    # 71*70 patches > 4096: s = sqrt(4096/4970), resized to 907x898, padded to 924x924 (padding may exceed the limit)
    assert (h, w) == (66, 66) and pv.shape == (66 * 66, 3, 14, 14)


def check_golden():
    with open(os.path.join(CARD, "config.json")) as f:
        cfg = json.load(f)
    model = KimiVLForConditionalGeneration(cfg).eval()
    model.load_state_dict(safetensors_io.load(os.path.join(CARD, "model.safetensors")), strict=True)
    g = safetensors_io.load(os.path.join(GOLDEN, "golden.safetensors"))
    grids = [tuple(hw) for hw in g["grid_hws"].tolist()]
    pix = []
    for name in ["a.png", "b.png"]:
        with Image.open(os.path.join(GOLDEN, name)) as im:
            pix.append(preprocess_image(im)[0])
    assert torch.equal(torch.cat(pix), g["pixel_values"])
    with torch.no_grad():
        feats = model.image_features(g["pixel_values"], grids)
        n_a = grids[0][0] * grids[0][1]
        sep = torch.cat([model.image_features(g["pixel_values"][:n_a], grids[:1]),
                         model.image_features(g["pixel_values"][n_a:], grids[1:])])
        assert (feats - sep).abs().max() < 1e-5, "images must not attend to each other"
        assert (feats - g["image_features"]).abs().max() < 1e-5
        logits = model(g["input_ids"], g["pixel_values"], grids)[0]
        assert (logits - g["prefill_logits"]).abs().max() < 1e-5
        assert int(logits[-1].argmax()) == int(g["greedy_tokens"][0])


def main():
    torch.manual_seed(0)
    for fn in [check_safetensors, check_bpe, check_vision_rope, check_text_rope_equivalence, check_preprocess_resize,
               check_golden]:
        fn()
        print(f"ok  {fn.__name__}")


if __name__ == "__main__":
    main()
