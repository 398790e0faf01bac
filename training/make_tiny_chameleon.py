"""Write the random-weight tiny Chameleon checkpoint and the golden outputs for the Java parity tests.

Run from the repository root:  nice /usr/bin/python3 training/make_tiny_chameleon.py
Outputs (byte-for-byte reproducible on the same torch/PIL versions; one torch thread):
  src/test/resources/golden/chameleon/checkpoint/{config.json, model.safetensors, tokenizer.json, tokenizer_config.json,
                                                  preprocessor_config.json, processor_config.json}
  src/test/resources/golden/chameleon/{a.png, b.png, golden.safetensors, golden.json}

The checkpoint follows the schema of facebook/chameleon-7b as transformers writes it (config.json with vq_config and
vocabulary_map, BF16 tensors with HF's names) plus the VQ-GAN decoder of Anole under model.vqmodel.decoder.*.
Deliberate differences from the real one, to make the parity tests sharper:
  - the 64 IMGIMG entries are listed in string order (IMGIMGAZ, IMGIMGBAZ, IMGIMGBBZ, ...), so id != code + 4 (the real
    vocabulary happens to have id = code + 4): the mapping must be read from the names;
  - rope_theta 25000 (real: 10000), so a hard-coded theta fails;
  - channel_multiplier [2, 1] (real: increasing). GroupNorm has 32 groups, so channels are >= 32; this is the
    smallest layout with a 64-channel level (2 channels per group), nin_shortcut both ways (32->64, 64->32), and a
    32-channel middle block (the middle blocks dominate the size).
"""
import json
import os
import sys

import torch
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_bpe  # noqa: E402
import safetensors_io  # noqa: E402
from chameleon_reference import (BOI, EOI, IMAGE_PLACEHOLDER, SEP, ChameleonForConditionalGeneration,  # noqa: E402
                                 build_prompt_ids, code_to_name, load_checkpoint, name_to_code, pixels_to_uint8,
                                 placeholder_prompt, preprocess_from_config, vq_margins)

SEED = int(os.environ.get("CHAMELEON_SEED", "8"))  # exploration only; the committed files use the default
CARD_DIR = "src/test/resources/golden/chameleon/checkpoint"
GOLDEN_DIR = "src/test/resources/golden/chameleon"
N_GREEDY = 8
N_SWIN_ROWS = 8
VOCAB_SIZE = 384
N_CODES = 64

# Special tokens at the ids they have in facebook/chameleon-7b where that is possible (<s> 0, <pad> 1, </s> 2, <unk> 3,
# image tokens from 4); the ones after the image tokens follow in the real order (<eoss> 8196, <racm3:break> 8197, ...,
# <reserved08706> 8710, <image> = <reserved08707> 8711 in the real vocabulary).
HEAD_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
TAIL_SPECIALS = [EOI, BOI, SEP, IMAGE_PLACEHOLDER]

VQ_CONFIG = {
    "model_type": "chameleon_vqgan",
    "embed_dim": 16,
    "num_embeddings": N_CODES,
    "double_latent": False,
    "latent_channels": 24,
    "resolution": 16,
    "in_channels": 3,
    "out_channels": 3,
    "base_channels": 32,
    "channel_multiplier": [2, 1],
    "num_res_blocks": 1,
    "attn_resolutions": [8],
    "dropout": 0.0,
    "attn_type": "vanilla",
    "initializer_range": 0.02,
}
GRID = VQ_CONFIG["resolution"] // 2 ** (len(VQ_CONFIG["channel_multiplier"]) - 1)

PREPROCESSOR_CONFIG = {
    "image_processor_type": "ChameleonImageProcessor",
    "processor_class": "ChameleonProcessor",
    "do_convert_rgb": True,
    "do_resize": True,
    "size": {"shortest_edge": VQ_CONFIG["resolution"]},
    "resample": 1,
    "do_center_crop": True,
    "crop_size": {"height": VQ_CONFIG["resolution"], "width": VQ_CONFIG["resolution"]},
    "do_rescale": True,
    "rescale_factor": 0.0078,
    "do_normalize": True,
    "image_mean": [1.0, 1.0, 1.0],
    "image_std": [1.0, 1.0, 1.0],
}

PROCESSOR_CONFIG = {"processor_class": "ChameleonProcessor", "image_seq_length": GRID * GRID,
                    "image_token": IMAGE_PLACEHOLDER}

PROMPT_TEXTS = ["Here is a red circle:", "and here a green shape:", "Which one is bigger?"]


