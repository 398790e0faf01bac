"""Reading pre-stage for tiny-kimi-vl: teach a trained run's vision encoder to see letters before the whole model is
trained on OCR again.

    /usr/bin/python3 training/pretrain_reading.py --run R --from SRC/ckpt.pt [--steps 1600] [--lr 1e-3] [--batch 32]
    /usr/bin/python3 training/pretrain_reading.py --run R --resume
    then: train_tiny_kimivl.py --run R2 --init-from R/ckpt.pt --slot-weight W ...   (the slot head carries over)

Why: after five runs the encoder named almost no letter of the word (probe_reading.py letters: recall 0.008), so the
decoder had nothing to read. Here the vision tower, the projector and a fresh letter-slot head
(train_tiny_kimivl.slot_loss: per cell of the word's rows, the k-th letter centred in the cell's column, softmax over
26 letters + none) train alone on small word canvases (train_tiny_kimivl.sample_word_item), --batch per step. The
decoder is not touched. So that the image tokens keep saying what the decoder already reads (colours, kinds, where the
shapes are), --keep ordinary ShapesWorld images per step are also scored by the source run's auxiliary head, frozen
(train_tiny_kimivl.aux_loss, weight --keep-weight): features may grow letters but must stay readable by that head.

Measured first as an experiment (session 6, the slot head and encoder alone on kimi5's weights, --lr 1e-3 --batch 32,
no --keep, two threads, 1.5 s per step): letters right in their slot 5% / 12% / 22% / 33% / 49% / 57% / 58% at steps
0 / 200 / 400 / 600 / 800 / 1000 / 1150, still rising; 84% of the word-row slots hold no letter.
Run read1 (session 7, from kimi7's final weights, --steps 1000 cut to 800 at step 300, --lr 1e-3 cosine, --batch 32
--keep 6, 2.0-2.5 s per step, 34 min): 6% / 11% / 16% / 18% / 19% / 18% at steps 0 / 200 / 400 / 600 / 700 / 800,
slower than the experiment (22% at step 400) and flat once the learning rate had decayed; the kept images' auxiliary
loss stayed between 0.25 and 0.48 (0.34 at the start).
Run read2 (session 8, from kimi8's final weights, --steps 20000 so the learning rate stays near 1e-3, cut to 2900 at
step 2000, 113 min): 28% / 43% / 62% / 62% / 70% / 73% / 72% at steps 0 / 900 / 1500 / 2000 / 2100 / 2400 / 2900.
--slot-index names each letter by its place in the word instead (train_tiny_kimivl.slot_labels by_index: slot n holds
the word's n-th letter in the cell its centre falls in), so a decoder spelling the word (--spell-words) can fetch
letter n by content rather than find the word's first cell and walk it; the head is then a new one (8 slots).
Run read3 (sessions 8-9, --slot-index from kimi10's weights, --steps 20000 cut to 1800 at step 1400, 2.1-2.6 s per
step): letters right in their by-index slot 3% / 12% / 24% / 31% / 39% / 41% / 30% / 38% / 44% / 46% / 48% / 46% at
steps 0 / 100 / 400 / 600 / 900 / 1100 / 1200 / 1400 / 1500 / 1600 / 1700 / 1800 (held-out, 64 canvases, noisy at lr
1e-3; 54% on the training canvases at the end): a harder target than read2's, as a cell must know where the word starts.

Run folder: args.json, log.jsonl (train and eval records), ckpt.pt (model = the whole source model with the new
encoder and projector, aux_head = the source's, slot_head, optimiser, step, wall; train_tiny_kimivl.py --init-from
reads it), config.json and tiktoken.model copied from the source. Checkpoints every --ckpt-minutes and after each
eval; the data of step t is a pure function of (seed, t), so --resume continues the same run.
"""
import argparse
import json
import os
import random
import shutil
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import train_tiny_kimivl as T  # noqa: E402
from kimivl_reference import KimiVLForConditionalGeneration  # noqa: E402
from run_io import atomic_save, log, lr_at, write_json  # noqa: E402

VAL_CANVAS_SEED = 4242   # held-out canvases (probe_reading.py's); training draws from 1000 + --seed
ARG_KEYS = ("source", "seed", "steps", "lr", "warmup", "batch", "keep", "keep_weight", "eval_every", "ckpt_minutes",
            "slot_index")


