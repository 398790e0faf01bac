"""Export the best checkpoint of a training run into model-cards/tiny-kimi-vl/ (real Kimi-VL schema) with its model card.

    /usr/bin/python3 training/export_tiny_kimivl.py --run training/runs/demo [--out model-cards/tiny-kimi-vl] [--no-eval]

Writes config.json, preprocessor_config.json, model.safetensors (F32), tiktoken.model, tokenizer_config.json from
<run>/best.pt (the weights with the best in-training validation score), runs the committed held-out eval set
(eval/questions.jsonl, greedy decoding with the PyTorch reference, as eval_tiny_kimivl.py) and rewrites README.md.
card.json is kept as it is.
"""
import argparse
import json
import os
import shutil
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import safetensors_io  # noqa: E402
import shapesworld as sw  # noqa: E402
from eval_tiny_kimivl import evaluate  # noqa: E402
from kimivl_reference import KimiVLForConditionalGeneration  # noqa: E402

MAX_BYTES = 25 * 1024 * 1024
TARGETS = {"colour": 0.95, "shape": 0.95, "count": 0.90, "count_kind": 0.85, "leftmost": 0.85, "ocr": 0.85,
           "caption": 0.60}


def fmt_acc(res, sl, t):
    v = res.get(sl, {}).get(t)
    return "-" if v is None else f"{v['acc'] * 100:.1f}% ({v['correct']}/{v['n']})"