def training_texts():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "words.txt"), encoding="utf-8") as f:
        words = [w.strip() for w in f if w.strip()]
    return words + [" ".join(words[i:i + 8]) for i in range(0, len(words), 8)] + PROMPT_TEXTS + [
        "What is in this image?", "Describe the picture.", "Is there a circle?", "How many shapes are there?"]


def build_tokenizer():
    names = list(HEAD_SPECIALS)
    names += sorted(code_to_name(c) for c in range(N_CODES))  # string order, see the module docstring
    names += TAIL_SPECIALS
    names += [hf_bpe.B2C[b] for b in range(256)]
    n_merges = VOCAB_SIZE - len(names)
    merges = hf_bpe.train_merges(training_texts(), n_merges)
    for a, b in merges:
        if a + b not in names:
            names.append(a + b)
    assert len(names) == VOCAB_SIZE and len(set(names)) == VOCAB_SIZE
    vocab = {n: i for i, n in enumerate(names)}
    return hf_bpe.Tokenizer(vocab, merges, HEAD_SPECIALS + TAIL_SPECIALS, bos="<s>")


def tokenizer_config(tok):
    return {
        "add_bos_token": True,
        "add_eos_token": False,
        "added_tokens_decoder": {
            str(tok.vocab[a]): {"content": a, "lstrip": False, "normalized": False, "rstrip": False,
                                "single_word": False, "special": True}
            for a in sorted(tok.added, key=lambda a: tok.vocab[a])
        },
        "bos_token": "<s>",
        "eos_token": "</s>",
        "pad_token": "<pad>",
        "sep_token": SEP,
        "unk_token": "<unk>",
        "legacy": False,
        "model_max_length": 4096,
        "tokenizer_class": "LlamaTokenizer",
    }


def model_config(tok, vocab_size=VOCAB_SIZE, hidden=64, intermediate=128, layers=2, heads=4, rope_theta=25000.0,
                 torch_dtype="bfloat16", vq_config=None):
    """config.json in the HF Chameleon schema (the defaults are this golden checkpoint's; the demo trainer passes its own)."""
    return {
        "architectures": ["ChameleonForConditionalGeneration"],
        "model_type": "chameleon",
        "vocab_size": vocab_size,
        "hidden_size": hidden,
        "intermediate_size": intermediate,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": heads,
        "hidden_act": "silu",
        "max_position_embeddings": 4096,
        "initializer_range": 0.02,
        "rms_norm_eps": 1e-05,
        "use_cache": True,
        "bos_token_id": tok.vocab["<s>"],
        "eos_token_id": tok.vocab["</s>"],
        "pad_token_id": tok.vocab["<pad>"],
        "tie_word_embeddings": False,
        "rope_theta": rope_theta,
        "rope_scaling": None,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "mlp_bias": False,
        "model_parallel_size": 1,
        "swin_norm": False,
        "image_token_id": tok.vocab[IMAGE_PLACEHOLDER],
        "torch_dtype": torch_dtype,
        "vq_config": VQ_CONFIG if vq_config is None else vq_config,
        "vocabulary_map": {n: i for n, i in sorted(tok.vocab.items(), key=lambda kv: kv[1])},
    }


def init_weights(model, seed):
    """Random BF16 weights with fan-in scaling, so activations stay O(1) and codes and logits are well spread."""
    g = torch.Generator().manual_seed(seed)
    sd = model.state_dict()
    out = {}
    for name in sorted(sd):
        shape = sd[name].shape
        r = torch.randn(shape, generator=g, dtype=torch.float32)
        if name.endswith("quantize.embedding.weight"):
            t = r  # codebook (n, embed_dim): same scale as the latents
        elif name == "model.embed_tokens.weight":
            t = r
        elif ("norm" in name) and name.endswith(".weight"):
            t = 1.0 + 0.1 * r  # RMSNorm, GroupNorm and per-head LayerNorm gains
        elif name.endswith(".bias"):
            t = 0.1 * r
        else:
            fan_in = 1
            for s in shape[1:]:
                fan_in *= s
            t = r / fan_in ** 0.5
            if name.endswith("conv2.weight") or name.endswith("proj_out.weight"):
                t = 0.5 * t  # residual branches
        out[name] = t.to(torch.bfloat16).contiguous()
    model.load_state_dict({k: v.float() for k, v in out.items()}, strict=True)
    return out