def word_canvases(seed, first, n, rng):
    return [T.sample_word_item(seed, first + i, rng)[0] for i in range(n)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--from", dest="source", help="a train_tiny_kimivl.py run's ckpt.pt (model and auxiliary head)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=1600)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--batch", type=int, default=32, help="word canvases per step")
    ap.add_argument("--keep", type=int, default=6, help="ordinary ShapesWorld images per step for the frozen aux head")
    ap.add_argument("--keep-weight", type=float, default=1.0)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--ckpt-minutes", type=float, default=3.0)
    ap.add_argument("--slot-index", action="store_true",
                    help="name each letter by its place in the word (train_tiny_kimivl.slot_labels by_index)")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("TRAIN_THREADS", os.cpu_count())))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.run, exist_ok=True)
    ckpt_path, args_path = os.path.join(a.run, "ckpt.pt"), os.path.join(a.run, "args.json")
    if a.resume:
        with open(args_path) as f:
            saved = json.load(f)
        for k in ARG_KEYS:
            # slot_index is absent from runs started before it existed
            setattr(a, k, saved.get(k, False) if k == "slot_index" else saved[k])
    else:
        if not a.source:
            ap.error("--from is required for a new run")
        if os.path.exists(ckpt_path):
            raise SystemExit(f"{ckpt_path} exists: use --resume or a new --run")
        write_json(args_path, {k: getattr(a, k) for k in ARG_KEYS})
        for name in ("config.json", "tiktoken.model"):   # the same config and tokenizer as the weights
            shutil.copyfile(os.path.join(os.path.dirname(a.source), name), os.path.join(a.run, name))

    with open(os.path.join(a.run, "config.json")) as f:
        cfg = json.load(f)
    hidden = cfg["text_config"]["hidden_size"]
    src = torch.load(ckpt_path if a.resume else a.source)
    model = KimiVLForConditionalGeneration(cfg)
    model.load_state_dict(src["model"])
    aux_head = torch.nn.Linear(hidden, src["aux_head"]["weight"].shape[0])
    aux_head.load_state_dict(src["aux_head"])
    aux_head.requires_grad_(False)
    torch.manual_seed(a.seed)
    slots = T.slot_count(a.slot_index)
    slot_head = torch.nn.Linear(hidden, slots * (T.NO_LETTER + 1))
    if src.get("slot_head") is not None and src["slot_head"]["weight"].shape == slot_head.weight.shape:
        slot_head.load_state_dict(src["slot_head"])
    model.language_model.requires_grad_(False)   # saved unchanged in ckpt.pt
    params = list(model.vision_tower.parameters()) + list(model.multi_modal_projector.parameters()) \
        + list(slot_head.parameters())
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=0.0)
    step, wall = 0, src.get("wall", 0.0)   # training time so far includes the run it starts from
    if a.resume:
        opt.load_state_dict(src["opt"])
        step = src["step"]
        print(f"resumed at step {step}, wall {wall / 60:.1f} min", flush=True)
    else:
        log(a.run, {"event": "start", **{k: getattr(a, k) for k in ARG_KEYS}})
    del src

    val_scenes = word_canvases(VAL_CANVAS_SEED, 0, 64, random.Random(0))
    val_pix, val_grids = T.pixel_batch([sc["image"] for sc in val_scenes])
    val_lab = T.slot_labels(val_scenes, val_grids, a.slot_index)
    on = val_lab >= 0
    letter = on & (val_lab != T.NO_LETTER)

    def save_ckpt():
        atomic_save({"model": model.state_dict(), "aux_head": aux_head.state_dict(),
                     "slot_head": slot_head.state_dict(), "opt": opt.state_dict(), "step": step, "wall": wall},
                    ckpt_path)

    def run_eval():
        model.eval()
        with torch.no_grad():
            feats = model.image_features(val_pix, val_grids)
            pred = slot_head(feats).view(-1, slots, T.NO_LETTER + 1).argmax(-1)
        model.train()
        right = pred == val_lab
        log(a.run, {"event": "eval", "step": step, "wall_min": round(wall / 60, 2),
                    "slot_acc": round(float(right[on].float().mean()), 4),
                    "letter_slot_acc": round(float(right[letter].float().mean()), 4)})

    train_seed = 1000 + a.seed
    assert train_seed not in T.HELD_OUT_SEEDS
    model.train()
    if step == 0:
        run_eval()
    last_ckpt, t_log, acc = time.time(), time.time(), [0.0, 0.0, 0, 0, 0]   # slot loss, keep loss, right, letters, n
    while step < a.steps:
        t_step = time.time()
        rng = random.Random(train_seed * 100_003 + step)
        words = word_canvases(train_seed, step * a.batch, a.batch, rng)
        kept = [T.sample_item(train_seed, step * a.keep + i, 0.15, rng)[0] for i in range(a.keep)]
        pix, grids = T.pixel_batch([sc["image"] for sc in words + kept])
        feats = model.image_features(pix, grids)   # (cells of all images, hidden), images in order
        order = {"img_order": list(range(len(words) + len(kept))), "grids": grids}
        ls, right, n_letters = T.slot_loss(slot_head, feats, words + kept, order, a.slot_index)
        n_word_cells = sum((gh // 2) * (gw // 2) for gh, gw in grids[:len(words)])
        lk = T.aux_loss(aux_head, feats[n_word_cells:], kept,
                        {"img_order": list(range(len(kept))), "grids": grids[len(words):]}) if kept else ls * 0
        lr = lr_at(step, a.steps, a.lr, a.warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad(set_to_none=True)
        (ls + a.keep_weight * lk).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        wall += time.time() - t_step
        acc = [acc[0] + float(ls), acc[1] + float(lk), acc[2] + right, acc[3] + n_letters, acc[4] + 1]
        if step % 10 == 0:
            log(a.run, {"event": "train", "step": step, "slot_loss": round(acc[0] / acc[4], 4),
                        "keep_loss": round(acc[1] / acc[4], 4), "letter_slot_acc": round(acc[2] / max(1, acc[3]), 4),
                        "lr": round(lr, 6), "s_per_step": round((time.time() - t_log) / acc[4], 2),
                        "wall_min": round(wall / 60, 2)})
            t_log, acc = time.time(), [0.0, 0.0, 0, 0, 0]
        if step % a.eval_every == 0 or step == a.steps:
            run_eval()
            save_ckpt()
            last_ckpt = time.time()
        elif time.time() - last_ckpt > a.ckpt_minutes * 60:
            save_ckpt()
            last_ckpt = time.time()
    print("done", flush=True)


if __name__ == "__main__":
    main()
