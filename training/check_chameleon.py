"""Self-checks for the Chameleon reference, the tokenizer.json writer and the golden files.
Run from the repo root after make_tiny_chameleon.py:
    nice /usr/bin/python3 training/check_chameleon.py
"""
import json
import os
import sys

import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_bpe  # noqa: E402
import safetensors_io  # noqa: E402
from chameleon_reference import (IMAGE_PLACEHOLDER, ChameleonForConditionalGeneration, VocabularyMapping,  # noqa: E402
                                 blend_rgba_over_white, build_prompt_ids, code_to_name, load_checkpoint,
                                 name_to_code, pixels_to_uint8, placeholder_prompt, preprocess_from_config,
                                 preprocess_image, resized_size, rotate_half)

CARD = "src/test/resources/golden/chameleon/checkpoint"
GOLDEN = "src/test/resources/golden/chameleon"
REPORT = {}


def small_config(swin=False, kv_heads=4):
    """A random config unlike the golden one: GQA, 3 layers, a 3-level VQ-GAN with attention in the decoder only."""
    names = ["<s>", "<pad>", "</s>", "<unk>"] + [code_to_name(c) for c in range(16)] + [
        "<eoss>", "<racm3:break>", "<reserved08706>", IMAGE_PLACEHOLDER] + [f"t{i}" for i in range(40)]
    return {
        "vocab_size": len(names), "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 3,
        "num_attention_heads": 4, "num_key_value_heads": kv_heads, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
        "swin_norm": swin, "vocabulary_map": {n: i for i, n in enumerate(names)},
        "vq_config": {"embed_dim": 8, "num_embeddings": 16, "latent_channels": 8, "resolution": 16, "in_channels": 3,
                      "out_channels": 3, "base_channels": 32, "channel_multiplier": [1, 1, 2], "num_res_blocks": 1,
                      "attn_resolutions": [4], "attn_type": "vanilla"},
    }


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in sorted(model.named_parameters()):
            p.copy_(torch.randn(p.shape, generator=g) * (0.3 if p.dim() > 1 else 0.1) + (1.0 if p.dim() == 1 else 0))


def check_safetensors_bf16():
    path = "/tmp/_check_cham.safetensors"
    t = {"w": torch.randn(3, 5).to(torch.bfloat16), "i": torch.arange(4)}
    safetensors_io.save(path, t)
    back = safetensors_io.load(path)
    assert back["w"].dtype == torch.bfloat16 and torch.equal(back["w"], t["w"]) and torch.equal(back["i"], t["i"])
    os.remove(path)


def check_code_mapping():
    # names <-> codes for the full real codebook size
    for c in range(8192):
        assert name_to_code(code_to_name(c)) == c
    assert code_to_name(0) == "IMGIMGAZ" and code_to_name(8191) == "IMGIMGIBJBZ" and code_to_name(10) == "IMGIMGBAZ"
    # the checkpoint's vocabulary_map: IMGIMG ids decode to 0..n-1, once each; ids <-> codes round trip
    with open(os.path.join(CARD, "config.json")) as f:
        cfg = json.load(f)
    m = VocabularyMapping(cfg["vocabulary_map"])
    n = cfg["vq_config"]["num_embeddings"]
    assert sorted(m.img2bpe) == list(range(n)) and len(m.image_token_ids) == n
    codes = torch.arange(n)
    assert torch.equal(m.ids_to_codes(m.codes_to_ids(codes)), codes)
    ids = torch.tensor(m.image_token_ids)
    assert torch.equal(m.codes_to_ids(m.ids_to_codes(ids)), ids)
    assert sum(1 for c in range(n) if m.img2bpe[c] != c + 4) > n // 2, "tiny vocabulary must not have id = code + 4"
    # the text mask hides exactly the image tokens (not <image>, <racm3:break>, <eoss>)
    mask = m.text_mask(cfg["vocab_size"])
    assert int(mask.sum()) == n and not mask[cfg["image_token_id"]]
    REPORT["mapping"] = f"{n} codes, all round trips exact"


