"""Write the random-weight tiny Kimi-VL checkpoint and the golden outputs for the Java parity tests.

Run from the repository root:  /usr/bin/python3 training/make_tiny_kimivl.py
Outputs (byte-for-byte reproducible on the same torch/PIL versions):
  src/test/resources/golden/kimivl/checkpoint/{config.json, preprocessor_config.json, tokenizer_config.json, tiktoken.model,
                            model.safetensors}  (README.md there is hand-written)
  src/test/resources/golden/kimivl/{a.png, b.png, golden.safetensors, golden.json}
"""
import json
import os
import sys

import torch
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
import safetensors_io  # noqa: E402
from kimivl_reference import DeepseekV3MoE, KimiVLForConditionalGeneration, preprocess_image  # noqa: E402

SEED = 5
V = 512  # base BPE vocabulary: 256 bytes + 256 merges
N_SPECIAL = 256
CARD_DIR = "src/test/resources/golden/kimivl/checkpoint"
GOLDEN_DIR = "src/test/resources/golden/kimivl"
N_GREEDY = 8

SPECIAL_NAMES = {0: "[BOS]", 1: "[EOS]", 2: "<|im_end|>", 3: "<|im_user|>", 4: "<|im_assistant|>", 10: "<|im_system|>",
                 17: "<|im_middle|>", 18: "<|media_start|>", 19: "<|media_content|>", 20: "<|media_end|>",
                 21: "<|media_pad|>"}


def special_tokens(v=V):
    """name -> id for all 256 special tokens v..v+255 (Kimi's offsets; the rest are reserved)."""
    return {SPECIAL_NAMES.get(k, f"<|reserved_token_{v + k}|>"): v + k for k in range(N_SPECIAL)}


def tokenizer_config(v=V):
    """tokenizer_config.json of a tiktoken checkpoint with base vocabulary v, as the Java tokenizer reads it."""
    return {
        "added_tokens_decoder": {
            str(i): {"content": name, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False,
                     "special": True}
            for name, i in sorted(special_tokens(v).items(), key=lambda kv: kv[1])
        },
        "bos_token": "[BOS]",
        "eos_token": "[EOS]",
        "model_max_length": 8192,
        "tokenizer_class": "TikTokenTokenizer",
    }


SPECIAL = special_tokens()

PREPROCESSOR_CONFIG = {
    "image_processor_type": "KimiVLImageProcessor",
    "patch_size": 14,
    "pad_input": True,
    "image_mean": [0.5, 0.5, 0.5],
    "image_std": [0.5, 0.5, 0.5],
    "in_token_limit": 4096,
    "merge_kernel_size": [2, 2],
}

CONFIG = {
    "architectures": ["KimiVLForConditionalGeneration"],
    "model_type": "kimi_vl",
    "media_placeholder_token_id": SPECIAL["<|media_pad|>"],
    "ignore_index": -100,
    "pad_token_id": 0,
    "vision_config": {
        "model_type": "moonvit",
        "patch_size": 14,
        "init_pos_emb_height": 64,
        "init_pos_emb_width": 64,
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "hidden_size": 64,
        "intermediate_size": 128,
        "merge_kernel_size": [2, 2],
    },
    "text_config": {
        "model_type": "deepseek_v3",
        "vocab_size": V + N_SPECIAL,
        "hidden_size": 64,
        "intermediate_size": 128,
        "moe_intermediate_size": 32,
        "num_hidden_layers": 3,
        "num_attention_heads": 4,
        "num_key_value_heads": 4,
        "n_shared_experts": 1,
        "n_routed_experts": 8,
        "num_experts_per_tok": 2,
        "routed_scaling_factor": 2.446,
        "kv_lora_rank": 32,
        "q_lora_rank": None,
        "qk_rope_head_dim": 8,
        "v_head_dim": 16,
        "qk_nope_head_dim": 16,
        "topk_method": "noaux_tc",
        "n_group": 1,
        "topk_group": 1,
        "moe_layer_freq": 1,
        "first_k_dense_replace": 1,
        "norm_topk_prob": True,
        "scoring_func": "sigmoid",
        "hidden_act": "silu",
        "max_position_embeddings": 8192,
        "rms_norm_eps": 1e-05,
        "rope_theta": 800000.0,
        "rope_scaling": None,
        "tie_word_embeddings": False,
        "attention_bias": False,
        "bos_token_id": SPECIAL["[BOS]"],
        "eos_token_id": SPECIAL["[EOS]"],
    },
}

SHAPES = ["circle", "square", "triangle"]
COLORS = ["red", "green", "blue", "yellow", "purple", "orange", "black"]


