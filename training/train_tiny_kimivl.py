"""Train the bundled demo checkpoint tiny-kimi-vl on ShapesWorld (CPU, PyTorch, the real Kimi-VL architecture).

    cd <repo>; mkdir -p training/runs/demo
    nohup /usr/bin/python3 training/train_tiny_kimivl.py --run training/runs/demo > training/runs/demo/stdout.log 2>&1 &
    ... same command plus --resume continues exactly where the last checkpoint left off.

What it does
- Model: kimivl_reference.KimiVLForConditionalGeneration built from a config dict in the real config.json schema
  (MoonViT + 2x2 merge + projector + DeepSeek-V3 MLA decoder, layer 0 dense, then MoE with sigmoid noaux_tc routing
  and a shared expert), so state_dict names equal the real checkpoint's. Presets: --model demo / tiny.
- Tokenizer: byte-level BPE (bpe.py) with V base tokens trained on ShapesWorld text plus general ASCII; the 256 Kimi
  special tokens follow at V+0.. with make_tiny_kimivl.py's names and offsets.
- Prompt: exactly the server's chat template, one question per sample:
    <|im_system|>system<|im_middle|>You are a helpful assistant<|im_end|>
    <|im_user|>user<|im_middle|><|media_start|>image<|media_content|><|media_pad|>*(h*w/4)<|media_end|>{question}<|im_end|>
    <|im_assistant|>assistant<|im_middle|>{answer}<|im_end|>
  Loss on the answer tokens and the closing <|im_end|>.
- Amortising the vision encoder: every question of an image is trained at once as a *tree*: the shared prefix (system
  turn, user header, image) once, then one branch per question. A branch attends to the prefix and to itself only and
  its positions continue from the prefix end, so each branch computes exactly the single-turn prompt the server sends
  (checked against the reference forward by --selftest). All images of a batch are packed into one vision sequence
  (block-diagonal attention per image, as the reference does); text rows are padded with a mask.
- Data: image i of step t is shapesworld.scene(train_seed, t * batch + i); a share of images is drawn at extreme
  aspect ratios (one side 56..84, the other 336..448). Nothing depends on an RNG carried across steps, so --resume
  is exact. The validation seed (VAL_SEED) and the committed eval-set seed (EVAL_SEED) are never used for training.
- Validation: teacher-forced exact match, which equals greedy exact match (greedy reproduces the answer iff the argmax
  is right at every answer position, including the closing <|im_end|>), per task, on a fixed set of VAL_SEED images
  plus an extreme-aspect slice. Logged to <run>/log.jsonl and stdout.
- Optimiser: AdamW (weight decay on matrices only), linear warmup + cosine decay to 10%, grad-norm clip 1.0.
  MoE load balance: DeepSeek-V3's auxiliary-loss-free bias update (e_score_correction_bias += u * sign(mean load - load)).
- Checkpoints: <run>/ckpt.pt (model, optimiser, step, RNG states, wall time) every --ckpt-minutes and after each eval,
  and <run>/best.pt (model weights of the best validation score); both written to a .tmp file and renamed.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bpe  # noqa: E402
import shapesworld as sw  # noqa: E402
from kimivl_reference import (DeepseekV3MoE, KimiVLForConditionalGeneration, deinterleave,  # noqa: E402
                              preprocess_image, rotate_half)
from make_tiny_kimivl import N_SPECIAL, PREPROCESSOR_CONFIG, special_tokens, tokenizer_config  # noqa: E402
from run_io import atomic_save, log, lr_at, parse_task_weights, write_json  # noqa: E402

VAL_SEED = 777_777        # in-training validation images; never trained on
EVAL_SEED = 424_242       # committed eval set (model-cards/tiny-kimi-vl/eval); never trained on
ASPECT_SEED = 535_353     # committed exact-aspect set (model-cards/tiny-kimi-vl/eval-aspect); never trained on
HELD_OUT_SEEDS = {VAL_SEED, EVAL_SEED, ASPECT_SEED}
SYSTEM_PROMPT = "You are a helpful assistant"

GENERAL_ASCII = """The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs!
Hello, world. This is a small model that answers questions about images of shapes and words.
What is in this picture? Please describe it in one sentence. There are 3 apples and 12 oranges; 0 1 2 3 4 5 6 7 8 9.
Yes, no, maybe. I do not know. It's a test: (a) first, (b) second, [c] third, {d} fourth. Email: a@b.c, path /usr/bin.
Numbers like 100, 2024 and 3.14 appear in text, as do symbols # $ % & * + - = < > ? ! ~ ^ | \\ / _ ` ' " ; :"""

MODEL_PRESETS = {
    # vision hidden/heads/layers/mlp, text hidden/layers/heads, dense and expert intermediate, experts, MLA dims
    "demo": dict(v_hidden=128, v_heads=4, v_layers=4, v_mlp=384, t_hidden=160, t_layers=3, t_heads=4, t_inter=384,
                 moe_inter=96, experts=8, topk=2, shared=1, kv_lora=64, nope=32, rope=16, v_head=32, vocab=1024),
    # demo with two more MoE decoder layers (3.3M -> ~4.2M parameters): grown from a demo checkpoint with --init-from,
    # the new layers appended after the trained ones and starting as identity (see grow_from)
    "demo5": dict(v_hidden=128, v_heads=4, v_layers=4, v_mlp=384, t_hidden=160, t_layers=5, t_heads=4, t_inter=384,
                  moe_inter=96, experts=8, topk=2, shared=1, kv_lora=64, nope=32, rope=16, v_head=32, vocab=1024),
    "tiny": dict(v_hidden=32, v_heads=2, v_layers=1, v_mlp=64, t_hidden=48, t_layers=2, t_heads=2, t_inter=64,
                 moe_inter=16, experts=4, topk=2, shared=1, kv_lora=16, nope=8, rope=8, v_head=8, vocab=400),
}


def make_config(p):
    V = p["vocab"]
    special = special_tokens(V)
    return {
        "architectures": ["KimiVLForConditionalGeneration"],
        "model_type": "kimi_vl",
        "media_placeholder_token_id": special["<|media_pad|>"],
        "ignore_index": -100,
        "pad_token_id": 0,
        "vision_config": {
            "model_type": "moonvit", "patch_size": 14, "init_pos_emb_height": 64, "init_pos_emb_width": 64,
            "num_attention_heads": p["v_heads"], "num_hidden_layers": p["v_layers"], "hidden_size": p["v_hidden"],
            "intermediate_size": p["v_mlp"], "merge_kernel_size": [2, 2],
        },
        "text_config": {
            "model_type": "deepseek_v3", "vocab_size": V + N_SPECIAL, "hidden_size": p["t_hidden"],
            "intermediate_size": p["t_inter"], "moe_intermediate_size": p["moe_inter"],
            "num_hidden_layers": p["t_layers"], "num_attention_heads": p["t_heads"],
            "num_key_value_heads": p["t_heads"], "n_shared_experts": p["shared"], "n_routed_experts": p["experts"],
            "num_experts_per_tok": p["topk"], "routed_scaling_factor": 2.446, "kv_lora_rank": p["kv_lora"],
            "q_lora_rank": None, "qk_rope_head_dim": p["rope"], "v_head_dim": p["v_head"],
            "qk_nope_head_dim": p["nope"], "topk_method": "noaux_tc", "n_group": 1, "topk_group": 1,
            "moe_layer_freq": 1, "first_k_dense_replace": 1, "norm_topk_prob": True, "scoring_func": "sigmoid",
            "hidden_act": "silu", "max_position_embeddings": 8192, "rms_norm_eps": 1e-05, "rope_theta": 800000.0,
            "rope_scaling": None, "tie_word_embeddings": False, "attention_bias": False,
            "bos_token_id": special["[BOS]"], "eos_token_id": special["[EOS]"],
        },
    }