def check_tokenizer():
    tok = hf_bpe.Tokenizer.load(os.path.join(CARD, "tokenizer.json"))
    with open(os.path.join(CARD, "config.json")) as f:
        cfg = json.load(f)
    assert tok.vocab == cfg["vocabulary_map"], "vocabulary_map must be the tokenizer's model vocabulary"
    assert len(tok.vocab) == cfg["vocab_size"]
    for a, b in tok.merges:
        assert a in tok.vocab and b in tok.vocab and a + b in tok.vocab
    for text in ["Which one is bigger?", "Hello, WORLD! It's 2024 \u4e2d\u6587 caf\u00e9\n\n  x  ", "", "  "]:
        ids = tok.encode(text, add_special_tokens=False)
        assert tok.decode(ids) == text, text
    s = "a<racm3:break><image><image><eoss>b<reserved08706>"
    ids = tok.encode(s)
    v = tok.vocab
    assert ids[0] == v["<s>"] and ids[-1] == v["<reserved08706>"]
    assert ids[2:6] == [v["<racm3:break>"], v["<image>"], v["<image>"], v["<eoss>"]]
    assert tok.decode(ids) == "<s>" + s and tok.decode(ids, skip_special_tokens=True) == "ab"
    # the JSON written equals what it reloads to
    assert tok.to_json() == json.load(open(os.path.join(CARD, "tokenizer.json"), encoding="utf-8"))


def check_tokenizer_vs_rust():
    """Only where the `tokenizers` package can be imported (not on Debian; e.g. PYTHONPATH=<an unpacked wheel>):
    the Rust library must give the same ids and texts as hf_bpe for tokenizer.json."""
    try:
        import tokenizers
    except ImportError:
        REPORT["tokenizers_vs_hf_bpe"] = "skipped (no tokenizers package)"
        return
    rt = tokenizers.Tokenizer.from_file(os.path.join(CARD, "tokenizer.json"))
    me = hf_bpe.Tokenizer.load(os.path.join(CARD, "tokenizer.json"))
    with open(os.path.join(GOLDEN, "golden.json")) as f:
        gj = json.load(f)
    assert rt.encode(gj["prompt_string"]).ids == gj["placeholder_input_ids"]
    g = torch.Generator().manual_seed(1)
    words = sorted(me.vocab)[:200] + ["<image>", "<racm3:break>", " ", "\n", "  ", "caf\u00e9", "\U0001f642", "it's",
                                      "42"]
    texts = ["".join(words[int(i)] for i in torch.randint(0, len(words), (n,), generator=g)) for n in range(1, 120)]
    for t in texts + [gj["prompt_string"]]:
        ids = rt.encode(t).ids
        assert ids == me.encode(t), t
        for skip in (False, True):
            assert rt.decode(ids, skip_special_tokens=skip) == me.decode(ids, skip_special_tokens=skip), t
    REPORT["tokenizers_vs_hf_bpe"] = f"tokenizers {tokenizers.__version__}: {len(texts) + 1} texts identical"


def check_against_transformers():
    """Only where transformers imports (not on Debian; transformers 5.17 with PYTHONPATH=<unpacked wheels> works for
    this part even on torch 1.13, which it refuses for models): HF's config class must read config.json, and HF's
    ChameleonProcessor must produce the golden placeholder ids and pixel values bit for bit."""
    try:
        import numpy as np
        from transformers import AutoConfig, ChameleonProcessor
    except ImportError:
        REPORT["transformers_processor"] = "skipped (no transformers package)"
        return
    import transformers
    cfg = AutoConfig.from_pretrained(CARD)
    assert type(cfg).__name__ == "ChameleonConfig" and cfg.vq_config.channel_multiplier == [2, 1]
    assert cfg.image_token_id == cfg.vocabulary_map[IMAGE_PLACEHOLDER]
    with open(os.path.join(GOLDEN, "golden.json")) as f:
        gj = json.load(f)
    g = safetensors_io.load(os.path.join(GOLDEN, "golden.safetensors"))
    parts = gj["prompt_parts"]
    text = "".join(p if isinstance(p, str) else IMAGE_PLACEHOLDER for p in parts)
    images = [Image.open(os.path.join(GOLDEN, n)) for n in gj["images"]]
    out = ChameleonProcessor.from_pretrained(CARD)(text=text, images=images, return_tensors="np")
    assert out["input_ids"][0].tolist() == gj["placeholder_input_ids"]
    assert np.array_equal(out["pixel_values"], g["pixel_values"].numpy())
    REPORT["transformers_processor"] = f"transformers {transformers.__version__}: ids and pixel values identical"