def readme(cfg, n_params, size_bytes, ck, args, res, log_tail):
    v, t = cfg["vision_config"], cfg["text_config"]
    V = t["vocab_size"] - 256
    rows = "\n".join(f"| {task} | {fmt_acc(res, 'all', task)} | {fmt_acc(res, 'normal', task)} | "
                     f"{fmt_acc(res, 'extreme', task)} | {TARGETS[task] * 100:.0f}% |" for task in sw.TASKS)
    n_q = sum(x["n"] for x in res["all"].values())
    n_img = ck["step"] * args["batch"]
    val = ck["eval"]
    notes = "".join(f"- {n}\n" for n in args.get("notes", []))
    val_rows = " / ".join(f"{k} {val['all'][k] * 100:.1f}%" for k in sw.TASKS if k in val["all"])
    return f"""# tiny-kimi-vl

A tiny vision-language model in the **Kimi-VL architecture**, trained from scratch on **ShapesWorld**
(`docs/shapesworld.md`, generator `training/shapesworld.py`), so that the bundled demo really looks at the pixels: it
names the colours and shapes of simple figures, counts them, finds the leftmost one, reads a printed word and writes a
one-sentence caption. It knows ShapesWorld and nothing else.

## Architecture ({n_params:,} parameters, {size_bytes / 1e6:.1f} MB as F32 safetensors)
Real Kimi-VL tensor names and `config.json` schema (`training/kimivl_reference.py` is the PyTorch reference).
- Vision: MoonViT, patch 14, hidden {v['hidden_size']}, {v['num_hidden_layers']} layers, {v['num_attention_heads']} heads
  (head_dim {v['hidden_size'] // v['num_attention_heads']}), MLP {v['intermediate_size']}, learned
  {v['init_pos_emb_height']}x{v['init_pos_emb_width']} position table (bicubic-resized per image), 2D RoPE, native
  resolution (in_token_limit 4096: a 448x448 image is 1024 patches, never resized), 2x2 patch merge.
- Projector: LayerNorm({v['hidden_size']}) -> Linear({4 * v['hidden_size']}, {4 * v['hidden_size']}) -> GELU ->
  Linear({4 * v['hidden_size']}, {t['hidden_size']}).
- Language model: DeepSeek-V3 (Moonlight), hidden {t['hidden_size']}, {t['num_hidden_layers']} layers (layer 0 dense SwiGLU
  {t['intermediate_size']}, then MoE: {t['n_routed_experts']} routed experts of {t['moe_intermediate_size']}, top-{t['num_experts_per_tok']},
  sigmoid noaux_tc routing, {t['n_shared_experts']} shared expert), MLA attention with {t['num_attention_heads']} heads,
  kv_lora_rank {t['kv_lora_rank']}, qk_nope {t['qk_nope_head_dim']}, qk_rope {t['qk_rope_head_dim']}, v {t['v_head_dim']}.
- Tokenizer: byte-level BPE, {V} base tokens (all 256 bytes kept) trained on ShapesWorld text plus general ASCII, then the
  256 Kimi special tokens at ids {V}..{V + 255} with the real offsets (`[BOS]` {V}, `<|im_end|>` {V + 2},
  `<|media_pad|>` {V + 21}). Vocabulary {t['vocab_size']}.

## Training
- Data: ShapesWorld images generated on the fly (seed {1000 + args['seed']}; {args['extreme_frac'] * 100:.0f}% of the
  images drawn at extreme aspect ratios, one side 56..84 px and the other 336..448 px), every valid question of each
  image, in the server's exact chat template (default system turn, image first, then the question; loss on the answer
  and the closing `<|im_end|>`). All questions of one image share one forward of the image prefix as a tree
  (each question sees the prefix and itself only, i.e. exactly the single-turn prompt).
- {ck['step']} steps of {args['batch']} images (~{n_img:,} images, about 10 questions each), AdamW (lr {args['lr']},
  warmup {args['warmup']}, cosine to 10% over {args['steps']} steps, weight decay {args['wd']}, clip 1.0),
  auxiliary-loss-free MoE balancing; {ck['wall'] / 3600:.2f} h of training wall time on 2 CPU cores (PyTorch 1.13, fp32).
- Dense auxiliary loss (weight {args.get('aux_weight', 0.0)}; training only, not part of the checkpoint): a linear head on every
  projected image token predicts the colour and kind of the shape under its 28x28 cell's centre, whether a shape's
  centre lies in the cell, whether the word covers it and which letters are centred in it. Without it the same model sat at chance for 450 steps (the answers alone say nothing
  about where to look); with it held-out colour accuracy left chance within ~150 steps.
{notes}- Reproduce: `training/README.md` (`train_tiny_kimivl.py`, then `export_tiny_kimivl.py`).
- In-training validation at this checkpoint (teacher-forced exact match = greedy exact match, seed 777777):
  {val_rows}.

## Held-out evaluation (`eval/`, seed 424242, never used in training)
{n_q} questions on {res['n_images']} images; greedy decoding with the PyTorch reference, exact match
of the whole answer (`training/eval_tiny_kimivl.py --card model-cards/tiny-kimi-vl`). "extreme" = 448x56, 56x448,
420x70, 70x420, 392x56 and 56x392 images.

| task | all | normal | extreme | target |
|---|---|---|---|---|
{rows}

## Limitations
- Knows ShapesWorld and nothing else: flat backgrounds, circles / squares / triangles in 7 colours, one lowercase word
  from `training/words.txt`. Any other image or question gets a ShapesWorld-shaped answer or gibberish.
- Answers only the question templates of `docs/shapesworld.md`, one question per conversation, in English.
- Tiny: it makes mistakes (see the table), most often on small shapes, small text and long captions.
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--out", default="model-cards/tiny-kimi-vl")
    ap.add_argument("--no-eval", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(os.cpu_count())
    ck = torch.load(os.path.join(a.run, "best.pt"))
    with open(os.path.join(a.run, "args.json")) as f:
        args = json.load(f)
    cfg = ck["config"]
    model = KimiVLForConditionalGeneration(cfg)
    model.load_state_dict(ck["model"], strict=True)
    weights = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    os.makedirs(a.out, exist_ok=True)
    st = os.path.join(a.out, "model.safetensors")
    safetensors_io.save(st + ".tmp", weights)
    os.replace(st + ".tmp", st)
    size = os.path.getsize(st)
    if size > MAX_BYTES:
        raise SystemExit(f"model.safetensors is {size} bytes > {MAX_BYTES}")
    for name in ("config.json", "preprocessor_config.json", "tiktoken.model", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(a.run, name), os.path.join(a.out, name))
    n_params = sum(t.numel() for t in weights.values())
    print(f"exported step {ck['step']} ({n_params:,} params, {size:,} bytes) to {a.out}")
    if a.no_eval:
        return
    res = evaluate(a.out, os.path.join(a.out, "eval"))
    with open(os.path.join(a.out, "eval", "questions.jsonl")) as f:
        res["n_images"] = len({json.loads(ln)["image"] for ln in f if ln.strip()})
    with open(os.path.join(a.out, "README.md"), "w", encoding="utf-8", newline="\n") as f:
        f.write(readme(cfg, n_params, size, ck, args, res, None))
    with open(os.path.join(a.out, "eval", "results_pytorch.json"), "w") as f:
        json.dump({"step": ck["step"], "wall_s": round(ck["wall"]), **res}, f, indent=2)
        f.write("\n")
    from eval_tiny_kimivl import print_table
    print_table(res)


if __name__ == "__main__":
    main()