# ----------------------------------------------------------------------------------------------------------------------
# Tokenizer

def bpe_texts():
    """ShapesWorld text (questions, answers, words, captions of 3000 scenes of seed 12345) + chat words + ASCII."""
    texts = sw.all_texts() * 20
    texts += [f'"{w}".' for w in sw.WORDS] * 5
    texts += ["system", "user", "assistant", "image", SYSTEM_PROMPT] * 50
    rng = random.Random(12345)
    for i in range(3000):
        # captions need only the scene's layout, not pixels: draw a cheap fake with the same answer distribution
        n = rng.randint(1, 4)
        parts = [f"{sw.article(c)} {c} {k}" for c, k in ((rng.choice(sw.COLOR_NAMES), rng.choice(sw.SHAPES))
                                                          for _ in range(n))]
        s = parts[0] if n == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        if rng.random() < 0.5:
            s += f' with the word "{rng.choice(sw.WORDS)}"'
        texts.append(s + ".")
    texts += GENERAL_ASCII.split("\n") * 3
    texts += [chr(c) for c in range(32, 127)]
    return texts


def build_tokenizer(V):
    ranks = bpe.train(bpe_texts(), V)
    assert all(bytes([b]) in ranks and ranks[bytes([b])] == b for b in range(256))
    return ranks


def spelled_span(answer, task):
    """(start, end) of the written word inside an ocr or caption answer, None where the answer names no word."""
    if task == "ocr":
        return None if answer == "no text" else (0, len(answer))
    if task == "caption" and '"' in answer:
        start = answer.index('"') + 1
        return start, answer.index('"', start)
    return None


class Tok:
    def __init__(self, ranks, spell_words=False):
        self.ranks = ranks
        self.spell_words = spell_words
        self.V = len(ranks)
        self.sp = special_tokens(self.V)
        self.cache = {}
        self.inv = {r: t for t, r in ranks.items()}

    def enc(self, s):
        if s not in self.cache:
            self.cache[s] = bpe.encode(s, self.ranks)
        return self.cache[s]

    def dec(self, ids):
        return b"".join(self.inv[i] for i in ids if i < self.V).decode("utf-8", errors="replace")

    def prefix(self, n_img_tokens):
        """System turn + user header + image block (the part shared by every question about one image)."""
        s = self.sp
        return ([s["<|im_system|>"]] + self.enc("system") + [s["<|im_middle|>"]] + self.enc(SYSTEM_PROMPT)
                + [s["<|im_end|>"], s["<|im_user|>"]] + self.enc("user") + [s["<|im_middle|>"], s["<|media_start|>"]]
                + self.enc("image") + [s["<|media_content|>"]] + [s["<|media_pad|>"]] * n_img_tokens
                + [s["<|media_end|>"]])

    def question(self, q):
        """Question text, end of user turn, generation prompt."""
        s = self.sp
        return self.enc(q) + [s["<|im_end|>"], s["<|im_assistant|>"]] + self.enc("assistant") + [s["<|im_middle|>"]]

    def answer(self, a, task=None):
        """Answer tokens and <|im_end|>. With spell_words the written word of an ocr or caption answer is one byte token
        per letter: another valid encoding of the same text (the server decodes it to the same string), which the
        decoder can produce by copying the letters it sees in order instead of recalling each of 381 words' BPE
        pieces."""
        span = spelled_span(a, task) if self.spell_words else None
        if span is None:
            return self.enc(a) + [self.sp["<|im_end|>"]]
        start, end = span
        return self.enc(a[:start]) + [self.ranks[bytes([b])] for b in a[start:end].encode()] + self.enc(a[end:]) \
            + [self.sp["<|im_end|>"]]

    def prompt(self, n_img_tokens, q):
        """The full single-turn prompt the server renders (ends with the generation prompt)."""
        return self.prefix(n_img_tokens) + self.question(q)


# ----------------------------------------------------------------------------------------------------------------------
# Batches (tree of questions per image)

def image_tensor(img):
    pc = PREPROCESSOR_CONFIG
    return preprocess_image(img, pc["patch_size"], tuple(pc["merge_kernel_size"]), pc["in_token_limit"],
                            pc["image_mean"], pc["image_std"])


def pixel_batch(images):
    """Several images for one vision-tower call: pixel values concatenated (sum of patches, 3*p*p) and their grids."""
    pix, grids = zip(*[image_tensor(img) for img in images])
    return torch.cat(pix), list(grids)


