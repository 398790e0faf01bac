"""Does a tiny-kimi-vl run see the word? Three diagnostics on small word canvases
(train_tiny_kimivl.sample_word_item: 112..336 x 56..140, a word whenever one fits), run on a run's ckpt.pt:

    /usr/bin/python3 training/probe_reading.py letters   --run R        # the auxiliary head's reading of text cells
    /usr/bin/python3 training/probe_reading.py word-head --run R [--unfrozen] [--steps 200] [--lr 3e-3] [--batch 32]
    /usr/bin/python3 training/probe_reading.py spelling  --run R        # a --spell-words run's letters, teacher-forced

letters: on 64 held-out canvases, how often the run's auxiliary head flags the word's cells right and which letters it
names in them (precision / recall of the per-cell letter targets of train_tiny_kimivl.aux_labels).
word-head: trains a fresh word-identity head (train_tiny_kimivl.word_loss: the word's index on every cell it touches) on
the projected image tokens, the encoder frozen (a linear probe: is the word linearly there?) or trained with it
(--unfrozen: can the encoder learn it from these images alone?), and prints held-out cell accuracy every 25 steps.
Chance is 1/381.
spelling: for a run trained with --spell-words, the ocr answers of 48 held-out canvases (those with a word) spelled one
letter token at a time and teacher-forced: letters predicted right, first letters right, whole words right. Is the
decoder copying the letters it sees, and how far along is it?
(The letter-slots experiment that followed, an encoder trained on ordered letters per cell, is now the reading
pre-stage pretrain_reading.py, with its measured curve.)

Measured on run kimi5's final weights (session 6, one thread): letters: text cells 98.1% right, letters precision 0.308
recall 0.008; word-head: chance for 200 frozen steps (lr 3e-3) and 300 unfrozen ones (lr 1e-3), loss at ln 381.
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
import bpe  # noqa: E402
import shapesworld as sw  # noqa: E402
import train_tiny_kimivl as T  # noqa: E402
from kimivl_reference import KimiVLForConditionalGeneration  # noqa: E402

VAL_CANVAS_SEED = 4242    # held-out canvases (train_tiny_kimivl trains on 1000 + --seed)
TRAIN_CANVAS_SEED = 99    # word-head training canvases (training runs draw from seeds 1000 + --seed)


def load(run):
    with open(os.path.join(run, "config.json")) as f:
        cfg = json.load(f)
    ck = torch.load(os.path.join(run, "ckpt.pt"))
    model = KimiVLForConditionalGeneration(cfg)
    model.load_state_dict(ck["model"])
    return cfg, ck, model


def canvases(seed, first, n):
    """n word canvases: (pixel_values, grids, scenes, batch-like dict for the loss helpers)."""
    scenes = [T.sample_word_item(seed, first + i, random.Random(first + i))[0] for i in range(n)]
    pix, grids = T.pixel_batch([sc["image"] for sc in scenes])
    return pix, grids, scenes, {"img_order": list(range(n)), "grids": grids}


def letters(run):
    cfg, ck, model = load(run)
    model.eval()
    head = torch.nn.Linear(cfg["text_config"]["hidden_size"], ck["aux_head"]["weight"].shape[0])
    head.load_state_dict(ck["aux_head"])
    tp = fp = fn = 0
    text_ok = text_n = 0
    with torch.no_grad():
        for i in range(64):
            pix, grids, scenes, _ = canvases(VAL_CANVAS_SEED, i, 1)
            lab = T.aux_labels(scenes[0], grids[0])
            out = head(model.image_features(pix, grids))
            _, _, text, _, lets = out[:, :T.AUX_OUT].split(
                [T.AUX_COLOURS, T.AUX_KINDS, 2, 2, T.AUX_LETTERS], dim=-1)
            text_ok += int((text.argmax(-1) == lab[2]).sum())
            text_n += len(lab[2])
            on = lab[5][:, 0] >= 0
            if bool(on.any()):
                pred, gold = (lets[on] > 0).float(), lab[5][on]
                tp += int((pred * gold).sum())
                fp += int((pred * (1 - gold)).sum())
                fn += int(((1 - pred) * gold).sum())
    print(f"text cells {text_ok / text_n:.3f} right; letters on the word's cells: precision "
          f"{tp / max(1, tp + fp):.3f} recall {tp / max(1, tp + fn):.3f}")


def word_head(run, unfrozen, steps, lr, batch):
    cfg, _, model = load(run)
    head = torch.nn.Linear(cfg["text_config"]["hidden_size"], len(sw.WORDS))
    params = list(head.parameters())
    if unfrozen:
        params += list(model.vision_tower.parameters()) + list(model.multi_modal_projector.parameters())
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    val = canvases(VAL_CANVAS_SEED, 0, 64)
    t0 = time.time()
    for step in range(steps + 1):
        if step % 25 == 0:
            model.eval()
            with torch.no_grad():
                pix, grids, scenes, b = val
                _, right, cells = T.word_loss(head, model.image_features(pix, grids), scenes, b)
            model.train()
            print(json.dumps({"step": step, "val_cell_acc": round(right / max(1, cells), 4), "cells": cells,
                              "s": round(time.time() - t0)}), flush=True)
        if step == steps:
            break
        pix, grids, scenes, b = canvases(TRAIN_CANVAS_SEED, step * batch, batch)
        with torch.set_grad_enabled(unfrozen):
            feats = model.image_features(pix, grids)
        loss, right, cells = T.word_loss(head, feats, scenes, b)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 25 == 0:
            print(json.dumps({"step": step, "loss": round(float(loss), 3),
                              "train_cell_acc": round(right / max(1, cells), 3)}), flush=True)


def spelling(run):
    _, _, model = load(run)
    model.eval()
    tok = T.Tok(bpe.load_tiktoken(os.path.join(run, "tiktoken.model")), spell_words=True)
    items = []
    for i in range(48):
        sc, qas = T.sample_word_item(VAL_CANVAS_SEED, i, random.Random(i))
        qas = [qa for qa in qas if qa[0] == "ocr" and qa[2] != "no text"]
        if qas:
            items.append((sc["image"], qas[:1]))
    b = T.build_batch(items, tok)
    with torch.no_grad():
        _, logits, sel = T.tree_loss(model, b)
    right = (logits.argmax(-1) == b["labels"][sel]).tolist()
    rows, cols = torch.nonzero(sel, as_tuple=True)
    answers = {}   # (row, branch) -> right per answer token (the letters, then <|im_end|>)
    for r, c, ok in zip(rows.tolist(), cols.tolist(), right):
        answers.setdefault((r, int(b["branch"][r, c])), []).append(ok)
    spelled = [v[:-1] for v in answers.values()]   # letters only (the module's letters() is another diagnostic)
    print(f"{len(spelled)} words: letters right {sum(map(sum, spelled))}/{sum(map(len, spelled))}, first letters "
          f"{sum(v[0] for v in spelled)}, whole words (letters and end) {sum(all(v) for v in answers.values())}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["letters", "word-head", "spelling"])
    ap.add_argument("--run", required=True, help="a train_tiny_kimivl.py run folder (its ckpt.pt and config.json)")
    ap.add_argument("--unfrozen", action="store_true")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("TRAIN_THREADS", os.cpu_count())))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.what == "letters":
        letters(a.run)
    elif a.what == "spelling":
        spelling(a.run)
    else:
        word_head(a.run, a.unfrozen, a.steps, a.lr, a.batch)


if __name__ == "__main__":
    main()