def draw_images():
    """a.png: RGB 40x28 (Lanczos down to 22x16, crop x 3..19); b.png: RGBA 12x20 with transparency (over white,
    Lanczos up to 16x26, crop y 5..21). Gradients so the latent vectors, and so the codes, vary."""
    a = Image.new("RGB", (40, 28))
    px = a.load()
    for y in range(28):
        for x in range(40):
            px[x, y] = (60 + 4 * x, 200 - 5 * y, 120 + 3 * ((x + y) % 20))
    d = ImageDraw.Draw(a)
    d.ellipse((12, 4, 28, 20), fill=(230, 30, 30))
    d.rectangle((2, 18, 10, 26), fill=(30, 60, 220))
    d.line((30, 2, 38, 26), fill=(250, 250, 40), width=2)
    b = Image.new("RGBA", (12, 20), (0, 0, 0, 0))
    px = b.load()
    for y in range(20):
        for x in range(12):
            px[x, y] = (20 * x, 12 * y, 200 - 8 * x, min(255, 40 + 12 * y))
    d = ImageDraw.Draw(b)
    d.polygon([(1, 15), (10, 15), (6, 5)], fill=(30, 170, 60, 255))
    d.rectangle((7, 1, 10, 4), fill=(250, 250, 250, 128))
    return {"a.png": a, "b.png": b}