def check_cache_vs_full():
    torch.manual_seed(0)
    worst = 0.0
    for swin, kvh in [(False, 4), (True, 4), (False, 2)]:
        cfg = small_config(swin, kvh)
        model = ChameleonForConditionalGeneration(cfg).eval()
        randomize(model, 3)
        ids = torch.randint(0, cfg["vocab_size"], (1, 11))
        with torch.no_grad():
            full = model(ids)[0]
            caches = model.new_cache()
            a = model(ids[:, :6], caches, 0)[0]          # prefill of 6
            b = model(ids[:, 6:9], caches, 6)[0]         # a chunk of 3
            c = torch.cat([model(ids[:, t:t + 1], caches, t)[0] for t in (9, 10)])  # two single steps
            worst = max(worst, float((torch.cat([a, b, c]) - full).abs().max()))
            assert caches[0]["k"].shape == (1, kvh, 11, cfg["hidden_size"] // 4)
            # greedy(): cached steps equal a full recompute of prompt + generated tokens
            toks, logits, _ = model.greedy(ids[:, :7], 5)
            full2 = model(torch.cat([ids[:, :7], toks[None, :4]], 1))[0][6:]
            worst = max(worst, float((full2 - logits).abs().max()))
            assert not any(int(t) in model.mapping.bpe2img for t in toks)
    assert worst < 1e-5, worst
    REPORT["cache_vs_full_max_abs"] = worst


def check_qk_norm_and_rope():
    cfg = small_config()
    model = ChameleonForConditionalGeneration(cfg).eval()
    randomize(model, 4)
    attn = model.model.layers[0].self_attn
    x = torch.randn(5, attn.h, attn.hd)
    mu, var = x.mean(-1, keepdim=True), x.var(-1, unbiased=False, keepdim=True)
    ref = (x - mu) / torch.sqrt(var + 1e-5) * attn.q_norm.weight + attn.q_norm.bias
    assert torch.allclose(attn.q_norm(x), ref, atol=1e-5)
    # Meta rotates interleaved pairs (2i, 2i+1) as complex numbers; HF's converter permutes the rows of wq/wk per head
    # (view(heads, hd/2, 2, dim).transpose(1, 2)) so that rotate_half applies. Same scores.
    hd, d, S, theta = 8, 16, 6, 10000.0
    wq, wk, xs = torch.randn(hd, d), torch.randn(hd, d), torch.randn(S, d)
    perm = lambda w: w.view(1, hd // 2, 2, d).transpose(1, 2).reshape(hd, d)  # noqa: E731
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2).float() / hd))
    f = torch.outer(torch.arange(S).float(), inv)
    cis = torch.polar(torch.ones_like(f), f)
    meta = lambda w: torch.view_as_real(torch.view_as_complex((xs @ w.t()).view(S, -1, 2)) * cis).flatten(-2)  # noqa
    cos, sin = torch.cat([f, f], -1).cos(), torch.cat([f, f], -1).sin()
    hf = lambda w: (xs @ perm(w).t()) * cos + rotate_half(xs @ perm(w).t()) * sin  # noqa: E731
    assert torch.allclose(meta(wq) @ meta(wk).t(), hf(wq) @ hf(wk).t(), atol=1e-4)


def check_vq_pieces():
    cfg = small_config()
    model = ChameleonForConditionalGeneration(cfg).eval()
    randomize(model, 5)
    vq = model.model.vqmodel
    names = set(model.state_dict())
    # encoder: no attention at res 16 and 8, attention at 4 (level 2); decoder: attention at res 4 (up.2), 2 blocks
    p = "model.vqmodel."
    assert p + "encoder.down.2.attn.0.q.weight" in names and not any(".down.0.attn" in k for k in names)
    assert p + "decoder.up.2.attn.1.proj_out.weight" in names and p + "decoder.up.0.block.1.conv2.weight" in names
    assert p + "encoder.down.1.downsample.conv.weight" in names
    assert p + "encoder.down.2.downsample.conv.weight" not in names
    assert p + "decoder.up.1.upsample.conv.weight" in names and p + "decoder.up.0.upsample.conv.weight" not in names
    assert p + "encoder.down.2.block.0.nin_shortcut.weight" in names
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        ds = vq.encoder.down[0].downsample
        y = ds(x[:, :1].expand(2, 32, 16, 16))
        assert y.shape == (2, 32, 8, 8)
        y2 = F.conv2d(F.pad(x[:, :1].expand(2, 32, 16, 16), (0, 1, 0, 1)), ds.conv.weight, ds.conv.bias, stride=2)
        assert torch.equal(y, y2)
        z = vq.latents(x)
        assert z.shape == (2, 8, 4, 4)
        codes = vq.encode(x)
        zf = z.permute(0, 2, 3, 1).reshape(-1, 8)
        brute = torch.cdist(zf.double(), vq.quantize.embedding.weight.double()).argmin(1).view(2, 16)
        assert torch.equal(codes, brute)
        # lookup is row-major: position (y, x) of image b holds code codes[b, y*4 + x]
        q = vq.quantize.lookup(codes, 4, 4)
        assert torch.equal(q[1, :, 2, 3], vq.quantize.embedding.weight[codes[1, 2 * 4 + 3]])
        assert vq.decode(codes).shape == (2, 3, 16, 16)