def bpe_training_texts():
    """words.txt lines, the chat-template words and ShapesWorld questions/answers, in a fixed order."""
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "words.txt"), encoding="utf-8") as f:
        words = [w.strip() for w in f if w.strip()]
    texts = list(words)
    texts += ["system", "user", "assistant", "image", "You are a helpful assistant",
              "What color is the circle?", "Describe the image."]
    for s in SHAPES:
        texts += [f"What color is the {s}?", f"How many {s}s are there?"]
    for c in COLORS:
        texts += [f"What shape is the {c} object?"] + [f"a {c} {s}" for s in SHAPES]
    texts += ["How many shapes are there?", "What is the leftmost shape?", "What does the text say?",
              "Read the text in the image.", "Caption this image.", "no text", "0", "1", "2", "3", "4",
              'a red circle, an orange square and a yellow triangle with the word "garden".']
    return texts


def render_prompt(messages, grid_hws, ranks):
    """Kimi-VL chat template -> token ids. Text pieces are BPE-encoded separately; special tokens inserted by id."""
    ids = []

    def text(s):
        ids.extend(bpe.encode(s, ranks))

    def sp(name):
        ids.append(SPECIAL[name])

    role_tok = {"user": "<|im_user|>", "assistant": "<|im_assistant|>", "system": "<|im_system|>"}
    if not any(m["role"] == "system" for m in messages):
        sp("<|im_system|>"); text("system"); sp("<|im_middle|>"); text("You are a helpful assistant"); sp("<|im_end|>")
    images = iter(grid_hws)
    for m in messages:
        sp(role_tok[m["role"]]); text(m["role"]); sp("<|im_middle|>")
        content = m["content"] if isinstance(m["content"], list) else [{"type": "text", "text": m["content"]}]
        pending = ""
        for part in content:
            if part["type"] == "text":
                pending += part["text"]
                continue
            if pending:
                text(pending)
                pending = ""
            h, w = next(images)
            sp("<|media_start|>"); text("image"); sp("<|media_content|>")
            ids.extend([SPECIAL["<|media_pad|>"]] * (h * w // 4))
            sp("<|media_end|>")
        if pending:
            text(pending)
        sp("<|im_end|>")
    sp("<|im_assistant|>"); text("assistant"); sp("<|im_middle|>")
    return ids


def init_weights(model, seed):
    g = torch.Generator().manual_seed(seed)
    sd = model.state_dict()
    out = {}
    for name in sorted(sd):
        shape = sd[name].shape
        r = torch.randn(shape, generator=g, dtype=torch.float32)
        if name.endswith("pos_emb.weight"):
            t = 0.5 * r
        elif name.endswith("e_score_correction_bias") or name.endswith(".bias"):
            t = 0.1 * r
        elif "norm" in name and name.endswith(".weight") and len(shape) == 1:
            t = 1.0 + 0.1 * r
        else:
            t = 0.1 * r
        out[name] = t.contiguous()
    model.load_state_dict(out, strict=True)
    return out


def draw_images():
    a = Image.new("RGB", (100, 50), (200, 230, 180))
    d = ImageDraw.Draw(a)
    d.ellipse((6, 8, 38, 40), fill=(220, 30, 30))
    d.rectangle((50, 12, 74, 36), fill=(40, 70, 220))
    d.polygon([(80, 44), (97, 44), (88, 20)], fill=(240, 200, 20))
    b = Image.new("RGB", (70, 98), (180, 200, 240))
    d = ImageDraw.Draw(b)
    d.polygon([(8, 40), (50, 40), (29, 6)], fill=(30, 160, 60))
    d.ellipse((30, 52, 64, 86), fill=(140, 50, 170))
    d.rectangle((4, 70, 22, 92), fill=(20, 20, 20))
    return {"a.png": a, "b.png": b}


def min_router_margin(records, k):
    m = float("inf")
    for c in records:
        top = torch.topk(c, k + 1, dim=-1).values
        m = min(m, float((top[:, k - 1] - top[:, k]).min()))
    return m


def main():
    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(SEED)
    os.makedirs(CARD_DIR, exist_ok=True)
    os.makedirs(GOLDEN_DIR, exist_ok=True)

    # --- tokenizer
    ranks = bpe.train(bpe_training_texts(), V)
    bpe.save_tiktoken(os.path.join(CARD_DIR, "tiktoken.model"), ranks)
    tok_cfg = tokenizer_config()
    write_json(os.path.join(CARD_DIR, "tokenizer_config.json"), tok_cfg)
    write_json(os.path.join(CARD_DIR, "config.json"), CONFIG)
    write_json(os.path.join(CARD_DIR, "preprocessor_config.json"), PREPROCESSOR_CONFIG)

    # --- weights
    model = KimiVLForConditionalGeneration(CONFIG).eval()
    weights = init_weights(model, SEED)
    safetensors_io.save(os.path.join(CARD_DIR, "model.safetensors"), weights)
    n_params = sum(t.numel() for t in weights.values())

    # --- images and preprocessing (from the PNG files as written, like the Java side reads them)
    names = ["a.png", "b.png"]
    for name, img in draw_images().items():
        img.save(os.path.join(GOLDEN_DIR, name), format="PNG")
    pix, grids = [], []
    for name in names:
        with Image.open(os.path.join(GOLDEN_DIR, name)) as im:
            p, hw = preprocess_image(im, PREPROCESSOR_CONFIG["patch_size"], tuple(PREPROCESSOR_CONFIG["merge_kernel_size"]),
                                     PREPROCESSOR_CONFIG["in_token_limit"], PREPROCESSOR_CONFIG["image_mean"],
                                     PREPROCESSOR_CONFIG["image_std"])
        pix.append(p)
        grids.append(hw)
    pixel_values = torch.cat(pix, dim=0)
    grid_hws = torch.tensor(grids, dtype=torch.int64)
    L = pixel_values.shape[0]

    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "image"},
                                             {"type": "text", "text": "What color is the circle?"}]}]
    ids = render_prompt(messages, grids, ranks)
    input_ids = torch.tensor([ids], dtype=torch.int64)
    S = input_ids.shape[1]

    records = []
    for layer in model.language_model.model.layers:
        if isinstance(layer.mlp, DeepseekV3MoE):
            layer.mlp.record = records

    with torch.no_grad():
        feats = model.image_features(pixel_values, grids)
        caches = model.new_cache()
        prefill = model(input_ids, pixel_values, grids, caches=caches, start_pos=0)[0]  # (S, vocab)
        tokens, step_logits = [], []
        logits = prefill[-1]
        for step in range(N_GREEDY):
            step_logits.append(logits)
            nxt = int(torch.argmax(logits))
            tokens.append(nxt)
            if step + 1 < N_GREEDY:
                logits = model.decode(torch.tensor([[nxt]]), caches, S + step)[0, -1]
        decode_logits = torch.stack(step_logits)
        greedy = torch.tensor(tokens, dtype=torch.int64)

        # sanity: full non-cached recompute of prompt + generated tokens (generated tokens are never merged)
        emb = torch.cat([model.merge_embeddings(input_ids, feats),
                         model.language_model.model.embed_tokens(greedy[None, :N_GREEDY - 1])], dim=1)
        full = model.language_model(emb, torch.arange(emb.shape[1]))[0]
        cached_vs_full = float((full[S - 1:] - decode_logits).abs().max())
        prefill_vs_full = float((full[:S] - prefill).abs().max())

    top2 = torch.topk(decode_logits, 2, dim=-1).values
    gaps = top2[:, 0] - top2[:, 1]
    min_gap = float(gaps.min())
    router_margin = min_router_margin(records, CONFIG["text_config"]["num_experts_per_tok"])
    if min_gap <= 1e-3:
        raise SystemExit(f"greedy top-1/top-2 gap {min_gap} <= 1e-3: change SEED")
    if router_margin <= 1e-4:
        raise SystemExit(f"router top-k margin {router_margin} <= 1e-4: expert choice is fragile, change SEED")
    if cached_vs_full > 1e-4:
        raise SystemExit(f"cached decode differs from full recompute by {cached_vs_full}")

    safetensors_io.save(os.path.join(GOLDEN_DIR, "golden.safetensors"), {
        "pixel_values": pixel_values,
        "grid_hws": grid_hws,
        "image_features": feats,
        "input_ids": input_ids,
        "prefill_logits": prefill,
        "greedy_tokens": greedy,
        "decode_logits": decode_logits,
    })
    write_json(os.path.join(GOLDEN_DIR, "golden.json"), {
        "checkpoint": CARD_DIR,
        "seed": SEED,
        "messages": messages,
        "images": names,
        "image_sizes_wh": [list(draw_images()[n].size) for n in names],
        "grid_hws": grids,
        "S": S,
        "L": L,
        "vocab_size": CONFIG["text_config"]["vocab_size"],
        "n_params": n_params,
        "input_ids": ids,
        "greedy_tokens": tokens,
        "min_greedy_gap": min_gap,
        "min_router_margin": router_margin,
        "max_abs_diff_cached_decode_vs_full": cached_vs_full,
        "max_abs_diff_prefill_vs_full": prefill_vs_full,
    })

    print(f"V={V} vocab={V + N_SPECIAL} S={S} L={L} grids={grids} params={n_params}")
    print(f"input_ids[:30]={ids[:30]}")
    print(f"greedy={tokens}")
    print(f"min greedy gap={min_gap:.6f} min router margin={router_margin:.3e} "
          f"cached-vs-full={cached_vs_full:.3e} prefill-vs-full={prefill_vs_full:.3e}")


def write_json(path, obj):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
