"""Held-out ShapesWorld evaluation of a Kimi-VL checkpoint folder with the PyTorch reference (greedy decoding).

    /usr/bin/python3 training/eval_tiny_kimivl.py --card model-cards/tiny-kimi-vl            # per-task exact match
    /usr/bin/python3 training/eval_tiny_kimivl.py --make-set model-cards/tiny-kimi-vl/eval    # (re)write the eval set
    /usr/bin/python3 training/eval_tiny_kimivl.py --make-aspect-set model-cards/tiny-kimi-vl/eval-aspect  # exact-aspect

The eval set (model-cards/tiny-kimi-vl/eval/: img_NNNN.png + questions.jsonl) comes from EVAL_SEED, which training never
uses: 100 images drawn by the spec plus 36 at extreme aspect ratios (448x56, 56x448, 420x70, 70x420, 392x56, 56x392),
4 questions per image, tasks picked so that every task gets a similar share. The exact-aspect set
(model-cards/tiny-kimi-vl/eval-aspect/, --make-aspect-set) is the issue's own extreme case on its own seed (ASPECT_SEED,
also never trained on): 120 images of exactly 448x56 and 56x448, alternating, 4 questions each. Each line of
questions.jsonl:
{"image": "img_0001.png", "task": "colour", "question": "...", "answer": "...", "slice": "normal"|"extreme"}.

Decoding mirrors the server: the single-turn chat template with the default system turn, the image part first and then
the question, greedy, stop on <|im_end|> or [EOS], at most --max-tokens tokens; exact match of the decoded text.
"""
import argparse
import json
import os
import random
import sys
import time

import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bpe  # noqa: E402
import safetensors_io  # noqa: E402
import shapesworld as sw  # noqa: E402
from kimivl_reference import KimiVLForConditionalGeneration, preprocess_image  # noqa: E402
from train_tiny_kimivl import ASPECT_SEED, EVAL_SEED, Tok  # noqa: E402

EXTREME_SIZES = [(448, 56), (56, 448), (420, 70), (70, 420), (392, 56), (56, 392)]


def make_set(out, n_normal=100, n_extreme=36, per_image=4, seed=EVAL_SEED, extreme_sizes=EXTREME_SIZES):
    os.makedirs(out, exist_ok=True)
    counts = {t: 0 for t in sw.TASKS}
    lines = []
    rng = random.Random(seed)
    for i in range(n_normal + n_extreme):
        if i < n_normal:
            sc, sl = sw.scene(seed, i), "normal"
        else:
            sc, sl = sw.scene(seed, 100_000 + i, size=extreme_sizes[i % len(extreme_sizes)]), "extreme"
        name = f"img_{i + 1:04d}.png"
        sc["image"].save(os.path.join(out, name), optimize=True)
        by_task = {}
        for t, q, a in sw.questions(sc, rng):
            by_task.setdefault(t, []).append((q, a))
        tasks = sorted(by_task, key=lambda t: (counts[t], rng.random()))[:per_image]
        for t in sorted(tasks, key=sw.TASKS.index):
            q, a = rng.choice(by_task[t])
            counts[t] += 1
            lines.append({"image": name, "task": t, "question": q, "answer": a, "slice": sl,
                          "size": [sc["W"], sc["H"]]})
    with open(os.path.join(out, "questions.jsonl"), "w", encoding="utf-8", newline="\n") as f:
        for ln in lines:
            f.write(json.dumps(ln) + "\n")
    print(f"{len(lines)} questions on {n_normal + n_extreme} images: {counts}")