def check_preprocess():
    assert resized_size(40, 28, 16, "hf") == (22, 16) and resized_size(40, 28, 16, "meta") == (23, 16)
    assert resized_size(12, 20, 16, "hf") == (16, 26) and resized_size(12, 20, 16, "meta") == (16, 27)
    img = Image.new("RGBA", (2, 1), (200, 100, 0, 0))
    img.putpixel((1, 0), (200, 100, 0, 128))
    out = blend_rgba_over_white(img)
    assert out.getpixel((0, 0)) == (255, 255, 255) and out.getpixel((1, 0)) == (227, 177, 127)
    white = preprocess_image(Image.new("RGB", (5, 5), (255, 255, 255)), 4)
    assert abs(float(white.max()) - (255 * 0.0078 - 1)) < 1e-6
    assert float(preprocess_image(Image.new("RGB", (5, 5), (255, 255, 255)), 4, convention="meta").max()) == 1.0


def check_golden():
    model, cfg = load_checkpoint(CARD)
    tok = hf_bpe.Tokenizer.load(os.path.join(CARD, "tokenizer.json"))
    with open(os.path.join(CARD, "preprocessor_config.json")) as f:
        pp = json.load(f)
    with open(os.path.join(GOLDEN, "golden.json")) as f:
        gj = json.load(f)
    g = safetensors_io.load(os.path.join(GOLDEN, "golden.safetensors"))
    pix = []
    for name in gj["images"]:
        with Image.open(os.path.join(GOLDEN, name)) as im:
            pix.append(preprocess_from_config(im, pp))
    assert torch.equal(torch.stack(pix), g["pixel_values"])
    with torch.no_grad():
        codes = model.image_codes(g["pixel_values"])
        assert torch.equal(codes, g["image_codes"])
        assert torch.equal(model.mapping.codes_to_ids(codes), g["image_token_ids"])
        parts = [p if isinstance(p, str) else codes[i // 2] for i, p in enumerate(gj["prompt_parts"])]
        ids = build_prompt_ids(parts, tok, model.mapping)
        assert ids == gj["input_ids"] == g["input_ids"][0].tolist()
        assert tok.encode(placeholder_prompt(parts, gj["image_seq_length"])) == gj["placeholder_input_ids"]
        toks, logits, prefill = model.greedy(g["input_ids"], len(gj["greedy_tokens"]))
        d_prefill = float((prefill - g["prefill_logits"]).abs().max())
        d_decode = float((logits - g["decode_logits"]).abs().max())
        assert torch.equal(toks, g["greedy_tokens"]) and d_prefill < 1e-5 and d_decode < 1e-5
        model.set_swin_norm(True)
        swin = model(g["input_ids"])[0][-gj["swin_last_rows"]:]
        model.set_swin_norm(False)
        assert float((swin - g["swin_last_logits"]).abs().max()) < 1e-5
        dec = model.model.vqmodel.decode(g["decode_codes"])
        assert float((dec - g["decoded_pixels"]).abs().max()) < 1e-5
        assert torch.equal(pixels_to_uint8(g["decoded_pixels"][0]), g["decoded_image_u8"])
    REPORT["golden_prefill_max_abs"] = d_prefill
    REPORT["golden_decode_max_abs"] = d_decode


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    for fn in [check_safetensors_bf16, check_code_mapping, check_tokenizer, check_tokenizer_vs_rust,
               check_against_transformers, check_cache_vs_full, check_qk_norm_and_rope, check_vq_pieces, check_preprocess, check_golden]:
        fn()
        print(f"ok  {fn.__name__}")
    for k, v in REPORT.items():
        print(f"    {k}: {v}")


if __name__ == "__main__":
    main()
