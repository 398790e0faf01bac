"""Export a tiny-chameleon LM run (train_tiny_chameleon.py --stage lm) into an HF-schema checkpoint folder, verify it
and evaluate it the way the server runs it.

    /usr/bin/python3 training/export_tiny_chameleon.py --run training/runs/cham-lm --out model-cards/tiny-chameleon
        [--which best|ckpt] [--eval-images 60] [--eval-draws 48] [--threads N]

Writes, in the layout of make_tiny_chameleon.py: config.json (HF Chameleon schema: vq_config, vocabulary_map,
image_token_id), model.safetensors (F32, every tensor under its HF name, the VQ encoder, quantizer, quant_conv,
post_quant_conv and the Anole-style decoder model.vqmodel.decoder.* included), tokenizer.json, tokenizer_config.json,
preprocessor_config.json (squash to 64 x 64, no center crop) and processor_config.json (image_seq_length = codes per
image). Nothing else goes into the folder.

Checks (exit status 1 when one fails): the folder reloads with chameleon_reference.load_checkpoint; pixel values from
preprocess_from_config(the written preprocessor_config.json) equal the trainer's; codes, logits of an understanding and
a drawing prompt and the decoded pixels equal the training model's; tokenizer.json reloads and encodes like the
trainer's tokenizer; the weights are at most 25 MiB.

Evaluation of the reloaded folder, written to <run>/export_eval.json and <run>/export_draws.png (not into the card):
- understanding: every question of --eval-images EVAL_SEED images (two thirds drawn by the spec, one third at the
  extreme sizes 448x56, 56x448, ...), greedy decoding with image ids masked, stop at </s>, exact match per task;
- drawing: --eval-draws prompts "Draw ...", greedy (argmax over image ids after a forced <racm3:break>), decoded,
  scored by the proxy checker of train_tiny_chameleon (nearest-colour segmentation + fill ratio; the real score is the
  Java OpenCV checker's).
"""
import argparse
import json
import os
import random
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hf_bpe  # noqa: E402
import safetensors_io  # noqa: E402
import shapesworld as sw  # noqa: E402
import train_tiny_chameleon as T  # noqa: E402
from chameleon_reference import (ChameleonForConditionalGeneration, build_prompt_ids, load_checkpoint,  # noqa: E402
                                 preprocess_from_config)

MAX_BYTES = 25 * 1024 * 1024