def write_json(path, obj):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def main():
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    os.makedirs(CARD_DIR, exist_ok=True)

    # --- tokenizer and configs
    tok = build_tokenizer()
    cfg = model_config(tok)
    write_json(os.path.join(CARD_DIR, "tokenizer.json"), tok.to_json())
    write_json(os.path.join(CARD_DIR, "tokenizer_config.json"), tokenizer_config(tok))
    write_json(os.path.join(CARD_DIR, "config.json"), cfg)
    write_json(os.path.join(CARD_DIR, "preprocessor_config.json"), PREPROCESSOR_CONFIG)
    write_json(os.path.join(CARD_DIR, "processor_config.json"), PROCESSOR_CONFIG)

    # --- weights (BF16 on disk; everything below runs on the reloaded checkpoint, as the Java side does)
    weights = init_weights(ChameleonForConditionalGeneration(cfg), SEED)
    safetensors_io.save(os.path.join(CARD_DIR, "model.safetensors"), weights)
    model, cfg = load_checkpoint(CARD_DIR)
    tok = hf_bpe.Tokenizer.load(os.path.join(CARD_DIR, "tokenizer.json"))
    n_params = sum(t.numel() for t in weights.values())
    n_vq = sum(t.numel() for k, t in weights.items() if k.startswith("model.vqmodel."))

    # --- images -> pixel values -> codes -> image token ids
    names = ["a.png", "b.png"]
    for name, img in draw_images().items():
        img.save(os.path.join(GOLDEN_DIR, name), format="PNG")
    pix = []
    for name in names:
        with Image.open(os.path.join(GOLDEN_DIR, name)) as im:
            pix.append(preprocess_from_config(im, PREPROCESSOR_CONFIG))
    pixel_values = torch.stack(pix)  # (2, 3, R, R)
    vq = model.model.vqmodel
    with torch.no_grad():
        codes = vq.encode(pixel_values)  # (2, GRID*GRID)
        codes_one_by_one = torch.cat([vq.encode(pixel_values[i:i + 1]) for i in range(2)])
        margins = vq_margins(vq, pixel_values)
    image_ids = model.mapping.codes_to_ids(codes)
    assert torch.equal(codes, codes_one_by_one)
    assert torch.equal(model.mapping.ids_to_codes(image_ids), codes)

    # --- prompt: <s> text <racm3:break> image a <eoss> text <racm3:break> image b <eoss> text <reserved08706>
    parts = [PROMPT_TEXTS[0], codes[0], PROMPT_TEXTS[1], codes[1], PROMPT_TEXTS[2]]
    ids = build_prompt_ids(parts, tok, model.mapping, chat=True)
    prompt_str = placeholder_prompt(parts, GRID * GRID, chat=True)
    placeholder_ids = tok.encode(prompt_str)
    image_token_id = cfg["image_token_id"]
    assert len(placeholder_ids) == len(ids)
    assert all(p == i or (p == image_token_id and i in model.mapping.bpe2img) for p, i in zip(placeholder_ids, ids))
    input_ids = torch.tensor([ids], dtype=torch.int64)
    S = input_ids.shape[1]

    with torch.no_grad():
        greedy, decode_logits, prefill = model.greedy(input_ids, N_GREEDY)
        # full non-cached recompute of prompt + generated tokens
        full = model(torch.cat([input_ids, greedy[None, :N_GREEDY - 1]], dim=1))[0]
        cached_vs_full = float((full[S - 1:] - decode_logits).abs().max())
        prefill_vs_full = float((full[:S] - prefill).abs().max())
        model.set_swin_norm(True)
        swin = model(input_ids)[0][-N_SWIN_ROWS:]
        model.set_swin_norm(False)

        # VQ-GAN decoder: a grid holding every code once, in a fixed random order
        decode_codes = torch.randperm(N_CODES, generator=torch.Generator().manual_seed(SEED + 1))[None]
        decoded = vq.decode(decode_codes)  # (1, 3, R, R)
    decoded_u8 = pixels_to_uint8(decoded[0])

    masked = model.text_logits(decode_logits)
    top2 = torch.topk(masked, 2, dim=-1).values
    min_gap = float((top2[:, 0] - top2[:, 1]).min())
    min_margin = float(margins.min())
    scaled = ((torch.clamp(decoded[0], -1, 1) + 1) / 2 * 255).double()
    inside = scaled[(scaled > 0) & (scaled < 255)]
    frac = inside - inside.floor()
    min_u8_boundary = float(torch.minimum(frac, 1 - frac).min()) if inside.numel() else None
    if min_gap <= 1e-3:
        raise SystemExit(f"greedy top-1/top-2 gap {min_gap} <= 1e-3: change SEED")
    if min_margin <= 1e-2:
        raise SystemExit(f"VQ argmin margin {min_margin} <= 1e-2: codes are fragile, change SEED")
    if cached_vs_full > 1e-4:
        raise SystemExit(f"cached decode differs from full recompute by {cached_vs_full}")
    if any(int(t) in model.mapping.bpe2img for t in greedy):
        raise SystemExit("greedy text decoding produced an image token")

    safetensors_io.save(os.path.join(GOLDEN_DIR, "golden.safetensors"), {
        "pixel_values": pixel_values,
        "image_codes": codes,
        "image_token_ids": image_ids,
        "vq_margins": margins.float(),
        "input_ids": input_ids,
        "prefill_logits": prefill,
        "greedy_tokens": greedy,
        "decode_logits": decode_logits,
        "swin_last_logits": swin,
        "decode_codes": decode_codes,
        "decoded_pixels": decoded,
        "decoded_image_u8": decoded_u8,
    })
    write_json(os.path.join(GOLDEN_DIR, "golden.json"), {
        "checkpoint": CARD_DIR,
        "seed": SEED,
        "images": names,
        "image_sizes_wh": [list(draw_images()[n].size) for n in names],
        "image_modes": [draw_images()[n].mode for n in names],
        "grid": GRID,
        "image_seq_length": GRID * GRID,
        "prompt_parts": [p if isinstance(p, str) else {"image": names[i // 2]} for i, p in enumerate(parts)],
        "prompt_string": prompt_str,
        "S": S,
        "vocab_size": VOCAB_SIZE,
        "n_params": n_params,
        "n_params_vq": n_vq,
        "special_ids": {n: tok.vocab[n] for n in HEAD_SPECIALS + TAIL_SPECIALS},
        "image_code_examples": {code_to_name(c): {"code": c, "id": tok.vocab[code_to_name(c)]} for c in
                                [0, 1, 9, 10, 42, 63]},
        "input_ids": ids,
        "placeholder_input_ids": placeholder_ids,
        "image_codes": codes.tolist(),
        "greedy_tokens": greedy.tolist(),
        "greedy_text": tok.decode(greedy.tolist()),
        "decode_codes": decode_codes[0].tolist(),
        "min_greedy_gap": min_gap,
        "min_vq_margin": min_margin,
        "min_u8_boundary_distance": min_u8_boundary,
        "max_abs_diff_cached_decode_vs_full": cached_vs_full,
        "max_abs_diff_prefill_vs_full": prefill_vs_full,
        "swin_last_rows": N_SWIN_ROWS,
    })

    assert all(name_to_code(code_to_name(c)) == c for c in range(N_CODES))
    print(f"vocab={VOCAB_SIZE} S={S} params={n_params} (vq {n_vq}) grid={GRID}")
    print(f"codes a={codes[0].tolist()}")
    print(f"codes b={codes[1].tolist()}")
    print(f"distinct codes: {len(set(codes.reshape(-1).tolist()))}")
    print(f"input_ids[:20]={ids[:20]}")
    print(f"greedy={greedy.tolist()} {tok.decode(greedy.tolist())!r}")
    print(f"min greedy gap={min_gap:.6f} min vq margin={min_margin:.4f} u8 boundary={min_u8_boundary} "
          f"cached-vs-full={cached_vs_full:.3e} prefill-vs-full={prefill_vs_full:.3e}")
    print(f"decoded pixels: mean {float(decoded.mean()):.3f} std {float(decoded.std()):.3f} "
          f"clamped {float(((decoded < -1) | (decoded > 1)).float().mean()):.2f}")


if __name__ == "__main__":
    main()