def build_batch(items, tok, pack_to=512):
    """items: list of (PIL image, [(task, question, answer), ...]).

    Each image becomes one segment: its prefix, then one branch per question. Segments are packed first-fit-decreasing
    into rows (no row longer than max(pack_to, the longest segment); the row length is that bound), images are reordered to their order of appearance so the
    placeholder rows line up with the packed vision sequence. Returns pixel_values, grids, input_ids (B,S),
    positions (B,S), mask (B,1,S,S) bool, labels (B,S) (target of the token after each position, -100 where none),
    label_task (B,S), branch (B,S) (0 prefix, >0 question, unique per row, -1 padding), branch_item {(row, branch): (item, question index)}.
    """
    segs = []
    for k, (img, qas) in enumerate(items):
        p, (gh, gw) = image_tensor(img)
        pre = tok.prefix(gh * gw // 4)
        ids, pos, br, lab, ltask = list(pre), list(range(len(pre))), [0] * len(pre), [-100] * len(pre), [-1] * len(pre)
        for b, (task, q, a) in enumerate(qas, start=1):
            qi, ai = tok.question(q), tok.answer(a, task)
            seg = qi + ai
            ids += seg
            pos += list(range(len(pre), len(pre) + len(seg)))
            br += [b] * len(seg)
            # position j predicts seg[j+1]: the last question token predicts ai[0], ...
            tl = [-100] * (len(qi) - 1) + ai + [-100]
            lab += tl
            ltask += [sw.TASKS.index(task) if t != -100 else -1 for t in tl]
        segs.append({"k": k, "pix": p, "grid": (gh, gw), "ids": ids, "pos": pos, "br": br, "lab": lab, "lt": ltask})
    S = max(max(len(g["ids"]) for g in segs), pack_to)
    rows = []  # lists of segments
    for g in sorted(segs, key=lambda g: (-len(g["ids"]), g["k"])):
        for r in rows:
            if sum(len(x["ids"]) for x in r) + len(g["ids"]) <= S:
                r.append(g)
                break
        else:
            rows.append([g])
    B = len(rows)
    input_ids = torch.zeros(B, S, dtype=torch.long)
    positions = torch.zeros(B, S, dtype=torch.long)
    branch = torch.full((B, S), -1, dtype=torch.long)
    segment = torch.full((B, S), -1, dtype=torch.long)
    labels = torch.full((B, S), -100, dtype=torch.long)
    label_task = torch.full((B, S), -1, dtype=torch.long)
    pix, grids, img_order, branch_item = [], [], [], {}
    for i, r in enumerate(rows):
        off, boff = 0, 0
        for j, g in enumerate(r):
            n = len(g["ids"])
            sl = slice(off, off + n)
            input_ids[i, sl] = torch.tensor(g["ids"])
            positions[i, sl] = torch.tensor(g["pos"])
            br = torch.tensor(g["br"])
            branch[i, sl] = torch.where(br > 0, br + boff, br)
            segment[i, sl] = j
            labels[i, sl] = torch.tensor(g["lab"])
            label_task[i, sl] = torch.tensor(g["lt"])
            for b in set(g["br"]) - {0}:
                branch_item[(i, b + boff)] = (g["k"], b - 1)
            boff += max(g["br"])
            off += n
            pix.append(g["pix"])
            grids.append(g["grid"])
            img_order.append(g["k"])
    idx = torch.arange(S)
    causal = idx[None, :] <= idx[:, None]  # key <= query in sequence order
    bq, bk = branch[:, :, None], branch[:, None, :]
    same_seg = segment[:, :, None] == segment[:, None, :]
    allowed = causal[None] & same_seg & (bk != -1) & ((bk == 0) | (bk == bq))
    allowed = allowed | torch.eye(S, dtype=torch.bool)[None]  # padding rows attend to themselves
    return {"pixel_values": torch.cat(pix), "grids": grids, "input_ids": input_ids, "positions": positions,
            "mask": allowed[:, None], "labels": labels, "label_task": label_task, "branch": branch,
            "branch_item": branch_item, "img_order": img_order}


def sample_item(seed, index, extreme_frac, rng, p_text=0.5):
    r = random.Random(seed * 7919 + index)
    size = None
    if r.random() < extreme_frac:
        a, b = r.randint(56, 84), r.randint(336, 448)
        size = (a, b) if r.random() < 0.5 else (b, a)
    sc = sw.scene(seed, index, size=size, p_text=p_text)
    return sc, sw.questions(sc, rng)


OCR_EXTRA_INDEX = 10_000_000   # index space of --ocr-extra images, apart from the regular ones (step * batch + i)


def sample_word_item(seed, index, rng):
    """A small ShapesWorld canvas (112..336 x 56..140, inside the spec's 56..448 sizes) that carries a word whenever one
    fits, asked only the questions that read it (ocr, caption): many words per step for little vision compute (a
    224x84 image is 96 patches, a 448x448 one 1024)."""
    r = random.Random(seed * 7919 + OCR_EXTRA_INDEX + index)
    sc = sw.scene(seed, OCR_EXTRA_INDEX + index, size=(r.randint(112, 336), r.randint(56, 140)), p_text=1.0)
    return sc, [qa for qa in sw.questions(sc, rng) if qa[0] in ("ocr", "caption")]


# ----------------------------------------------------------------------------------------------------------------------
# Tree forward (same weights and math as the reference; positions and mask per row)

def mla_tree(attn, x, pos, mask):
    B, S, _ = x.shape
    q = attn.q_proj(x).view(B, S, attn.h, attn.nope + attn.rope).transpose(1, 2)
    q_nope, q_pe = q.split([attn.nope, attn.rope], dim=-1)
    c, k_pe = attn.kv_a_proj_with_mqa(x).split([attn.r, attn.rope], dim=-1)
    k_pe = k_pe.view(B, 1, S, attn.rope)
    kv = attn.kv_b_proj(attn.kv_a_layernorm(c)).view(B, S, attn.h, attn.nope + attn.v).transpose(1, 2)
    k_nope, v = kv.split([attn.nope, attn.v], dim=-1)
    f = pos.float()[..., None] * attn.inv_freq  # (B,S,rope/2)
    emb = torch.cat([f, f], dim=-1)[:, None]  # (B,1,S,rope)
    cos, sin = emb.cos(), emb.sin()
    q_pe, k_pe = deinterleave(q_pe), deinterleave(k_pe)
    q_pe = q_pe * cos + rotate_half(q_pe) * sin
    k_pe = k_pe * cos + rotate_half(k_pe) * sin
    q = torch.cat([q_nope, q_pe], dim=-1)
    k = torch.cat([k_nope, k_pe.expand(B, attn.h, S, attn.rope)], dim=-1)
    scores = (q @ k.transpose(-1, -2)) * attn.scale
    scores = scores.masked_fill(~mask, float("-inf"))
    out = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(B, S, attn.h * attn.v)
    return attn.o_proj(out)


def tree_hidden(model, batch, feats=None):
    if feats is None:
        feats = model.image_features(batch["pixel_values"], batch["grids"])
    x = model.merge_embeddings(batch["input_ids"], feats)
    lm = model.language_model.model
    for layer in lm.layers:
        x = x + mla_tree(layer.self_attn, layer.input_layernorm(x), batch["positions"], batch["mask"])
        x = x + layer.mlp(layer.post_attention_layernorm(x))
    return lm.norm(x)


def tree_loss(model, batch, task_weights=None, feats=None):
    """Returns (weighted mean CE over answer tokens, per-position correctness info)."""
    h = tree_hidden(model, batch, feats)
    sel = batch["labels"] != -100
    logits = model.language_model.lm_head(h[sel])
    tgt = batch["labels"][sel]
    ce = F.cross_entropy(logits, tgt, reduction="none")
    if task_weights is not None:
        w = task_weights[batch["label_task"][sel]]
        loss = (ce * w).sum() / w.sum()
    else:
        loss = ce.mean()
    return loss, logits, sel


# ----------------------------------------------------------------------------------------------------------------------
# Auxiliary dense supervision of the image features (training only; the head is not part of the checkpoint)
#
# Learning from the answers alone, the model sat at chance for 450 steps (the question-answer loss says nothing about
# *where* to look, and a from-scratch encoder has no features worth looking at). A linear head on every projected image
# token (the decoder's input) predicts what lies under it: the colour and kind of the shape under the token's 28x28 cell
# centre (background where no shape touches the cell, ignored where one touches it without covering the centre), whether
# a shape's centre lies in the cell (what counting and ordering need), whether the word covers the cell, and which
# letters are centred in it. A first version labelled only each shape's centre cell: colour became linearly readable
# (100% on validation cells at step 659) but kind stayed at 52%, since a big shape's centre cell is flat colour and says
# nothing of its outline; labelling every covered cell gives the encoder the outline cells too.

AUX_COLOURS = len(sw.COLOR_NAMES) + 1   # + background
AUX_KINDS = len(sw.SHAPES) + 1          # + background
AUX_LETTERS = 26
AUX_OUT = AUX_COLOURS + AUX_KINDS + 2 + 2 + AUX_LETTERS
AUX_ORDER = 4 + 1                       # left-to-right rank of the shape (ShapesWorld has 1..4) + background
CELL = 28                               # patch 14 x merge 2: one projected token covers 28x28 input pixels


def _covers(sh, x, y):
    """Is pixel point (x, y) inside the shape (as drawn by shapesworld.scene)?"""
    x0, y0, x1, y1 = sh["box"]
    if not (x0 <= x < x1 and y0 <= y < y1):
        return False
    if sh["kind"] == "square":
        return True
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2
    if sh["kind"] == "circle":
        return (x - cx) ** 2 + (y - cy) ** 2 <= r * r
    return abs(x - cx) <= (y - y0) / max(1, y1 - y0) * r   # isosceles triangle, apex up


def word_cells(sc, W):
    """Where the word lies on the merged grid (W cells wide): (rows, cols) slices of the cells its ink box touches, and
    each letter's column (the cell its horizontal centre falls in), in reading order. None without a word."""
    if not sc["word"]:
        return None
    x0, y0, x1, y1 = sc["text_box"]
    rows, cols = slice(y0 // CELL, (y1 - 1) // CELL + 1), slice(x0 // CELL, (x1 - 1) // CELL + 1)
    return rows, cols, [(ch, min(W - 1, int(x) // CELL)) for ch, x in zip(sc["word"], sw.letter_centres(sc))]


def aux_labels(sc, grid):
    """Per projected token of one image (row-major over the merged grid): colour, kind, text, centre, order (long),
    letters (26 float, -1 where not a text cell). order is the left-to-right rank of the shape under the cell (the
    caption's and leftmost's order; scene shapes are sorted by centre x), background AUX_ORDER - 1. Pixel coordinates map to cells directly because ShapesWorld images are never
    resized (448x448 is 1024 patches, below in_token_limit)."""
    gh, gw = grid
    H, W = gh // 2, gw // 2
    colour = torch.full((H, W), AUX_COLOURS - 1, dtype=torch.long)
    kind = torch.full((H, W), AUX_KINDS - 1, dtype=torch.long)
    centre = torch.zeros((H, W), dtype=torch.long)
    text = torch.zeros((H, W), dtype=torch.long)
    order = torch.full((H, W), AUX_ORDER - 1, dtype=torch.long)
    letters = torch.full((H, W, AUX_LETTERS), -1.0)
    for rank, sh in enumerate(sc["shapes"]):
        x0, y0, x1, y1 = sh["box"]
        c_id, k_id = sw.COLOR_NAMES.index(sh["color"]), sw.SHAPES.index(sh["kind"])
        for r in range(y0 // CELL, min(H, (y1 - 1) // CELL + 1)):
            for c in range(x0 // CELL, min(W, (x1 - 1) // CELL + 1)):
                if _covers(sh, c * CELL + CELL / 2, r * CELL + CELL / 2):
                    colour[r, c], kind[r, c], order[r, c] = c_id, k_id, rank
                elif colour[r, c] == AUX_COLOURS - 1:
                    colour[r, c], kind[r, c], order[r, c] = -100, -100, -100   # touched, centre not covered
    for rank, sh in enumerate(sc["shapes"]):
        x0, y0, x1, y1 = sh["box"]
        r, c = (y0 + y1) // 2 // CELL, int(sh["cx"]) // CELL
        colour[r, c] = sw.COLOR_NAMES.index(sh["color"])   # a shape smaller than a cell covers no cell centre
        kind[r, c] = sw.SHAPES.index(sh["kind"])
        order[r, c] = rank
        centre[r, c] = 1
    word = word_cells(sc, W)
    if word:
        rows, cols, letter_cols = word
        text[rows, cols] = 1
        letters[rows, cols] = 0.0
        for ch, col in letter_cols:
            letters[rows, col, ord(ch) - ord("a")] = 1.0
    return (colour.flatten(), kind.flatten(), text.flatten(), centre.flatten(), order.flatten(),
            letters.reshape(H * W, AUX_LETTERS))


def aux_loss(head, feats, scenes, batch):
    """feats (N, hidden) in the batch's image order; scenes indexed like build_batch's items. A head with
    AUX_OUT + AUX_ORDER outputs (--aux-order) also predicts each cell's left-to-right shape rank."""
    labs = [aux_labels(scenes[k], grid) for k, grid in zip(batch["img_order"], batch["grids"])]
    colour, kind, text, centre, order, letters = (torch.cat(x) for x in zip(*labs))
    out = head(feats)
    c, k, t, z, l = out[:, :AUX_OUT].split([AUX_COLOURS, AUX_KINDS, 2, 2, AUX_LETTERS], dim=-1)
    on = letters[:, 0] >= 0
    loss = F.cross_entropy(c, colour) + F.cross_entropy(k, kind) + F.cross_entropy(t, text) + F.cross_entropy(z, centre)
    if bool(on.any()):
        loss = loss + F.binary_cross_entropy_with_logits(l[on], letters[on])
    if out.shape[1] > AUX_OUT:
        loss = loss + F.cross_entropy(out[:, AUX_OUT:], order)
    return loss


def word_loss(head, feats, scenes, batch):
    """Word identity (index into words.txt) on every projected token whose cell the word's ink box touches
    (--word-weight). The per-cell letter targets of aux_loss say which letters sit in a column but not the word they
    spell; OCR stayed at chance over 4 runs with them alone (it read list words, but the wrong ones). This puts the whole
    word's identity into each of its cells, where the decoder can copy it out."""
    labs = []
    for k, (gh, gw) in zip(batch["img_order"], batch["grids"]):
        sc = scenes[k]
        H, W = gh // 2, gw // 2
        lab = torch.full((H, W), -100, dtype=torch.long)
        word = word_cells(sc, W)
        if word:
            lab[word[0], word[1]] = sw.WORDS.index(sc["word"])
        labs.append(lab.flatten())
    lab = torch.cat(labs)
    on = lab >= 0
    if not bool(on.any()):
        return feats.sum() * 0.0, 0, 0
    logits = head(feats[on])
    return F.cross_entropy(logits, lab[on]), int((logits.argmax(-1) == lab[on]).sum()), int(on.sum())


LETTER_SLOTS = 4   # letters centred in one 28-px cell column, left to right (at cap height 12, up to ~4)
WORD_SLOTS = 8     # --slot-index: one slot per letter of the word (words.txt has 3..8 letters)
NO_LETTER = 26


def slot_count(by_index):
    return WORD_SLOTS if by_index else LETTER_SLOTS


def slot_labels(scenes, grids, by_index=False):
    """(cells, slots) long over the images in order: on the word's rows, the k-th letter centred in the cell's column
    (0..25) or NO_LETTER; -100 off the word's rows and on images without a word. by_index (--slot-index): slot n holds
    the word's n-th letter where its centre falls in the cell's column, else NO_LETTER, so each image token also says
    where in the word its letters stand and a decoder spelling letter n can find it by content."""
    out = []
    for sc, (gh, gw) in zip(scenes, grids):
        H, W = gh // 2, gw // 2
        lab = torch.full((H, W, slot_count(by_index)), -100, dtype=torch.long)
        word = word_cells(sc, W)
        if word:
            rows, _, letter_cols = word
            lab[rows] = NO_LETTER
            if by_index:
                for n, (ch, col) in enumerate(letter_cols[:WORD_SLOTS]):
                    lab[rows, col, n] = ord(ch) - ord("a")
            else:
                per_column = {}
                for ch, col in letter_cols:
                    per_column.setdefault(col, []).append(ord(ch) - ord("a"))
                for col, letters_here in per_column.items():
                    for k, letter in enumerate(letters_here[:LETTER_SLOTS]):
                        lab[rows, col, k] = letter
        out.append(lab.reshape(H * W, -1))
    return torch.cat(out)


def slot_loss(head, feats, scenes, batch, by_index=False):
    """Ordered letters per cell (--slot-weight; pretrain_reading.py's target): a softmax over 26 letters + none for
    each slot on the word's rows (slot_labels). Unlike aux_loss's letter bag (BCE, satisfied by naming no letter:
    recall 0.008 after five runs), every slot has one right class. Returns (loss, letters right, letters)."""
    lab = slot_labels([scenes[k] for k in batch["img_order"]], batch["grids"], by_index)
    on = (lab >= 0).any(-1)
    if not bool(on.any()):
        return feats.sum() * 0.0, 0, 0
    logits = head(feats[on]).view(-1, lab.shape[1], NO_LETTER + 1)
    gold = lab[on]
    letter = (gold >= 0) & (gold != NO_LETTER)
    right = int(((logits.argmax(-1) == gold) & letter).sum())
    return F.cross_entropy(logits.reshape(-1, NO_LETTER + 1), gold.reshape(-1), ignore_index=-100), right, \
        int(letter.sum())


def exact_match(batch, logits, sel):
    """Per answer (row, branch): all argmax right. Returns list of (task, ok)."""
    ok_tok = (logits.argmax(-1) == batch["labels"][sel])
    rows, cols = torch.nonzero(sel, as_tuple=True)
    br = batch["branch"][rows, cols]
    tasks = batch["label_task"][rows, cols]
    res = {}
    for r, b, t, o in zip(rows.tolist(), br.tolist(), tasks.tolist(), ok_tok.tolist()):
        k = (r, b)
        prev = res.get(k, (t, True))
        res[k] = (t, prev[1] and o)
    return list(res.values())


# ----------------------------------------------------------------------------------------------------------------------
# Init, schedule, MoE balance

def init_weights(model, seed):
    g = torch.Generator().manual_seed(seed)
    n_layers = model.config["text_config"]["num_hidden_layers"] + model.config["vision_config"]["num_hidden_layers"]
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if name.endswith("e_score_correction_bias"):
                p.zero_()
            elif p.dim() == 1:
                if "norm" in name and name.endswith("weight"):
                    p.fill_(1.0)
                else:
                    p.zero_()
            elif name.endswith("pos_emb.weight"):
                p.normal_(0, 0.02, generator=g)
            elif name.endswith("proj.weight") and "patch_embed" in name:
                p.normal_(0, (1.0 / p[0].numel()) ** 0.5, generator=g)
            else:
                std = 0.02
                if any(name.endswith(s) for s in ("o_proj.weight", "down_proj.weight", "wo.weight", "fc1.weight")):
                    std = 0.02 / math.sqrt(2 * n_layers)
                p.normal_(0, std, generator=g)


def grow_from(model, state):
    """Loads a checkpoint of the same model with fewer decoder layers: every tensor it has must exist here with the same
    shape; the decoder layers it lacks (appended after its last one) keep their fresh init except that their residual
    outputs (attention o_proj, every expert's and the shared expert's down_proj) are zeroed, so each new layer starts as
    the identity and the grown model computes exactly what the checkpoint computed."""
    own = model.state_dict()
    for k, v in state.items():
        if k not in own or own[k].shape != v.shape:
            raise SystemExit(f"cannot grow from this checkpoint: {k} {tuple(v.shape)} has no match")
    missing = model.load_state_dict(state, strict=False).missing_keys
    old_layers = {int(k.split(".")[3]) for k in state if k.startswith("language_model.model.layers.")}
    new_layers = sorted({int(k.split(".")[3]) for k in missing if k.startswith("language_model.model.layers.")})
    if any(k for k in missing if not k.startswith("language_model.model.layers.")) or \
            (new_layers and min(new_layers) != max(old_layers) + 1):
        raise SystemExit(f"cannot grow from this checkpoint: missing {missing[:5]}...")
    with torch.no_grad():
        for i in new_layers:
            layer = model.language_model.model.layers[i]
            layer.self_attn.o_proj.weight.zero_()
            for name, p in layer.mlp.named_parameters():
                if name.endswith("down_proj.weight"):
                    p.zero_()
    return new_layers


def moe_layers(model):
    return [l.mlp for l in model.language_model.model.layers if isinstance(l.mlp, DeepseekV3MoE)]


def balance_update(model, u=1e-3):
    for moe in moe_layers(model):
        if not moe.record:
            continue
        choice = torch.cat(moe.record)
        idx = torch.topk(choice, moe.gate.top_k, dim=-1).indices
        load = torch.bincount(idx.flatten(), minlength=choice.shape[1]).float()
        moe.gate.e_score_correction_bias.data += u * torch.sign(load.mean() - load)
        moe.record = []


def set_record(model, on):
    for moe in moe_layers(model):
        moe.record = [] if on else None


def task_weight_vector(progress, fixed=None):
    """Curriculum: short answers weighted up early, ocr and caption weighted up later. fixed ({task: weight}, from
    --task-weights; tasks not named weigh 1) replaces it, e.g. for a run that continues trained weights."""
    if fixed:
        return torch.tensor([float(fixed.get(t, 1.0)) for t in sw.TASKS])
    early = {"colour": 2.0, "shape": 2.0, "count": 2.0, "count_kind": 1.5, "leftmost": 1.5, "ocr": 1.0, "caption": 0.5}
    late = {"colour": 1.0, "shape": 1.0, "count": 1.0, "count_kind": 1.0, "leftmost": 1.0, "ocr": 2.0, "caption": 1.0}
    a = min(1.0, progress / 0.3)
    return torch.tensor([early[t] * (1 - a) + late[t] * a for t in sw.TASKS])


# ----------------------------------------------------------------------------------------------------------------------
# Validation

def val_items(n_normal, n_extreme):
    items = []
    for i in range(n_normal):
        sc = sw.scene(VAL_SEED, i)
        items.append(("normal", sc["image"], sw.questions(sc, random.Random(i))))
    sizes = [(448, 56), (56, 448), (420, 70), (70, 420), (392, 56), (56, 392)]
    for i in range(n_extreme):
        sc = sw.scene(VAL_SEED, 100_000 + i, size=sizes[i % len(sizes)])
        items.append(("extreme", sc["image"], sw.questions(sc, random.Random(i))))
    return items


def evaluate(model, tok, items, bs=16):
    model.eval()
    stats = {}
    with torch.no_grad():
        for i in range(0, len(items), bs):
            chunk = items[i:i + bs]
            batch = build_batch([(img, qas) for _, img, qas in chunk], tok)
            loss, logits, sel = tree_loss(model, batch)
            for key, (t, ok) in zip(_keys(batch, sel), exact_match(batch, logits, sel)):
                for sl in ("all", chunk[batch["branch_item"][key][0]][0]):
                    s = stats.setdefault(sl, {}).setdefault(sw.TASKS[t], [0, 0])
                    s[0] += ok
                    s[1] += 1
    model.train()
    out = {sl: {t: round(v[0] / v[1], 4) for t, v in sorted(d.items())} for sl, d in stats.items()}
    out["n"] = {t: v[1] for t, v in stats["all"].items()}
    out["score"] = round(sum(out["all"].values()) / len(out["all"]), 4)
    return out


def _keys(batch, sel):
    rows, cols = torch.nonzero(sel, as_tuple=True)
    br = batch["branch"][rows, cols]
    seen = {}
    for r, b in zip(rows.tolist(), br.tolist()):
        seen.setdefault((r, b), None)
    return list(seen)


# ----------------------------------------------------------------------------------------------------------------------

def selftest():
    """Tree-batched logits of every question equal the reference forward of its single-turn prompt."""
    tok = Tok(build_tokenizer(MODEL_PRESETS["tiny"]["vocab"]))
    model = KimiVLForConditionalGeneration(make_config(MODEL_PRESETS["tiny"]))
    init_weights(model, 0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    model.eval()
    sizes = [None, (60, 60), (448, 448), (80, 70), (56, 100), None]
    items = []
    for i, size in enumerate(sizes):
        sc = sw.scene(5, i, size=size)
        items.append((sc["image"], sw.questions(sc, random.Random(i))))
    b = build_batch(items, tok)
    md, n = 0.0, 0
    with torch.no_grad():
        logits = model.language_model.lm_head(tree_hidden(model, b))
        for (r, bi), (k, qi) in b["branch_item"].items():
            img, qas = items[k]
            _, q, a = qas[qi]
            pv, (gh, gw) = image_tensor(img)
            ids = tok.prompt(gh * gw // 4, q) + tok.answer(a)
            ref = model(torch.tensor([ids]), pv, [(gh, gw)])[0]
            mine = torch.nonzero(b["branch"][r] == bi).flatten()
            pre_end = int(torch.nonzero(b["branch"][r, :int(mine[0])] == 0).flatten()[-1]) + 1  # this segment's prefix
            cols = torch.cat([torch.arange(pre_end - int(b["positions"][r, mine[0]]), pre_end), mine])
            assert b["input_ids"][r, cols].tolist() == ids
            md = max(md, float((logits[r, cols] - ref).abs().max()))
            n += 1
    print(f"selftest: {n} questions of {len(items)} images packed in {b['input_ids'].shape[0]} rows; "
          f"max |tree - reference| = {md:.2e}")
    assert md < 1e-4

    # Growing the decoder by two layers (grow_from) must not change what the model computes.
    tiny = MODEL_PRESETS["tiny"]
    deeper = KimiVLForConditionalGeneration(make_config(dict(tiny, t_layers=tiny["t_layers"] + 2)))
    init_weights(deeper, 1)
    assert grow_from(deeper, model.state_dict()) == [2, 3]
    deeper.eval()
    img, qas = items[1]
    pv, (gh, gw) = image_tensor(img)
    ids = torch.tensor([tok.prompt(gh * gw // 4, qas[0][1])])
    with torch.no_grad():
        gd = float((deeper(ids, pv, [(gh, gw)]) - model(ids, pv, [(gh, gw)])).abs().max())
    print(f"selftest: decoder grown from 2 to 4 layers, max |grown - original| = {gd:.2e}")
    assert gd == 0.0


def main():
    if "--selftest" in sys.argv:
        torch.set_num_threads(os.cpu_count())
        return selftest()
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--model", default="demo", choices=sorted(MODEL_PRESETS))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--aux-weight", type=float, default=1.0, help="weight of the dense image-feature loss (0: off)")
    ap.add_argument("--aux-order", action="store_true",
                    help="the dense loss also predicts each cell's left-to-right shape rank (leftmost, caption order)")
    ap.add_argument("--task-weights", default=None,
                    help="fixed answer-loss weights instead of the curriculum, e.g. colour=2,leftmost=2,shape=0.5")
    ap.add_argument("--p-text", type=float, default=0.5,
                    help="probability that a training image carries a word (the spec's and validation's: 0.5)")
    ap.add_argument("--ocr-extra", type=int, default=0,
                    help="extra small word images per step, asked ocr and caption only (see sample_word_item)")
    ap.add_argument("--word-weight", type=float, default=0.0,
                    help="weight of the word-identity loss on the word's image tokens (0: off; see word_loss)")
    ap.add_argument("--slot-weight", type=float, default=0.0,
                    help="weight of the ordered-letter loss on the word's rows (0: off; see slot_loss)")
    ap.add_argument("--slot-index", action="store_true",
                    help="the letter-slot loss names each letter by its place in the word (slot_labels by_index)")
    ap.add_argument("--spell-words", action="store_true",
                    help="train the written word of ocr and caption answers one letter token at a time (Tok.answer)")
    ap.add_argument("--freeze-vision", action="store_true",
                    help="keep the vision tower as it is (e.g. from pretrain_reading.py) and train projector, decoder "
                         "and heads; the tower runs without gradients, so a step is cheaper")
    ap.add_argument("--vision-lr-scale", type=float, default=1.0,
                    help="the vision tower's learning rate as a multiple of --lr (e.g. 0.2: adapt a pretrained tower "
                         "gently while the decoder trains at the full rate)")
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--extreme-frac", type=float, default=0.15)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--val-normal", type=int, default=80)
    ap.add_argument("--val-extreme", type=int, default=30)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--ckpt-minutes", type=float, default=3.0)
    ap.add_argument("--init-from", default=None,
                    help="start from these model weights (a run's ckpt.pt / best.pt, or an exported checkpoint folder); "
                         "new optimiser and schedule")
    ap.add_argument("--max-steps-this-call", type=int, default=0, help="stop after this many steps (testing)")
    a = ap.parse_args()
    if a.freeze_vision and a.vision_lr_scale != 1.0:
        ap.error("--vision-lr-scale needs a trained tower; it cannot go with --freeze-vision")
    torch.set_num_threads(os.cpu_count())
    os.makedirs(a.run, exist_ok=True)
    ckpt_path = os.path.join(a.run, "ckpt.pt")
    args_path = os.path.join(a.run, "args.json")

    if a.resume:
        with open(args_path) as f:
            saved = json.load(f)
        for k in ("model", "seed", "steps", "batch", "lr", "warmup", "wd", "extreme_frac", "eval_every", "val_normal",
                  "val_extreme", "log_every", "ckpt_minutes"):
            setattr(a, k, saved[k])
        a.aux_weight = saved.get("aux_weight", 0.0)  # runs from before the auxiliary loss had none
        a.aux_order = saved.get("aux_order", False)
        a.task_weights = saved.get("task_weights")
        a.p_text = saved.get("p_text", 0.5)
        a.ocr_extra = saved.get("ocr_extra", 0)
        a.word_weight = saved.get("word_weight", 0.0)
        a.slot_weight = saved.get("slot_weight", 0.0)
        a.spell_words = saved.get("spell_words", False)
        a.slot_index = saved.get("slot_index", False)
        a.freeze_vision = saved.get("freeze_vision", False)
        a.vision_lr_scale = saved.get("vision_lr_scale", 1.0)
    else:
        if os.path.exists(ckpt_path):
            raise SystemExit(f"{ckpt_path} exists: use --resume or a new --run")
        write_json(args_path, {k: v for k, v in vars(a).items() if k not in ("resume", "max_steps_this_call")})
    if a.init_from and not a.resume:
        src_dir = a.init_from if os.path.isdir(a.init_from) else os.path.dirname(a.init_from)
        with open(os.path.join(src_dir, "tiktoken.model"), "rb") as f_src, \
                open(os.path.join(a.run, "tiktoken.model"), "wb") as f_dst:
            f_dst.write(f_src.read())   # the same tokenizer as the weights it starts from
    train_seed = 1000 + a.seed
    assert train_seed not in HELD_OUT_SEEDS
    fixed_weights = parse_task_weights(a.task_weights, sw.TASKS) if a.task_weights else None

    preset = MODEL_PRESETS[a.model]
    cfg = make_config(preset)
    tok_path = os.path.join(a.run, "tiktoken.model")
    if (a.resume or a.init_from) and os.path.exists(tok_path):
        ranks = bpe.load_tiktoken(tok_path)
    else:
        t0 = time.time()
        ranks = build_tokenizer(preset["vocab"])
        bpe.save_tiktoken(tok_path, ranks)
        print(f"tokenizer: {len(ranks)} tokens in {time.time() - t0:.1f}s", flush=True)
    if not a.resume:
        write_json(os.path.join(a.run, "tokenizer_config.json"), tokenizer_config(preset["vocab"]))
        write_json(os.path.join(a.run, "config.json"), cfg)
        write_json(os.path.join(a.run, "preprocessor_config.json"), PREPROCESSOR_CONFIG)
    tok = Tok(ranks, a.spell_words)

    torch.manual_seed(a.seed)
    model = KimiVLForConditionalGeneration(cfg)
    init_weights(model, a.seed)
    for moe in moe_layers(model):
        moe.gate.e_score_correction_bias.requires_grad_(False)
    if a.freeze_vision:
        # before the optimiser's parameter groups are built; the tower's forward then records no graph (no gradients,
        # no saved activations)
        model.vision_tower.requires_grad_(False)
    n_params = sum(p.numel() for p in model.parameters())
    aux_head = torch.nn.Linear(cfg["text_config"]["hidden_size"], AUX_OUT + (AUX_ORDER if a.aux_order else 0))
    # training only, like aux_head; built only when used so that older runs' RNG streams are unchanged
    word_head = torch.nn.Linear(cfg["text_config"]["hidden_size"], len(sw.WORDS)) if a.word_weight > 0 else None
    slot_head = torch.nn.Linear(cfg["text_config"]["hidden_size"], slot_count(a.slot_index) * (NO_LETTER + 1)) \
        if a.slot_weight > 0 else None
    extra_heads = [h for h in (word_head, slot_head) if h is not None]

    def trained(vision):
        return [p for n, p in model.named_parameters() if p.requires_grad and n.startswith("vision_tower.") == vision]

    # The tower gets its own groups only when its rate differs; otherwise the groups hold the parameters in the order
    # they always had, because a resumed optimiser state is matched to them by position.
    own_tower_groups = a.vision_lr_scale != 1.0
    rest = trained(False) if own_tower_groups else [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in rest if p.dim() >= 2] + [aux_head.weight]
    no_decay = [p for p in rest if p.dim() < 2] + [aux_head.bias]
    for h in extra_heads:
        decay.append(h.weight)
        no_decay.append(h.bias)
    groups = [{"params": decay, "weight_decay": a.wd, "lr_scale": 1.0},
              {"params": no_decay, "weight_decay": 0.0, "lr_scale": 1.0}]
    if own_tower_groups:
        tower = trained(True)
        groups += [{"params": [p for p in tower if p.dim() >= 2], "weight_decay": a.wd, "lr_scale": a.vision_lr_scale},
                   {"params": [p for p in tower if p.dim() < 2], "weight_decay": 0.0, "lr_scale": a.vision_lr_scale}]
    opt = torch.optim.AdamW(groups, lr=a.lr, betas=(0.9, 0.95), eps=1e-8)
    step, wall, best = 0, 0.0, -1.0
    if a.init_from and not a.resume:
        if os.path.isdir(a.init_from):   # an exported checkpoint (model-cards/tiny-kimi-vl): weights only
            import safetensors_io
            grown = grow_from(model, safetensors_io.load(os.path.join(a.init_from, "model.safetensors")))
            print(f"initialised from {a.init_from} (exported weights; new decoder layers {grown})", flush=True)
        else:                            # a run's ckpt.pt / best.pt
            src = torch.load(a.init_from)
            grown = grow_from(model, src["model"])
            if grown:
                print(f"new decoder layers {grown} start as the identity", flush=True)
            head = src.get("aux_head")   # a run's ckpt.pt carries the auxiliary head: keep it when its targets match
            if head is not None and head["weight"].shape == aux_head.weight.shape:
                aux_head.load_state_dict(head)
                print("auxiliary head carried over", flush=True)
            if src.get("word_head") is not None and word_head is not None:
                word_head.load_state_dict(src["word_head"])
                print("word head carried over", flush=True)
            if src.get("slot_head") is not None and slot_head is not None \
                    and src["slot_head"]["weight"].shape == slot_head.weight.shape:   # not when --slot-index changes
                slot_head.load_state_dict(src["slot_head"])
                print("letter-slot head carried over", flush=True)
            wall = src.get("wall", 0.0)   # training time so far includes the run it starts from
            print(f"initialised from {a.init_from} (step {src.get('step')}, {wall / 60:.1f} min)", flush=True)
    if a.resume:
        ck = torch.load(ckpt_path)
        model.load_state_dict(ck["model"])
        if "aux_head" in ck:
            aux_head.load_state_dict(ck["aux_head"])
        if word_head is not None and ck.get("word_head") is not None:
            word_head.load_state_dict(ck["word_head"])
        if slot_head is not None and ck.get("slot_head") is not None:
            slot_head.load_state_dict(ck["slot_head"])
        opt.load_state_dict(ck["opt"])
        step, wall, best = ck["step"], ck["wall"], ck["best"]
        torch.set_rng_state(ck["torch_rng"])
        random.setstate(ck["py_rng"])
        print(f"resumed at step {step}, wall {wall / 60:.1f} min, best {best}", flush=True)
    else:
        log(a.run, {"event": "start", "params": n_params, "preset": a.model, **{k: v for k, v in vars(a).items()}})
    print(f"params {n_params:,}", flush=True)

    val = val_items(a.val_normal, a.val_extreme)

    def save_ckpt():
        atomic_save({"model": model.state_dict(), "aux_head": aux_head.state_dict(),
                     "word_head": word_head.state_dict() if word_head is not None else None,
                     "slot_head": slot_head.state_dict() if slot_head is not None else None, "opt": opt.state_dict(),
                     "step": step, "wall": wall, "best": best,
                     "torch_rng": torch.get_rng_state(), "py_rng": random.getstate()}, ckpt_path)

    def run_eval():
        nonlocal best
        t0 = time.time()
        ev = evaluate(model, tok, val)
        rec = {"event": "eval", "step": step, "wall_min": round(wall / 60, 2), "eval_s": round(time.time() - t0, 1),
               **ev}
        log(a.run, rec)
        if ev["score"] > best:
            best = ev["score"]
            atomic_save({"model": model.state_dict(), "step": step, "wall": wall, "eval": ev, "config": cfg},
                        os.path.join(a.run, "best.pt"))

    model.train()
    last_ckpt = time.time()
    t_log, loss_acc, aux_acc, n_acc, calls = time.time(), 0.0, 0.0, 0, 0
    word_acc = [0.0, 0, 0]   # loss sum, cells right, cells
    slot_acc = [0.0, 0, 0]   # loss sum, letters right, letters
    while step < a.steps:
        t_step = time.time()
        rng = random.Random(train_seed * 100_003 + step)
        items, scenes = [], []
        for i in range(a.batch):
            sc, qas = sample_item(train_seed, step * a.batch + i, a.extreme_frac, rng, a.p_text)
            items.append((sc["image"], qas))
            scenes.append(sc)
        for i in range(a.ocr_extra):
            sc, qas = sample_word_item(train_seed, step * a.ocr_extra + i, rng)
            items.append((sc["image"], qas))
            scenes.append(sc)
        batch = build_batch(items, tok)
        lr = lr_at(step, a.steps, a.lr, a.warmup)
        for g in opt.param_groups:
            g["lr"] = lr * g.get("lr_scale", 1.0)
        set_record(model, True)
        # with --freeze-vision no tower parameter needs a gradient, so autograd records nothing inside the tower
        feats = model.image_features(batch["pixel_values"], batch["grids"])
        loss, _, _ = tree_loss(model, batch, task_weight_vector(step / a.steps, fixed_weights), feats)
        total = loss
        if a.aux_weight > 0:
            la = aux_loss(aux_head, feats, scenes, batch)
            total = loss + a.aux_weight * la
            aux_acc += float(la)
        if word_head is not None:
            lw, right, cells = word_loss(word_head, feats, scenes, batch)
            total = total + a.word_weight * lw
            word_acc = [word_acc[0] + float(lw), word_acc[1] + right, word_acc[2] + cells]
        if slot_head is not None:
            ls, right, n_letters = slot_loss(slot_head, feats, scenes, batch, a.slot_index)
            total = total + a.slot_weight * ls
            slot_acc = [slot_acc[0] + float(ls), slot_acc[1] + right, slot_acc[2] + n_letters]
        opt.zero_grad(set_to_none=True)
        total.backward()
        gn = torch.nn.utils.clip_grad_norm_(list(model.parameters()) + list(aux_head.parameters())
                                            + [p for h in extra_heads for p in h.parameters()], 1.0)
        opt.step()
        balance_update(model)
        set_record(model, False)
        step += 1
        calls += 1
        wall += time.time() - t_step
        loss_acc += float(loss)
        n_acc += 1
        if step % a.log_every == 0:
            dt = time.time() - t_log
            log(a.run, {"event": "train", "step": step, "loss": round(loss_acc / n_acc, 4),
                        "aux_loss": round(aux_acc / n_acc, 4), "lr": round(lr, 6),
                        "gnorm": round(float(gn), 3), "steps_per_s": round(n_acc / dt, 3),
                        "wall_min": round(wall / 60, 2),
                        **({"word_loss": round(word_acc[0] / n_acc, 4),
                            "word_cell_acc": round(word_acc[1] / max(1, word_acc[2]), 4)} if word_head is not None else {}),
                        **({"slot_loss": round(slot_acc[0] / n_acc, 4),
                            "letter_slot_acc": round(slot_acc[1] / max(1, slot_acc[2]), 4)} if slot_head is not None else {})})
            t_log, loss_acc, aux_acc, n_acc = time.time(), 0.0, 0.0, 0
            word_acc = [0.0, 0, 0]
            slot_acc = [0.0, 0, 0]
        if step % a.eval_every == 0 or step == a.steps:
            t0 = time.time()
            run_eval()
            wall += time.time() - t0
            save_ckpt()
            last_ckpt = time.time()
        elif time.time() - last_ckpt > a.ckpt_minutes * 60:
            save_ckpt()
            last_ckpt = time.time()
        if a.max_steps_this_call and calls >= a.max_steps_this_call:
            save_ckpt()
            break
    print("done" if step >= a.steps else f"stopped at step {step}", flush=True)


if __name__ == "__main__":
    main()