def answer(model, e, prompt_ids, max_tokens=48):
    """Greedy text decoding as the server does: image ids masked, stop at </s>."""
    caches = model.new_cache()
    with torch.no_grad():
        logits = model(torch.tensor([prompt_ids]), caches, 0)[0, -1]
        out = []
        for t in range(max_tokens):
            nxt = int(torch.argmax(model.text_logits(logits)))
            if nxt == e.eos:
                break
            out.append(nxt)
            logits = model(torch.tensor([[nxt]]), caches, len(prompt_ids) + t)[0, -1]
    return e.tok.decode(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--which", choices=["best", "ckpt"], default="best")
    ap.add_argument("--eval-images", type=int, default=60)
    ap.add_argument("--eval-draws", type=int, default=48)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("TRAIN_THREADS", os.cpu_count())))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    with open(os.path.join(a.run, "config.json")) as f:
        cfg = json.load(f)
    T.set_resolution(cfg["vq_config"]["resolution"])   # the trainer's pixels and drawing canvas at the run's size
    tok = hf_bpe.Tokenizer.load(os.path.join(a.run, "tokenizer.json"))
    ck = torch.load(os.path.join(a.run, f"{a.which}.pt"))
    model = ChameleonForConditionalGeneration(cfg, with_vq_decoder=True).eval()
    model.load_state_dict(ck["model"])
    print(f"{a.which}.pt: step {ck['step']}, {ck['wall'] / 60:.1f} min" + (f", val score {ck['eval']['score']}"
                                                                            if "eval" in ck else ""), flush=True)

    # --- write
    os.makedirs(a.out, exist_ok=True)
    T.write_card_files(a.out, tok, cfg)
    sd = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    st_path = os.path.join(a.out, "model.safetensors")
    safetensors_io.save(st_path, sd)
    size = os.path.getsize(st_path)
    n_params = sum(v.numel() for v in sd.values())
    n_vq = sum(v.numel() for k, v in sd.items() if k.startswith("model.vqmodel."))
    n_vq_dec = sum(v.numel() for k, v in sd.items() if k.startswith("model.vqmodel.decoder."))
    print(f"wrote {a.out}: {n_params:,} parameters (VQ {n_vq:,}, of which decoder {n_vq_dec:,}), "
          f"model.safetensors {size / 1e6:.2f} MB (F32)", flush=True)

    # --- verify
    ok = True

    def check(cond, what):
        nonlocal ok
        print(("ok   " if cond else "FAIL ") + what, flush=True)
        ok = ok and bool(cond)

    check(size <= MAX_BYTES, f"size {size:,} <= {MAX_BYTES:,} bytes")
    ref, rcfg = load_checkpoint(a.out)
    check(any(k.startswith("model.vqmodel.decoder.") for k in ref.state_dict()), "VQ decoder present")
    with open(os.path.join(a.out, "preprocessor_config.json")) as f:
        pp = json.load(f)
    with open(os.path.join(a.out, "processor_config.json")) as f:
        proc = json.load(f)
    rtok = hf_bpe.Tokenizer.load(os.path.join(a.out, "tokenizer.json"))
    e = T.Enc(rtok)
    grid = ref.model.vqmodel.grid
    check(proc["image_seq_length"] == grid * grid, f"image_seq_length {proc['image_seq_length']} = {grid}x{grid}")
    scenes = [sw.scene(T.EVAL_SEED, 900_000 + i, size=s) for i, s in enumerate([None, (448, 56), (56, 448), None])]
    scenes.append(T.drawing_scene(T.EVAL_SEED, 900_000)[0])
    img_rgba = scenes[0]["image"].convert("RGBA")
    img_rgba.putalpha(180)  # transparency: blended over white
    px_train = torch.stack([T.pixels(sc["image"]) for sc in scenes] + [T.pixels(img_rgba)])
    px_card = torch.stack([preprocess_from_config(sc["image"], pp) for sc in scenes] + [preprocess_from_config(img_rgba,
                                                                                                              pp)])
    check(torch.equal(px_train, px_card), "pixel values: card preprocessor == trainer")
    with torch.no_grad():
        c_train = model.model.vqmodel.encode(px_train)
        c_card = ref.model.vqmodel.encode(px_card)
        check(torch.equal(c_train, c_card), f"codes equal ({c_card.shape[1]} per image)")
        ids = build_prompt_ids([c_card[1], "How many shapes are there?"], rtok, ref.mapping)
        ids_train = T.Enc(tok).und_prefix(model.mapping.codes_to_ids(c_train[1]).tolist()) + T.Enc(tok).question(
            "How many shapes are there?")
        check(ids == ids_train, "understanding prompt ids: build_prompt_ids == trainer")
        d_ids = build_prompt_ids(["Draw a red circle and a blue square."], rtok, ref.mapping)
        check(d_ids == T.Enc(tok).gen_prompt("Draw a red circle and a blue square."),
              "drawing prompt ids: build_prompt_ids == trainer")
        for name, seq in (("understanding", ids), ("drawing", d_ids + [e.boi] +
                                                   ref.mapping.codes_to_ids(c_card[4]).tolist())):
            la, lb = model(torch.tensor([seq]))[0], ref(torch.tensor([seq]))[0]
            check(float((la - lb).abs().max()) == 0.0, f"{name} logits equal ({len(seq)} tokens)")
            b = T.pack([{"ids": seq, "pos": list(range(len(seq))), "br": [0] * len(seq), "lab": [-100] * len(seq),
                         "kind": [-1] * len(seq)}], 0, 1)
            lp = ref.lm_head(T.packed_hidden(ref, b))[0]
            check(float((lp - lb).abs().max()) < 1e-4, f"{name}: trainer's packed forward == reference")
        check(torch.equal(model.model.vqmodel.decode(c_train), ref.model.vqmodel.decode(c_card)),
              "decoded pixels equal")
    check(ref.config["vocabulary_map"] == cfg["vocabulary_map"] and rtok.vocab == tok.vocab, "vocabulary equal")
    specials = {n: rtok.vocab[n] for n in ("<s>", "<pad>", "</s>", "<unk>", "<eoss>", "<racm3:break>",
                                           "<reserved08706>", "<image>")}
    print(f"specials {specials}; image_token_id {rcfg['image_token_id']}; image ids "
          f"{ref.mapping.image_token_ids[0]}..{ref.mapping.image_token_ids[-1]}; vocab {rcfg['vocab_size']}")

    # --- evaluate the reloaded folder
    res = {"step": ck["step"], "which": a.which, "params": n_params, "bytes": size}
    t0 = time.time()
    stats = {}
    n_ext = a.eval_images // 3
    for i in range(a.eval_images):
        if i < a.eval_images - n_ext:
            sc, sl = sw.scene(T.EVAL_SEED, i), "normal"
        else:
            sc, sl = sw.scene(T.EVAL_SEED, 100_000 + i, size=T.EXTREME_SIZES[i % len(T.EXTREME_SIZES)]), "extreme"
        with torch.no_grad():
            codes = ref.model.vqmodel.encode(preprocess_from_config(sc["image"], pp)[None])[0]
        for task, q, ans in sw.questions(sc, random.Random(i)):
            got = answer(ref, e, build_prompt_ids([codes, q], rtok, ref.mapping))
            for s in ("all", sl):
                st = stats.setdefault(s, {}).setdefault(task, [0, 0])
                st[0] += got == ans
                st[1] += 1
    res["understanding"] = {s: {t: {"acc": round(v[0] / v[1], 4), "n": v[1]} for t, v in sorted(d.items())}
                            for s, d in stats.items()}
    res["understanding_s"] = round(time.time() - t0, 1)
    for t in sw.TASKS:
        if t in stats.get("all", {}):
            row = " ".join(f"{s} {stats[s][t][0] / stats[s][t][1] * 100:5.1f}% ({stats[s][t][1]})"
                           for s in ("all", "normal", "extreme") if t in stats.get(s, {}))
            print(f"  {t:10s} {row}")
    t0 = time.time()
    draws, n_ok, rows = [], 0, [[], []]
    for i in range(a.eval_draws):
        sc, text = T.drawing_scene(T.EVAL_SEED, i)
        u8 = T.decode_u8(ref, T.draw(ref, e, text))[0]
        good = T.drawing_ok(u8, sc["shapes"])
        n_ok += good
        draws.append({"prompt": text, "ok": bool(good), "found": [(c, k) for c, k, _ in T.find_shapes(u8)]})
        if i < 24:
            rows[0].append(T.to_u8(T.pixels(sc["image"])))
            rows[1].append(u8)
    if draws:
        T.save_grid(os.path.join(a.run, "export_draws.png"), rows)
        res["draw_ok"] = round(n_ok / len(draws), 4)
        res["draws"] = draws
        res["draw_s"] = round(time.time() - t0, 1)
        print(f"  drawing: {n_ok}/{len(draws)} ok by the proxy checker ({res['draw_s']} s)")
    T.write_json(os.path.join(a.run, "export_eval.json"), res)
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