def load_card(card):
    with open(os.path.join(card, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(card, "preprocessor_config.json")) as f:
        pcfg = json.load(f)
    model = KimiVLForConditionalGeneration(cfg).eval()
    model.load_state_dict(safetensors_io.load(os.path.join(card, "model.safetensors")), strict=True)
    tok = Tok(bpe.load_tiktoken(os.path.join(card, "tiktoken.model")))
    with open(os.path.join(card, "tokenizer_config.json")) as f:
        names = {v["content"]: int(k) for k, v in json.load(f)["added_tokens_decoder"].items()}
    assert all(names[k] == v for k, v in tok.sp.items() if not k.startswith("<|reserved"))
    return model, tok, pcfg


def greedy(model, tok, feats, grid, question, max_tokens=64):
    gh, gw = grid
    ids = tok.prompt(gh * gw // 4, question)
    caches = model.new_cache()
    x = torch.tensor([ids])
    emb = model.merge_embeddings(x, feats)
    logits = model.language_model(emb, torch.arange(len(ids)), caches)[0, -1]
    out = []
    stop = {tok.sp["<|im_end|>"], tok.sp["[EOS]"]}
    for step in range(max_tokens):
        nxt = int(torch.argmax(logits))
        if nxt in stop:
            break
        out.append(nxt)
        logits = model.decode(torch.tensor([[nxt]]), caches, len(ids) + step)[0, -1]
    return tok.dec(out)


def evaluate(card, eval_dir, max_tokens=64, limit=0, verbose=False):
    model, tok, pcfg = load_card(card)
    with open(os.path.join(eval_dir, "questions.jsonl")) as f:
        qs = [json.loads(ln) for ln in f if ln.strip()]
    if limit:
        qs = qs[:limit]
    stats = {}
    feats_cache = {}
    t0 = time.time()
    with torch.no_grad():
        for q in qs:
            if q["image"] not in feats_cache:
                feats_cache.clear()
                with Image.open(os.path.join(eval_dir, q["image"])) as im:
                    pv, grid = preprocess_image(im, pcfg["patch_size"], tuple(pcfg["merge_kernel_size"]),
                                                pcfg["in_token_limit"], pcfg["image_mean"], pcfg["image_std"])
                feats_cache[q["image"]] = (model.image_features(pv, [grid]), grid)
            feats, grid = feats_cache[q["image"]]
            got = greedy(model, tok, feats, grid, q["question"], max_tokens)
            ok = got == q["answer"]
            if verbose and not ok:
                print(f"  {q['image']} {q['task']:10s} {q['question']!r}: want {q['answer']!r} got {got!r}")
            for sl in ("all", q.get("slice", "normal")):
                s = stats.setdefault(sl, {}).setdefault(q["task"], [0, 0])
                s[0] += ok
                s[1] += 1
    res = {sl: {t: {"correct": v[0], "n": v[1], "acc": round(v[0] / v[1], 4)} for t, v in d.items()}
           for sl, d in stats.items()}
    res["seconds"] = round(time.time() - t0, 1)
    return res


def print_table(res):
    slices = [s for s in ("all", "normal", "extreme") if s in res]
    print(f"{'task':12s}" + "".join(f"{s:>18s}" for s in slices))
    for t in sw.TASKS:
        row = f"{t:12s}"
        for s in slices:
            v = res[s].get(t)
            row += f"{'-':>18s}" if v is None else f"{v['acc'] * 100:9.1f}% ({v['correct']:3d}/{v['n']:3d})"
        print(row)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--card", help="checkpoint folder (config.json, model.safetensors, tiktoken.model, ...)")
    ap.add_argument("--set", default="model-cards/tiny-kimi-vl/eval")
    ap.add_argument("--make-set", metavar="DIR")
    ap.add_argument("--make-aspect-set", metavar="DIR",
                    help="write the exact-aspect set: 120 images of exactly 448x56 and 56x448 from ASPECT_SEED")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--out", help="write the results as JSON here")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(os.cpu_count())
    if a.make_set:
        make_set(a.make_set)
    if a.make_aspect_set:
        make_set(a.make_aspect_set, n_normal=0, n_extreme=120, seed=ASPECT_SEED, extreme_sizes=[(448, 56), (56, 448)])
    if a.card:
        res = evaluate(a.card, a.set, a.max_tokens, a.limit, a.verbose)
        print_table(res)
        print(f"({res['seconds']} s)")
        if a.out:
            with open(a.out, "w") as f:
                json.dump(res, f, indent=2)
                f.write("\n")


if __name__ == "__main__":
    main()
