"""Train the demo checkpoint tiny-chameleon on ShapesWorld (CPU, PyTorch, the real HF Chameleon architecture).

Two stages, each in its own run folder, then an export (training/export_tiny_chameleon.py):

    cd <repo>; mkdir -p training/runs/cham-vq training/runs/cham-lm        # runs/ is gitignored
    # stage 1: the VQ-VAE (image tokenizer + drawing decoder), 2400 steps
    nohup /usr/bin/python3 training/train_tiny_chameleon.py --stage vq --run training/runs/cham-vq \\
        > training/runs/cham-vq/stdout.log 2>&1 &
    # stage 2: the decoder LM on the frozen VQ's codes (reads training/runs/cham-vq/best.pt), 2400 steps
    nohup /usr/bin/python3 training/train_tiny_chameleon.py --stage lm --run training/runs/cham-lm \\
        --vq-from training/runs/cham-vq > training/runs/cham-lm/stdout.log 2>&1 &
    # either stage, after a kill: --stage, --run and --resume (hyper-parameters are read back from args.json)
    nohup /usr/bin/python3 training/train_tiny_chameleon.py --stage lm --run training/runs/cham-lm --resume \\
        >> training/runs/cham-lm/stdout.log 2>&1 &
    # the LM run's best.pt (with the VQ it was trained on) -> HF-schema checkpoint folder, checks, held-out eval
    /usr/bin/python3 training/export_tiny_chameleon.py --run training/runs/cham-lm --out model-cards/tiny-chameleon

  Smoke test (a minute): both stages with --model tiny --steps 12 --eval-every 6 --batch 4 --und-batch 3
  --gen-batch 3 --threads 1 (and small --val-* counts); --selftest checks the packed tree forward against the reference.
  --threads (default: all cores, or $TRAIN_THREADS) must stay 1 while another job shares the 2 cores: two threads on
  contended cores ran 5-6x slower than one (thread stalls), e.g. 16.8 instead of 2.9 s per LM step.

Measured step times (one thread, nice 10, the other core busy with another training job; CPU time = wall time here):
  stage vq, demo (16x16 codes), batch 16: 1.25 s/step -> 2400 steps ~50 min on one core, ~30-35 min on 2 quiet cores
  stage lm, demo, 10 understanding + 6 drawing rows (~5700 tokens): 2.9 s/step, eval (110 images, 48 drawing
    targets, 24 greedy drawings) ~40 s -> 2400 steps ~2 h on one core, ~1.3 h on 2 quiet cores (guessed 1.6x)
  export: a few seconds plus ~0.3 s per eval question and ~1 s per drawing.

What it is
- Model: chameleon_reference.ChameleonForConditionalGeneration from a config dict in the real HF config.json schema
  (vq_config, vocabulary_map, image_token_id), with the Anole-style VQ-GAN decoder under model.vqmodel.decoder.*, so
  state_dict names are the real tensor names. Early fusion: an image is 16 x 16 = 256 VQ codes, each an ordinary
  vocabulary entry IMGIMG... (code_to_name), embedded by embed_tokens and predicted by lm_head like text.
  demo: 5,504,195 parameters (LM 4,501,248 with vocabulary 1416; VQ 1,002,947 of which decoder 603,331) = 22.0 MB
  as F32 safetensors.
- Preprocessing (PREPROCESSOR_CONFIG, HF ChameleonImageProcessor-compatible): RGBA over white, PIL Lanczos resize to
  exactly 64 x 64 whatever the aspect ratio (a squash, no center crop, so 448x56 images keep all their shapes),
  x * 0.0078 (float64 -> float32), (x - 1) / 1. chameleon_reference.preprocess_from_config implements both layouts.
- VQ-VAE (stage vq, VQ_PRESETS): the reference's ChameleonVQVAE. demo: resolution 64, base_channels 32,
  channel_multiplier [1, 2, 2] (2 downsamples: 64 -> 16, so 256 codes per image, image_seq_length 256),
  num_res_blocks 1, latent_channels = embed_dim = 32, 512 codes, attn_resolutions [] (attention only in the middle
  blocks). Why 16 x 16 and not 8 x 8 (demo8: [1, 1, 2, 2]): after the same 400 steps (batch 16) on validation,
      8 x 8:  MSE 0.057, shape colour kept 67% (shapes under 6x6 px after the squash: 33%), drawing targets that still
              pass the proxy checker after reconstruction 50%;
      16 x 16: MSE 0.037, colour kept 91% (small 70%), drawings 94%  (the squashed originals: 100% / 100%).
  An 8 x 8 cell is too coarse for small and squashed shapes; the price is a 4x longer image in the LM (2.9 vs 1.0 s
  per LM step). Codebook: EMA k-means updates (decay 0.99, Laplace-smoothed counts), initialised from batch latents,
  dead codes (EMA count below 3% of the mean) restarted from random latents of the batch; commitment 0.25 with the
  straight-through estimator. Reconstruction loss L1 + L2 in the [-1, 1] space, pixels that differ from the image's
  median colour (shapes, text) weighted 1 + --fg-weight (default 4): they are few, and small shapes must keep their
  colour and outline. No perceptual or GAN loss. Data: 75% ShapesWorld scenes (15% at extreme aspect ratios), 25%
  drawing targets (below). Validation (VAL_SEED): reconstruction MSE (best.pt = lowest mean), codebook usage and
  perplexity, colour_kept (the nearest ShapesWorld colour of the reconstruction, averaged over each shape's pixels, is
  the shape's colour; also for small shapes and, as an upper bound, on the squashed original) and draw_ok_recon
  (proxy drawing checker on reconstructed drawing targets: the upper bound of what the LM can draw);
  <run>/recon_<step>.png shows originals over reconstructions.
- LM (stage lm, LM_PRESETS): demo hidden 256, 5 layers, 4 heads (head_dim 64, kv heads = heads), SwiGLU 640,
  RMSNorm 1e-5, per-head qk-norm with weight and bias, rope_theta 10000, no swin_norm, untied lm_head (sized so that
  the F32 export stays under 25 MB with the VQ). The VQ is loaded from --vq-from (its best.pt, copied to <run>/vq.pt)
  and frozen; codes are computed on the fly (no grad) from the same pixel pipeline. The image-token rows of
  embed_tokens and lm_head start from the codebook through a random projection (init_image_embeddings), so codes that
  look alike start alike.
- Tokenizer: byte-level BPE (hf_bpe.py, tokenizer.json) with 640 merges trained on ShapesWorld text, drawing prompts
  and general ASCII. Ids: <s> 0, <pad> 1, </s> 2, <unk> 3, then IMGIMG names of codes 0..n-1 in code order
  (id = code + 4, as in the real vocabulary: 4..515), then <eoss> 516, <racm3:break> 517, <reserved08706> 518 (sep),
  <image> 519 (HF's name for <reserved08707>, the placeholder = image_token_id; never fed to the model), then the 256
  byte tokens and the merges (make_tiny_chameleon.py's layout, minus its deliberate string order of the codes).
- Sequences (exactly what the server sends; build_prompt_ids with chat=True):
    understanding: <s> <racm3:break> img*256 <eoss> {question} <reserved08706> | {answer} </s>
    drawing:       <s> Draw {shapes}. <reserved08706> | <racm3:break> img*256 <eoss> </s>
  ("|": loss on everything after it). {shapes} is the caption's phrase builder without the word: shapes left to right
  as "a {color} {shape}" ("an orange ..."), joined by ", " with " and " before the last, e.g.
  "Draw a red circle and a blue square.". All questions of one understanding image (every task of
  shapesworld.questions) are trained at once as a tree: the image prefix once, one branch per question, each branch
  attending to the prefix and itself with positions continuing from the prefix end (== the single prompt, checked by
  --selftest). Understanding trees and drawings are packed apart (rows of similar length, little padding).
  Task weights: colour, shape, count 2; count_kind, leftmost 1; ocr, caption 0.5 (per answer token); --task-weights
  changes the tasks it names.
  Loss = understanding CE + --gen-weight * drawing CE (plain CE over the whole vocabulary at every target) +
  --aux-weight (0.5) * an auxiliary per-code loss: a training-only linear head on the final hidden state of every image
  token of an understanding image predicts the colour and kind of the shape under that cell and whether a shape's
  centre lies in it (train_tiny_kimivl.py's lesson: the answers alone do not say where to look). The head is not
  exported. Per step: --und-batch 10 understanding images (~10 questions each) + --gen-batch 6 drawings.
- Drawing targets (--gen-layout canonical, the default): a 64 x 64 canvas (no resize) with 1-3 shapes in fixed
  slots left to right (1: side 32 centred; 2: side 24 at x 4 and 36; 3: side 16 at x 3, 24, 45; vertically centred),
  kind and colour uniform, colour jitter +-20 and a background uniform in 170..255 per channel as in ShapesWorld.
  Why fixed slots and not random ShapesWorld layouts: with random positions, the probability that a shape starts at any
  given code is small everywhere, so greedy decoding (and low-temperature sampling) tends to draw only background;
  with the layout a function of the prompt, greedy decoding draws exactly the requested shapes. --gen-layout random
  uses shapesworld.scene at 64..128 px square, 1-3 shapes, no text, instead.
- Drawing at inference (what the server must do; draw() below): the prompt ids above, then append <racm3:break>
  (forced), then 256 steps of argmax (or sampling) over the IMGIMG ids only, then <eoss>; codes (row-major 16 x 16)
  -> codebook lookup -> post_quant_conv -> decoder -> clamp [-1, 1] -> (x + 1) / 2 * 255 (truncate) -> 64 x 64 RGB.
- Validation (LM): teacher-forced exact match per understanding task with image ids masked out (== greedy exact
  match) on VAL_SEED images (80 normal + 30 at extreme sizes); teacher-forced image-code accuracy (argmax over image
  ids) and CE on 48 VAL_SEED drawing targets; greedy drawings of --val-draw prompts scored by the proxy checker
  (find_shapes: nearest-colour segmentation, connected components, kind from the bounding-box fill ratio; the real score
  is the Java OpenCV checker's), saved as <run>/draw_<step>.png (targets over drawings) + .json.
  score = (colour + shape + count) / 6 + draw_ok / 2 picks best.pt.
- Data of step t is a pure function of (seed, t), so --resume is exact (same thread count; checked: kill after a
  checkpoint, resume, identical losses and weights). Training seed 1000+seed; VAL_SEED 777777 and EVAL_SEED 424242
  (the export's eval) are never trained on.
- Optimiser: AdamW (weight decay on matrices only; VQ 0, LM 0.05), lr 1e-3, linear warmup 100 steps + cosine decay to
  10%, grad-norm clip 1.0. Checkpoints: <run>/ckpt.pt (model, optimiser, EMA codebook state / aux head, step, wall,
  RNG) every --ckpt-minutes (3) and after each eval, best.pt (weights with the best validation score), both written
  to .tmp and renamed.
- Short probes (300-600 steps, one thread, with an 8 x 8 VQ of 400 steps): drawings are recognisable after 300 steps
  (proxy draw_ok 25-40% on 8 prompts at steps 300-500); understanding leaves the priors slowly (colour 30% -> 43%
  from step 300 to 500), so the full 2400 steps are needed; its targets are not verified here.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hf_bpe  # noqa: E402
import shapesworld as sw  # noqa: E402
from chameleon_reference import (BOI, EOI, IMAGE_PLACEHOLDER, SEP, ChameleonForConditionalGeneration,  # noqa: E402
                                 ChameleonVQVAE, build_prompt_ids, code_to_name, pixels_to_uint8,
                                 preprocess_from_config, rotate_half)
from make_tiny_chameleon import HEAD_SPECIALS, TAIL_SPECIALS  # noqa: E402
from run_io import atomic_save, log, lr_at, parse_task_weights, write_json  # noqa: E402

VAL_SEED = 777_777        # in-training validation; never trained on
EVAL_SEED = 424_242       # held-out eval set of the exported checkpoint; never trained on
HELD_OUT_SEEDS = {VAL_SEED, EVAL_SEED}
RES = 64                  # VQ resolution = preprocessed image side; --res changes it (set_resolution)
EXTREME_SIZES = [(448, 56), (56, 448), (420, 70), (70, 420), (392, 56), (56, 392)]

PREPROCESSOR_CONFIG = {
    "image_processor_type": "ChameleonImageProcessor",
    "processor_class": "ChameleonProcessor",
    "do_convert_rgb": True,
    "do_resize": True,
    "size": {"height": RES, "width": RES},
    "resample": 1,
    "do_center_crop": False,
    "crop_size": {"height": RES, "width": RES},
    "do_rescale": True,
    "rescale_factor": 0.0078,
    "do_normalize": True,
    "image_mean": [1.0, 1.0, 1.0],
    "image_std": [1.0, 1.0, 1.0],
}

VQ_PRESETS = {
    # 16 x 16 codes (256 per image)
    "demo": dict(base_channels=32, channel_multiplier=[1, 2, 2], num_res_blocks=1, latent_channels=32, embed_dim=32,
                 num_embeddings=512, attn_resolutions=[]),
    # 8 x 8 codes (64 per image): a quarter of the LM cost, but small shapes lose their colour (see the docstring)
    "demo8": dict(base_channels=32, channel_multiplier=[1, 1, 2, 2], num_res_blocks=1, latent_channels=32,
                  embed_dim=32, num_embeddings=512, attn_resolutions=[]),
    "tiny": dict(base_channels=32, channel_multiplier=[1, 1, 1, 1], num_res_blocks=1, latent_channels=16,
                 embed_dim=16, num_embeddings=64, attn_resolutions=[]),
}
LM_PRESETS = {
    "demo": dict(hidden=256, layers=5, heads=4, inter=640, merges=640),
    "tiny": dict(hidden=64, layers=2, heads=2, inter=128, merges=200),
}
TASK_WEIGHTS = {"colour": 2.0, "shape": 2.0, "count": 2.0, "count_kind": 1.0, "leftmost": 1.0, "ocr": 0.5,
                "caption": 0.5}
GEN_KIND = len(sw.TASKS)  # label kind of generation targets

GENERAL_ASCII = """The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs!
Hello, world. This is a small model that answers questions about images of shapes and words, and draws them.
What is in this picture? Please describe it in one sentence. There are 3 apples and 12 oranges; 0 1 2 3 4 5 6 7 8 9.
Yes, no, maybe. I do not know. It's a test: (a) first, (b) second, [c] third, {d} fourth. Email: a@b.c, path /usr/bin.
Numbers like 100, 2024 and 3.14 appear in text, as do symbols # $ % & * + - = < > ? ! ~ ^ | \\ / _ ` ' " ; :"""


def vq_config(preset):
    p = VQ_PRESETS[preset]
    return {
        "model_type": "chameleon_vqgan",
        "embed_dim": p["embed_dim"],
        "num_embeddings": p["num_embeddings"],
        "double_latent": False,
        "latent_channels": p["latent_channels"],
        "resolution": RES,
        "in_channels": 3,
        "out_channels": 3,
        "base_channels": p["base_channels"],
        "channel_multiplier": list(p["channel_multiplier"]),
        "num_res_blocks": p["num_res_blocks"],
        "attn_resolutions": list(p["attn_resolutions"]),
        "dropout": 0.0,
        "attn_type": "vanilla",
        "initializer_range": 0.02,
    }


def grid_of(vcfg):
    return vcfg["resolution"] // 2 ** (len(vcfg["channel_multiplier"]) - 1)


# ----------------------------------------------------------------------------------------------------------------------
# Images

def pixels(img):
    return preprocess_from_config(img, PREPROCESSOR_CONFIG)


def draw_shape(d, kind, box, rgb):
    """As shapesworld.scene draws (box x1/y1 exclusive, no anti-aliasing)."""
    x0, y0, x1, y1 = box
    x1 -= 1
    y1 -= 1
    if kind == "circle":
        d.ellipse((x0, y0, x1, y1), fill=rgb)
    elif kind == "square":
        d.rectangle((x0, y0, x1, y1), fill=rgb)
    else:
        d.polygon([(x0, y1), (x1, y1), (x0 + (x1 - x0) / 2, y0)], fill=rgb)


SLOTS_64 = {1: (32, [16]), 2: (24, [4, 36]), 3: (16, [3, 24, 45])}  # n -> (side, left x of each box), 64 x 64 canvas
SLOTS = dict(SLOTS_64)   # the same layout scaled to RES x RES (set_resolution)


def set_resolution(res):
    """Every image of the run is RES x RES (preprocessing squash, VQ input, drawing canvas); the VQ-VAE is
    convolutional, so a VQ trained at 64 encodes 128 x 128 into 32 x 32 codes. Called before anything builds an image
    or a config."""
    global RES
    if res % 64:
        raise SystemExit(f"--res {res}: a multiple of 64 (the drawing layout scales from 64 x 64)")
    RES = res
    PREPROCESSOR_CONFIG["size"] = {"height": res, "width": res}
    PREPROCESSOR_CONFIG["crop_size"] = {"height": res, "width": res}
    k = res // 64
    SLOTS.clear()
    SLOTS.update({n: (side * k, [x * k for x in xs]) for n, (side, xs) in SLOTS_64.items()})


def canonical_scene(shapes, bg):
    """shapes: [(kind, color name, rgb)] left to right -> scene dict like shapesworld.scene's (RES x RES, no word)."""
    side, xs = SLOTS[len(shapes)]
    img = Image.new("RGB", (RES, RES), bg)
    d = ImageDraw.Draw(img)
    out = []
    y0 = (RES - side) // 2
    for (kind, cname, rgb), x0 in zip(shapes, xs):
        box = (x0, y0, x0 + side, y0 + side)
        draw_shape(d, kind, box, rgb)
        out.append({"box": box, "cx": x0 + side / 2, "size": side, "kind": kind, "color": cname, "rgb": rgb})
    return {"image": img, "W": RES, "H": RES, "shapes": out, "word": None, "text_box": None}


def random_drawing_spec(rng):
    n = rng.randint(1, 3)
    bg = tuple(rng.randint(170, 255) for _ in range(3))
    shapes = []
    for _ in range(n):
        kind, cname = rng.choice(sw.SHAPES), rng.choice(sw.COLOR_NAMES)
        rgb = tuple(min(255, max(0, c + rng.randint(-20, 20))) for c in sw.COLORS[cname])
        shapes.append((kind, cname, rgb))
    return shapes, bg


def drawing_scene(seed, index, layout="canonical"):
    """A generation target: (scene, prompt). Pure function of (seed, index, layout)."""
    if layout == "canonical":
        rng = random.Random((seed * 1_000_003 + index) * 31 + 7)
        sc = canonical_scene(*random_drawing_spec(rng))
    else:
        r = random.Random((seed * 1_000_003 + index) * 31 + 11)
        k = 0
        while True:  # 1-3 shapes: redraw with the next sub-index while the scene has 4
            s = r.randint(64, 128)
            sc = sw.scene(seed, 10_000_000 + index * 16 + k, size=(s, s), p_text=0.0)
            if len(sc["shapes"]) <= 3:
                break
            k += 1
    return sc, drawing_prompt(sc["shapes"])


def drawing_prompt(shapes):
    """"Draw " + the caption's phrase (shapes left to right, no word) -- "Draw a red circle and a blue square."."""
    return "Draw " + sw.caption({"shapes": shapes, "word": None})


def understanding_scene(seed, index, extreme_frac):
    r = random.Random(seed * 7919 + index)
    size = None
    if r.random() < extreme_frac:
        a, b = r.randint(56, 84), r.randint(336, 448)
        size = (a, b) if r.random() < 0.5 else (b, a)
    return sw.scene(seed, index, size=size)


# ----------------------------------------------------------------------------------------------------------------------
# Proxy drawing checker (the real one is the Java OpenCV checker; this one: nearest-colour segmentation, connected
# components, kind from the fill ratio of the bounding box)

_REF = np.array([sw.COLORS[c] for c in sw.COLOR_NAMES], dtype=np.int64)


def find_shapes(u8, max_dist=80, min_area=6):
    """u8 (H, W, 3) uint8 -> [(color, kind, cx)] sorted by cx."""
    x = np.asarray(u8, dtype=np.int64)
    H, W, _ = x.shape
    d = ((x[:, :, None, :] - _REF[None, None]) ** 2).sum(-1)
    lab = d.argmin(-1)
    lab[d.min(-1) > max_dist * max_dist] = -1
    seen = np.zeros((H, W), dtype=bool)
    out = []
    labl = lab.tolist()
    for y in range(H):
        for xx in range(W):
            c = labl[y][xx]
            if c < 0 or seen[y, xx]:
                continue
            stack, pts = [(y, xx)], []
            seen[y, xx] = True
            while stack:
                py, px = stack.pop()
                pts.append((py, px))
                for ny, nx in ((py - 1, px), (py + 1, px), (py, px - 1), (py, px + 1)):
                    if 0 <= ny < H and 0 <= nx < W and not seen[ny, nx] and labl[ny][nx] == c:
                        seen[ny, nx] = True
                        stack.append((ny, nx))
            if len(pts) < min_area:
                continue
            ys = [p[0] for p in pts]
            xs = [p[1] for p in pts]
            bw, bh = max(xs) - min(xs) + 1, max(ys) - min(ys) + 1
            fill = len(pts) / (bw * bh)
            kind = "square" if fill >= 0.88 else "circle" if fill >= 0.62 else "triangle"
            out.append((sw.COLOR_NAMES[c], kind, (min(xs) + max(xs)) / 2))
    return sorted(out, key=lambda t: t[2])


def drawing_ok(u8, shapes):
    """Exactly the requested (colour, kind) multiset."""
    got = sorted((c, k) for c, k, _ in find_shapes(u8))
    return got == sorted((sh["color"], sh["kind"]) for sh in shapes)


def shape_masks(sc):
    """Per shape: bool (RES, RES) mask of its pixels after the squash (a 2x supersampled drawing, resized, > 0.5; the
    single most covered pixel when none passes)."""
    W, H = sc["W"], sc["H"]
    out = []
    for sh in sc["shapes"]:
        m = Image.new("L", (W, H), 0)
        draw_shape(ImageDraw.Draw(m), sh["kind"], sh["box"], 255)
        a = np.asarray(m.resize((RES, RES), Image.BILINEAR), dtype=np.float32) / 255
        mask = a > 0.5
        if not mask.any():
            mask = a >= a.max()
        out.append(mask)
    return out


def nearest_colour(rgb):
    return sw.COLOR_NAMES[int(((_REF - np.asarray(rgb, dtype=np.float64)[None]) ** 2).sum(-1).argmin())]


def to_u8(x):
    """(3, R, R) in [-1, 1] (model space) -> (R, R, 3) uint8, as the server does with decoder output."""
    return pixels_to_uint8(x).numpy()


# ----------------------------------------------------------------------------------------------------------------------
# Common training utilities (the run-folder helpers are in run_io.py)


def save_grid(path, rows, scale=2):
    """rows: list of lists of (R, R, 3) uint8 -> one PNG (each image upscaled by scale, 2 px gaps)."""
    n = max(len(r) for r in rows)
    s = RES * scale + 2
    canvas = Image.new("RGB", (n * s, len(rows) * s), (255, 255, 255))
    for i, r in enumerate(rows):
        for j, u8 in enumerate(r):
            canvas.paste(Image.fromarray(u8).resize((RES * scale, RES * scale), Image.NEAREST), (j * s, i * s))
    canvas.save(path)


# ----------------------------------------------------------------------------------------------------------------------
# Stage 1: VQ-VAE

class EMACodebook:
    """EMA k-means updates of vq.quantize.embedding.weight (not trained by the optimiser), dead-code restarts."""

    def __init__(self, vq, decay=0.99, eps=1e-5):
        self.w = vq.quantize.embedding.weight
        self.w.requires_grad_(False)
        K, D = self.w.shape
        self.decay, self.eps = decay, eps
        self.cluster_size = torch.zeros(K)
        self.embed_sum = torch.zeros(K, D)
        self.initted = False

    def state_dict(self):
        return {"cluster_size": self.cluster_size, "embed_sum": self.embed_sum, "initted": self.initted}

    def load_state_dict(self, s):
        self.cluster_size.copy_(s["cluster_size"])
        self.embed_sum.copy_(s["embed_sum"])
        self.initted = s["initted"]

    @torch.no_grad()
    def init_from(self, zf, g):
        K = self.w.shape[0]
        idx = torch.randint(0, zf.shape[0], (K,), generator=g)
        self.w.copy_(zf[idx] + 1e-3 * torch.randn(self.w.shape, generator=g))
        self.cluster_size.fill_(1.0)
        self.embed_sum.copy_(self.w)
        self.initted = True

    @torch.no_grad()
    def update(self, zf, codes, g, dead_frac=0.03):
        K = self.w.shape[0]
        counts = torch.bincount(codes, minlength=K).float()
        sums = torch.zeros_like(self.embed_sum).index_add_(0, codes, zf)
        self.cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.embed_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        n = self.cluster_size.sum()
        cs = (self.cluster_size + self.eps) / (n + K * self.eps) * n
        self.w.copy_(self.embed_sum / cs[:, None])
        dead = self.cluster_size < dead_frac * zf.shape[0] / K
        nd = int(dead.sum())
        if nd:
            idx = torch.randint(0, zf.shape[0], (nd,), generator=g)
            self.w[dead] = zf[idx] + 1e-3 * torch.randn((nd, zf.shape[1]), generator=g)
            self.cluster_size[dead] = 1.0
            self.embed_sum[dead] = self.w[dead]
        return nd


def vq_batch(seed, step, batch, extreme_frac, draw_frac, layout):
    """Pixel values (B, 3, RES, RES) of step `step`: a pure function of (seed, step)."""
    r = random.Random(seed * 100_003 + step)
    pix = []
    for i in range(batch):
        idx = step * batch + i
        if r.random() < draw_frac:
            sc, _ = drawing_scene(seed, idx, layout)
        else:
            sc = understanding_scene(seed, idx, extreme_frac)
        pix.append(pixels(sc["image"]))
    return torch.stack(pix)


def fg_weight_map(x, w):
    """1 + w where a pixel differs from the image's median colour by more than 0.1 (about 13 levels) in a channel."""
    med = x.flatten(2).median(dim=2).values[:, :, None, None]
    fg = ((x - med).abs() > 0.1).any(dim=1, keepdim=True).float()
    return 1.0 + w * fg


def vq_forward(vq, x):
    """Training forward: (reconstruction, z flat, codes flat, commitment loss)."""
    z = vq.latents(x)
    B, D, h, w = z.shape
    codes = vq.quantize(z.detach())
    zq = vq.quantize.lookup(codes, h, w)
    commit = F.mse_loss(z, zq.detach())
    zst = z + (zq - z).detach()
    rec = vq.decoder(vq.post_quant_conv(zst))
    return rec, z.detach().permute(0, 2, 3, 1).reshape(-1, D), codes.reshape(-1), commit


def vq_val_set(n_normal, n_extreme, n_draw, layout):
    items = []
    for i in range(n_normal):
        items.append(("normal", sw.scene(VAL_SEED, i)))
    for i in range(n_extreme):
        items.append(("extreme", sw.scene(VAL_SEED, 100_000 + i, size=EXTREME_SIZES[i % len(EXTREME_SIZES)])))
    for i in range(n_draw):
        items.append(("draw", drawing_scene(VAL_SEED, i, layout)[0]))
    return items


def vq_evaluate(vq, items, run=None, step=None):
    vq.eval()
    x = torch.stack([pixels(sc["image"]) for _, sc in items])
    with torch.no_grad():
        codes = torch.cat([vq.encode(x[i:i + 32]) for i in range(0, len(x), 32)])
        rec = torch.cat([vq.decode(codes[i:i + 32]) for i in range(0, len(x), 32)])
    vq.train()
    K = vq.quantize.embedding.weight.shape[0]
    mse = {}
    for sl in ("normal", "extreme", "draw"):
        ii = [i for i, (s, _) in enumerate(items) if s == sl]
        if ii:
            mse[sl] = round(float(F.mse_loss(rec[ii].clamp(-1, 1), x[ii])), 5)
    p = torch.bincount(codes.reshape(-1), minlength=K).float()
    p = p / p.sum()
    perplexity = float(torch.exp(-(p[p > 0] * p[p > 0].log()).sum()))
    kept = {"all": [0, 0], "small": [0, 0], "orig_all": [0, 0], "orig_small": [0, 0]}
    draw_ok = [0, 0]
    rec_u8 = [to_u8(r) for r in rec]
    orig_u8 = [to_u8(xx) for xx in x]
    for k, (sl, sc) in enumerate(items):
        if sl == "draw":
            draw_ok[0] += drawing_ok(rec_u8[k], sc["shapes"])
            draw_ok[1] += 1
            continue
        for sh, m in zip(sc["shapes"], shape_masks(sc)):
            small = int(m.sum()) < 36 * (RES // 64) ** 2   # under 6 x 6 px at 64 x 64, the same shapes at any RES
            for pre, img in (("", rec_u8[k]), ("orig_", orig_u8[k])):
                ok = nearest_colour(img[m].mean(0)) == sh["color"]
                for key in (pre + "all",) + ((pre + "small",) if small else ()):
                    kept[key][0] += ok
                    kept[key][1] += 1
    out = {"mse": mse, "codes_used": int((p > 0).sum()), "perplexity": round(perplexity, 1),
           "colour_kept": {k: round(v[0] / max(1, v[1]), 4) for k, v in kept.items()},
           "n_small": kept["small"][1], "draw_ok_recon": round(draw_ok[0] / max(1, draw_ok[1]), 4)}
    if run is not None:
        sel = list(range(0, min(len(items), 12))) + [i for i, (s, _) in enumerate(items) if s != "normal"][:12]
        save_grid(os.path.join(run, f"recon_{step:06d}.png"), [[orig_u8[i] for i in sel], [rec_u8[i] for i in sel]])
    return out


def train_vq(a):
    cfg = vq_config(a.model)
    ckpt_path = os.path.join(a.run, "ckpt.pt")
    write_json(os.path.join(a.run, "vq_config.json"), cfg)
    train_seed = 1000 + a.seed
    assert train_seed not in HELD_OUT_SEEDS
    torch.manual_seed(a.seed)
    vq = ChameleonVQVAE(cfg, with_decoder=True)
    vq.train()
    ema = EMACodebook(vq, a.ema_decay)
    params = [p for p in vq.parameters() if p.requires_grad]
    n_params = sum(p.numel() for p in vq.parameters())
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.wd}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.99), eps=1e-8)
    step, wall, best = 0, 0.0, float("inf")
    if a.resume:
        ck = torch.load(ckpt_path)
        vq.load_state_dict(ck["model"])
        ema.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["opt"])
        step, wall, best = ck["step"], ck["wall"], ck["best"]
        torch.set_rng_state(ck["torch_rng"])
        print(f"resumed at step {step}, wall {wall / 60:.1f} min, best {best}", flush=True)
    else:
        log(a.run, {"event": "start", "stage": "vq", "params": n_params, "grid": grid_of(cfg), **vars(a)})
    print(f"VQ params {n_params:,}, grid {grid_of(cfg)}x{grid_of(cfg)}, {cfg['num_embeddings']} codes", flush=True)
    val = vq_val_set(a.val_normal, a.val_extreme, a.val_draw, a.gen_layout)

    def save_ckpt():
        atomic_save({"model": vq.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "step": step,
                     "wall": wall, "best": best, "torch_rng": torch.get_rng_state(), "vq_config": cfg}, ckpt_path)

    def run_eval():
        nonlocal best
        t0 = time.time()
        ev = vq_evaluate(vq, val, a.run, step)
        log(a.run, {"event": "eval", "step": step, "wall_min": round(wall / 60, 2),
                    "eval_s": round(time.time() - t0, 1), **ev})
        score = sum(ev["mse"].values()) / len(ev["mse"])
        if score < best:
            best = score
            atomic_save({"model": vq.state_dict(), "vq_config": cfg, "step": step, "wall": wall, "eval": ev},
                        os.path.join(a.run, "best.pt"))

    last_ckpt = time.time()
    def zero():
        return {"loss": 0.0, "rec": 0.0, "commit": 0.0, "mse": 0.0, "restarts": 0, "n": 0}

    t_log, acc, calls = time.time(), zero(), 0
    while step < a.steps:
        t_step = time.time()
        x = vq_batch(train_seed, step, a.batch, a.extreme_frac, a.draw_frac, a.gen_layout)
        g = torch.Generator().manual_seed(train_seed * 1_000_003 + step)
        if not ema.initted:
            with torch.no_grad():
                z = vq.latents(x)
            ema.init_from(z.permute(0, 2, 3, 1).reshape(-1, z.shape[1]), g)
        lr = lr_at(step, a.steps, a.lr, a.warmup)
        for gr in opt.param_groups:
            gr["lr"] = lr
        rec, zf, codes, commit = vq_forward(vq, x)
        wmap = fg_weight_map(x, a.fg_weight)
        err = (rec - x).abs() + (rec - x) ** 2
        rec_loss = (err * wmap).sum() / (wmap.sum() * 3)
        loss = rec_loss + a.beta * commit
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        acc["restarts"] += ema.update(zf, codes, g)
        step += 1
        calls += 1
        wall += time.time() - t_step
        acc["loss"] += float(loss)
        acc["rec"] += float(rec_loss)
        acc["commit"] += float(commit)
        acc["mse"] += float(F.mse_loss(rec.detach(), x))
        acc["n"] += 1
        if step % a.log_every == 0 or step == a.steps:
            n = acc["n"]
            dt = time.time() - t_log
            log(a.run, {"event": "train", "step": step, **{k: round(acc[k] / n, 5) for k in ("loss", "rec", "commit",
                                                                                              "mse")},
                        "restarts": acc["restarts"], "lr": round(lr, 6), "steps_per_s": round(n / dt, 3),
                        "s_per_step": round(dt / n, 2), "wall_min": round(wall / 60, 2)})
            t_log, acc = time.time(), zero()
        if step % a.eval_every == 0 or step == a.steps:
            t0 = time.time()
            run_eval()
            wall += time.time() - t0
            save_ckpt()
            last_ckpt = time.time()
            t_log += last_ckpt - t0  # steps/s without the eval
        elif time.time() - last_ckpt > a.ckpt_minutes * 60:
            save_ckpt()
            last_ckpt = time.time()
        if a.max_steps_this_call and calls >= a.max_steps_this_call:
            save_ckpt()
            break
    print("done" if step >= a.steps else f"stopped at step {step}", flush=True)


# ----------------------------------------------------------------------------------------------------------------------
# Stage 2: tokenizer, config, LM

def bpe_texts():
    """ShapesWorld text (questions, answers, words, fake captions), drawing prompts, general ASCII."""
    texts = sw.all_texts() * 20
    texts += [f'"{w}".' for w in sw.WORDS] * 5
    rng = random.Random(12345)
    for i in range(3000):
        n = rng.randint(1, 4)
        parts = [f"{sw.article(c)} {c} {k}" for c, k in ((rng.choice(sw.COLOR_NAMES), rng.choice(sw.SHAPES))
                                                          for _ in range(n))]
        s = parts[0] if n == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        if i % 3 == 0:
            texts.append("Draw " + s + ".")
        elif rng.random() < 0.5:
            texts.append(s + f' with the word "{rng.choice(sw.WORDS)}".')
        else:
            texts.append(s + ".")
    texts += GENERAL_ASCII.split("\n") * 3
    texts += [chr(c) for c in range(32, 127)]
    return texts


def build_tokenizer(n_codes, n_merges):
    names = list(HEAD_SPECIALS) + [code_to_name(c) for c in range(n_codes)] + list(TAIL_SPECIALS)
    names += [hf_bpe.B2C[b] for b in range(256)]
    merges = hf_bpe.train_merges(bpe_texts(), n_merges)
    for x, y in merges:
        if x + y not in names:
            names.append(x + y)
    assert len(set(names)) == len(names)
    return hf_bpe.Tokenizer({n: i for i, n in enumerate(names)}, merges, list(HEAD_SPECIALS) + list(TAIL_SPECIALS),
                            bos="<s>")


def tokenizer_config(tok):
    from make_tiny_chameleon import tokenizer_config as tc
    return tc(tok)


def model_config(tok, vcfg, p):
    from make_tiny_chameleon import model_config as hf_config
    return hf_config(tok, vocab_size=len(tok.vocab), hidden=p["hidden"], intermediate=p["inter"], layers=p["layers"],
                     heads=p["heads"], rope_theta=10000.0, torch_dtype="float32", vq_config=vcfg)


def processor_config(vcfg):
    return {"processor_class": "ChameleonProcessor", "image_seq_length": grid_of(vcfg) ** 2,
            "image_token": IMAGE_PLACEHOLDER}


def write_card_files(folder, tok, cfg):
    """Everything of a checkpoint folder except model.safetensors."""
    write_json(os.path.join(folder, "tokenizer.json"), tok.to_json())
    write_json(os.path.join(folder, "tokenizer_config.json"), tokenizer_config(tok))
    write_json(os.path.join(folder, "config.json"), cfg)
    write_json(os.path.join(folder, "preprocessor_config.json"), PREPROCESSOR_CONFIG)
    write_json(os.path.join(folder, "processor_config.json"), processor_config(cfg["vq_config"]))


class Enc:
    """Cached text encoding + the two sequence layouts."""

    def __init__(self, tok):
        self.tok = tok
        v = tok.vocab
        self.bos, self.eos, self.boi, self.eoi, self.sep = v["<s>"], v["</s>"], v[BOI], v[EOI], v[SEP]
        self.cache = {}

    def enc(self, s):
        if s not in self.cache:
            self.cache[s] = self.tok.encode(s, add_special_tokens=False)
        return self.cache[s]

    def und_prefix(self, img_ids):
        return [self.bos, self.boi] + list(img_ids) + [self.eoi]

    def question(self, q):
        return self.enc(q) + [self.sep]

    def answer(self, ans):
        return self.enc(ans) + [self.eos]

    def gen_prompt(self, text):
        return [self.bos] + self.enc(text) + [self.sep]

    def gen_target(self, img_ids):
        return [self.boi] + list(img_ids) + [self.eoi, self.eos]


def und_segment(e, img_ids, qas):
    """Tree: prefix once, then one branch per (task, question, answer). Lists: ids, pos, branch, labels, kind, qa index
    per branch (branch b >= 1 is qas[b - 1])."""
    pre = e.und_prefix(img_ids)
    ids, pos, br = list(pre), list(range(len(pre))), [0] * len(pre)
    lab, kind = [-100] * len(pre), [-1] * len(pre)
    for b, (task, q, ans) in enumerate(qas, start=1):
        qi, ai = e.question(q), e.answer(ans)
        seg = qi + ai
        ids += seg
        pos += list(range(len(pre), len(pre) + len(seg)))
        br += [b] * len(seg)
        tl = [-100] * (len(qi) - 1) + ai + [-100]  # the last question token (sep) predicts ai[0], ...
        lab += tl
        kind += [sw.TASKS.index(task) if t != -100 else -1 for t in tl]
    return {"ids": ids, "pos": pos, "br": br, "lab": lab, "kind": kind}


def gen_segment(e, text, img_ids):
    p, t = e.gen_prompt(text), e.gen_target(img_ids)
    ids = p + t
    lab = [-100] * (len(p) - 1) + t + [-100]
    return {"ids": ids, "pos": list(range(len(ids))), "br": [0] * len(ids), "lab": lab,
            "kind": [GEN_KIND if t_ != -100 else -1 for t_ in lab]}


def pack(segs, pack_to, pad_id):
    """First-fit-decreasing packing of segments into rows; attention within a segment, causal, prefix (branch 0) or own
    branch. Returns tensors and, per segment, (row, offset)."""
    S = max(max(len(g["ids"]) for g in segs), pack_to)
    rows, where = [], [None] * len(segs)
    for k in sorted(range(len(segs)), key=lambda k: (-len(segs[k]["ids"]), k)):
        for r in rows:
            if r["n"] + len(segs[k]["ids"]) <= S:
                break
        else:
            r = {"n": 0, "segs": []}
            rows.append(r)
        r["segs"].append(k)
        where[k] = (rows.index(r), r["n"])
        r["n"] += len(segs[k]["ids"])
    B = len(rows)
    ids = torch.full((B, S), pad_id, dtype=torch.long)
    pos = torch.zeros(B, S, dtype=torch.long)
    branch = torch.full((B, S), -1, dtype=torch.long)
    segment = torch.full((B, S), -1, dtype=torch.long)
    labels = torch.full((B, S), -100, dtype=torch.long)
    kind = torch.full((B, S), -1, dtype=torch.long)
    for k, g in enumerate(segs):
        i, off = where[k]
        sl = slice(off, off + len(g["ids"]))
        ids[i, sl] = torch.tensor(g["ids"])
        pos[i, sl] = torch.tensor(g["pos"])
        branch[i, sl] = torch.tensor(g["br"])
        segment[i, sl] = k
        labels[i, sl] = torch.tensor(g["lab"])
        kind[i, sl] = torch.tensor(g["kind"])
    idx = torch.arange(S)
    causal = idx[None, :] <= idx[:, None]
    bq, bk = branch[:, :, None], branch[:, None, :]
    same = segment[:, :, None] == segment[:, None, :]
    allowed = causal[None] & same & (segment[:, None, :] >= 0) & ((bk == 0) | (bk == bq))
    allowed = allowed | torch.eye(S, dtype=torch.bool)[None]
    return {"ids": ids, "pos": pos, "branch": branch, "segment": segment, "labels": labels, "kind": kind,
            "mask": allowed[:, None], "where": where}


def packed_hidden(model, b):
    """The reference decoder with per-row positions and an arbitrary attention mask (same weights and math)."""
    m = model.model
    x = m.embed_tokens(b["ids"])
    a0 = m.layers[0].self_attn
    f = b["pos"].float()[..., None] * a0.inv_freq
    emb = torch.cat([f, f], dim=-1)[:, None]  # (B, 1, S, hd)
    cos, sin = emb.cos(), emb.sin()
    mask = b["mask"]
    for layer in m.layers:
        at = layer.self_attn
        h = layer.input_layernorm(x)
        B, S, _ = h.shape
        q = at.q_norm(at.q_proj(h).view(B, S, at.h, at.hd)).transpose(1, 2)
        k = at.k_norm(at.k_proj(h).view(B, S, at.kvh, at.hd)).transpose(1, 2)
        v = at.v_proj(h).view(B, S, at.kvh, at.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if at.h != at.kvh:
            k = k.repeat_interleave(at.h // at.kvh, dim=1)
            v = v.repeat_interleave(at.h // at.kvh, dim=1)
        scores = (q @ k.transpose(-1, -2)) * at.hd ** -0.5
        scores = scores.masked_fill(~mask, float("-inf"))
        out = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(B, S, at.h * at.hd)
        x = x + at.o_proj(out)
        x = x + layer.mlp(layer.post_attention_layernorm(x))
    return m.norm(x)


# ----------------------------------------------------------------------------------------------------------------------
# Auxiliary per-code supervision (training only; the head is not exported)
#
# A linear head on the LM's final hidden state at every image token of an understanding image predicts what lies under
# that code's cell: the colour and kind of the shape covering the cell centre (background where none touches the cell,
# ignored where one touches it without covering the centre), and whether a shape's centre lies in the cell. The
# answers alone do not say where to look (the lesson of train_tiny_kimivl.py's aux loss); this does.

AUX_COLOURS = len(sw.COLOR_NAMES) + 1   # + background
AUX_KINDS = len(sw.SHAPES) + 1          # + background
AUX_OUT = AUX_COLOURS + AUX_KINDS + 2


def _covers(sh, x, y):
    """Is the point (x, y) (original image pixels) inside the shape as shapesworld draws it?"""
    x0, y0, x1, y1 = sh["box"]
    if not (x0 <= x < x1 and y0 <= y < y1):
        return False
    if sh["kind"] == "square":
        return True
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2
    if sh["kind"] == "circle":
        return (x - cx) ** 2 + (y - cy) ** 2 <= r * r
    return abs(x - cx) <= (y - y0) / max(1, y1 - y0) * r


def cell_labels(sc, g):
    """(colour, kind, centre) long tensors of g*g cells, row-major like the codes; the squash maps cell (r, c) to the
    original rectangle [c W/g, (c+1) W/g) x [r H/g, (r+1) H/g)."""
    cw, ch = sc["W"] / g, sc["H"] / g
    colour = torch.full((g, g), AUX_COLOURS - 1, dtype=torch.long)
    kind = torch.full((g, g), AUX_KINDS - 1, dtype=torch.long)
    centre = torch.zeros((g, g), dtype=torch.long)
    for sh in sc["shapes"]:
        x0, y0, x1, y1 = sh["box"]
        ci, ki = sw.COLOR_NAMES.index(sh["color"]), sw.SHAPES.index(sh["kind"])
        for r in range(int(y0 // ch), min(g, int((y1 - 1e-6) // ch) + 1)):
            for c in range(int(x0 // cw), min(g, int((x1 - 1e-6) // cw) + 1)):
                if _covers(sh, (c + 0.5) * cw, (r + 0.5) * ch):
                    colour[r, c], kind[r, c] = ci, ki
                elif colour[r, c] == AUX_COLOURS - 1:
                    colour[r, c], kind[r, c] = -100, -100
    for sh in sc["shapes"]:
        x0, y0, x1, y1 = sh["box"]
        r, c = min(g - 1, int((y0 + y1) / 2 // ch)), min(g - 1, int(sh["cx"] // cw))
        colour[r, c] = sw.COLOR_NAMES.index(sh["color"])  # a shape smaller than a cell covers no cell centre
        kind[r, c] = sw.SHAPES.index(sh["kind"])
        centre[r, c] = 1
    return colour.flatten(), kind.flatten(), centre.flatten()


def attach_aux(b, scenes, g):
    """Positions of the image tokens of each understanding segment (prefix <s> <racm3:break> codes...) + labels."""
    rows, cols, labs = [], [], []
    for k, sc in enumerate(scenes):
        r, off = b["where"][k]
        rows.append(torch.full((g * g,), r, dtype=torch.long))
        cols.append(torch.arange(off + 2, off + 2 + g * g))
        labs.append(cell_labels(sc, g))
    b["aux"] = (torch.cat(rows), torch.cat(cols)) + tuple(torch.cat(x) for x in zip(*labs))


def aux_loss(head, h, b):
    rows, cols, colour, kind, centre = b["aux"]
    out = head(h[rows, cols])
    c, k, z = out.split([AUX_COLOURS, AUX_KINDS, 2], dim=-1)
    return F.cross_entropy(c, colour) + F.cross_entropy(k, kind) + F.cross_entropy(z, centre)


def packed_loss(model, batches, task_w, gen_weight, aux_head=None):
    """batches: list of pack() outputs. Weighted understanding CE + gen_weight * mean drawing CE; and the auxiliary
    loss (0 without a head or labels)."""
    ces, kinds, la = [], [], torch.zeros(())
    for b in batches:
        h = packed_hidden(model, b)
        if aux_head is not None and "aux" in b:
            la = la + aux_loss(aux_head, h, b)
        sel = b["labels"] != -100
        logits = model.lm_head(h[sel])
        ces.append(F.cross_entropy(logits, b["labels"][sel], reduction="none"))
        kinds.append(b["kind"][sel])
    ce, kind = torch.cat(ces), torch.cat(kinds)
    und = kind < GEN_KIND
    gen = ~und
    lu = (ce[und] * task_w[kind[und]]).sum() / task_w[kind[und]].sum() if bool(und.any()) else ce.sum() * 0
    lg = ce[gen].mean() if bool(gen.any()) else ce.sum() * 0
    return lu + gen_weight * lg, lu, lg, la


def init_lm_weights(model, seed):
    g = torch.Generator().manual_seed(seed)
    n_layers = model.config["num_hidden_layers"]
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if name.startswith("model.vqmodel."):
                continue
            if name.endswith("norm.bias"):
                p.zero_()
            elif "norm" in name:
                p.fill_(1.0)
            else:
                std = 0.02
                if name.endswith("o_proj.weight") or name.endswith("down_proj.weight"):
                    std = 0.02 / math.sqrt(2 * n_layers)
                p.normal_(0, std, generator=g)


def init_image_embeddings(model, seed, std=0.02):
    """Rows of embed_tokens and lm_head of the image ids := the frozen codebook (standardised per dimension) times a
    random (embed_dim, hidden) matrix, scaled to std: codes that look alike start alike (instead of unrelated random
    rows), which the understanding questions and the drawings can use from the first step."""
    cb = model.model.vqmodel.quantize.embedding.weight.detach()
    K, D = cb.shape
    z = (cb - cb.mean(0)) / (cb.std(0) + 1e-6)
    g = torch.Generator().manual_seed(seed * 7 + 17)
    e = z @ torch.randn(D, model.config["hidden_size"], generator=g) / D ** 0.5
    e = e * (std / float(e.std()))
    ids = model.mapping.img2bpe_table[:K]
    with torch.no_grad():
        model.model.embed_tokens.weight[ids] = e
        model.lm_head.weight[ids] = e


def load_vq_run(path):
    """A VQ run folder (its best.pt, else ckpt.pt) or a .pt file -> (vq_config, state dict)."""
    if os.path.isdir(path):
        p = os.path.join(path, "best.pt")
        path = p if os.path.exists(p) else os.path.join(path, "ckpt.pt")
    ck = torch.load(path)
    return ck["vq_config"], ck["model"], path


def image_ids(model, pix, bs=32):
    """(N, 3, RES, RES) -> (N, grid*grid) vocabulary ids of the frozen VQ's codes."""
    vq = model.model.vqmodel
    with torch.no_grad():
        codes = torch.cat([vq.encode(pix[i:i + bs]) for i in range(0, len(pix), bs)])
    return model.mapping.codes_to_ids(codes)


def lm_batch(model, e, seed, step, n_und, n_gen, extreme_frac, layout, pack_to):
    """Two packed batches (understanding trees, drawings): rows of similar length, little padding."""
    scenes, pix, texts, qas_all = [], [], [], []
    rng = random.Random(seed * 100_003 + step)
    for i in range(n_und):
        sc = understanding_scene(seed, step * n_und + i, extreme_frac)
        scenes.append(sc)
        pix.append(pixels(sc["image"]))
        qas_all.append(sw.questions(sc, rng))
    for i in range(n_gen):
        sc, text = drawing_scene(seed, step * n_gen + i, layout)
        pix.append(pixels(sc["image"]))
        texts.append(text)
    ids = image_ids(model, torch.stack(pix)).tolist()
    pad = e.tok.vocab["<pad>"]
    out = []
    if n_und:
        out.append(pack([und_segment(e, ids[i], qas_all[i]) for i in range(n_und)], pack_to, pad))
        attach_aux(out[-1], scenes, model.model.vqmodel.grid)
    if n_gen:
        out.append(pack([gen_segment(e, texts[i], ids[n_und + i]) for i in range(n_gen)], pack_to, pad))
    return out


def lm_val_set(n_normal, n_extreme, n_gen, layout):
    und = []
    for i in range(n_normal):
        sc = sw.scene(VAL_SEED, i)
        und.append(("normal", sc, sw.questions(sc, random.Random(i))))
    for i in range(n_extreme):
        sc = sw.scene(VAL_SEED, 100_000 + i, size=EXTREME_SIZES[i % len(EXTREME_SIZES)])
        und.append(("extreme", sc, sw.questions(sc, random.Random(i))))
    gen = [drawing_scene(VAL_SEED, i, layout) for i in range(n_gen)]
    return und, gen


def draw(model, e, text, sample=None):
    """Greedy (or sampled, sample = (temperature, generator)) drawing: prompt, <racm3:break>, grid*grid image ids
    (argmax over image ids only), <eoss>. Returns codes (1, grid*grid)."""
    n = model.model.vqmodel.grid ** 2
    img_ids = torch.tensor(model.mapping.image_token_ids)
    caches = model.new_cache()
    prompt = e.gen_prompt(text) + [e.boi]
    with torch.no_grad():
        logits = model(torch.tensor([prompt]), caches, 0)[0, -1]
        out = []
        for t in range(n):
            li = logits[img_ids]
            if sample is None:
                j = int(torch.argmax(li))
            else:
                j = int(torch.multinomial(torch.softmax(li / sample[0], -1), 1, generator=sample[1]))
            out.append(int(img_ids[j]))
            if t + 1 < n:
                logits = model(torch.tensor([[out[-1]]]), caches, len(prompt) + t)[0, -1]
    return model.mapping.ids_to_codes(torch.tensor(out))[None]


def decode_u8(model, codes):
    with torch.no_grad():
        return [to_u8(x) for x in model.model.vqmodel.decode(codes)]


def lm_evaluate(model, e, und, gen, n_draw, pack_to, run=None, step=None, bs=16):
    model.eval()
    stats = {}
    gen_ok, gen_n, gen_ce = 0, 0, 0.0
    img_mask = model.image_mask
    with torch.no_grad():
        for i in range(0, len(und), bs):
            chunk = und[i:i + bs]
            ids = image_ids(model, torch.stack([pixels(sc["image"]) for _, sc, _ in chunk])).tolist()
            b = pack([und_segment(e, ids[k], qas) for k, (_, _, qas) in enumerate(chunk)], pack_to, 1)
            h = packed_hidden(model, b)
            sel = b["labels"] != -100
            logits = model.lm_head(h[sel]).masked_fill(img_mask, float("-inf"))
            ok_tok = (logits.argmax(-1) == b["labels"][sel]).tolist()
            rows, cols = torch.nonzero(sel, as_tuple=True)
            res = {}
            for r, c, o in zip(rows.tolist(), cols.tolist(), ok_tok):
                key = (int(b["segment"][r, c]), int(b["branch"][r, c]))
                res[key] = res.get(key, True) and o
            for (sg, br), o in res.items():
                sl, _, qas = chunk[sg]
                task = qas[br - 1][0]
                for s in ("all", sl):
                    st = stats.setdefault(s, {}).setdefault(task, [0, 0])
                    st[0] += o
                    st[1] += 1
        for i in range(0, len(gen), bs):
            chunk = gen[i:i + bs]
            ids = image_ids(model, torch.stack([pixels(sc["image"]) for sc, _ in chunk])).tolist()
            b = pack([gen_segment(e, text, ids[k]) for k, (_, text) in enumerate(chunk)], pack_to, 1)
            h = packed_hidden(model, b)
            sel = b["labels"] != -100
            logits = model.lm_head(h[sel])
            tgt = b["labels"][sel]
            is_img = img_mask[tgt]
            li = logits[is_img].masked_fill(~img_mask, float("-inf"))
            gen_ok += int((li.argmax(-1) == tgt[is_img]).sum())
            gen_n += int(is_img.sum())
            gen_ce += float(F.cross_entropy(logits, tgt, reduction="sum"))
    n_gen_targets = len(gen) * (grid_of(model.config["vq_config"]) ** 2 + 3)  # <racm3:break>, codes, <eoss>, </s>
    drawn, ok = [], 0
    for sc, text in gen[:n_draw]:
        u8 = decode_u8(model, draw(model, e, text))[0]
        good = drawing_ok(u8, sc["shapes"])
        ok += good
        drawn.append((text, u8, good))
    model.train()
    out = {sl: {t: round(v[0] / v[1], 4) for t, v in sorted(d.items())} for sl, d in stats.items()}
    out["n"] = {t: v[1] for t, v in stats.get("all", {}).items()}
    a = out.get("all", {})
    out["gen_code_acc"] = round(gen_ok / max(1, gen_n), 4)
    out["gen_ce"] = round(gen_ce / max(1, n_gen_targets), 4)
    out["draw_ok"] = round(ok / max(1, len(drawn)), 4)
    out["score"] = round(sum(a.get(t, 0) for t in ("colour", "shape", "count")) / 6 + out["draw_ok"] / 2, 4)
    if run is not None and drawn:
        targets = [to_u8(pixels(sc["image"])) for sc, _ in gen[:n_draw]]
        save_grid(os.path.join(run, f"draw_{step:06d}.png"), [targets, [u for _, u, _ in drawn]])
        write_json(os.path.join(run, f"draw_{step:06d}.json"), [{"prompt": t, "ok": bool(g)} for t, _, g in drawn])
    return out


def build_lm(a, run):
    """Tokenizer, config and model (VQ loaded and frozen) of an LM run; writes the card files on a fresh run."""
    tok_path = os.path.join(run, "tokenizer.json")
    if a.resume or a.init_from:
        src = run if a.resume else a.init_from  # continuing: the same tokenizer, config and VQ as the weights
        with open(os.path.join(src, "config.json")) as f:
            cfg = json.load(f)
        cfg["vq_config"]["resolution"] = RES   # --init-from a run at another resolution: same weights, new grid
        tok = hf_bpe.Tokenizer.load(os.path.join(src, "tokenizer.json"))
        vq_sd = torch.load(os.path.join(src, "vq.pt"))
        if not a.resume:
            write_card_files(run, tok, cfg)
            atomic_save(vq_sd, os.path.join(run, "vq.pt"))
    else:
        vcfg, vq_sd, src = load_vq_run(a.vq_from)
        vcfg = dict(vcfg, resolution=RES)
        t0 = time.time()
        tok = build_tokenizer(vcfg["num_embeddings"], LM_PRESETS[a.model]["merges"])
        print(f"tokenizer: {len(tok.vocab)} tokens in {time.time() - t0:.1f}s; VQ from {src}", flush=True)
        cfg = model_config(tok, vcfg, LM_PRESETS[a.model])
        write_card_files(run, tok, cfg)
        atomic_save(vq_sd, os.path.join(run, "vq.pt"))
    model = ChameleonForConditionalGeneration(cfg, with_vq_decoder=True)
    init_lm_weights(model, a.seed)
    model.model.vqmodel.load_state_dict(vq_sd)
    if a.image_embed_init == "codebook":
        init_image_embeddings(model, a.seed)
    model.model.vqmodel.eval()
    for p in model.model.vqmodel.parameters():
        p.requires_grad_(False)
    return tok, cfg, model


def train_lm(a):
    ckpt_path = os.path.join(a.run, "ckpt.pt")
    train_seed = 1000 + a.seed
    assert train_seed not in HELD_OUT_SEEDS
    torch.manual_seed(a.seed)
    tok, cfg, model = build_lm(a, a.run)
    e = Enc(tok)
    aux_head = torch.nn.Linear(cfg["hidden_size"], AUX_OUT) if a.aux_weight > 0 else None
    params = [p for n, p in model.named_parameters() if p.requires_grad]
    n_lm = sum(p.numel() for p in params)
    n_all = sum(p.numel() for p in model.parameters())
    if aux_head is not None:
        params += list(aux_head.parameters())
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.wd}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8)
    step, wall, best = 0, 0.0, -1.0
    if a.init_from and not a.resume:
        src = torch.load(os.path.join(a.init_from, "ckpt.pt"))
        model.load_state_dict(src["model"])
        if aux_head is not None and src.get("aux_head") is not None:
            aux_head.load_state_dict(src["aux_head"])
        wall = src["wall"]  # training time so far includes the run it continues
        print(f"initialised from {a.init_from} (step {src['step']}, {wall / 60:.1f} min); new optimiser and schedule",
              flush=True)
    if a.resume:
        ck = torch.load(ckpt_path)
        model.load_state_dict(ck["model"])
        if aux_head is not None:
            aux_head.load_state_dict(ck["aux_head"])
        opt.load_state_dict(ck["opt"])
        step, wall, best = ck["step"], ck["wall"], ck["best"]
        torch.set_rng_state(ck["torch_rng"])
        print(f"resumed at step {step}, wall {wall / 60:.1f} min, best {best}", flush=True)
    else:
        log(a.run, {"event": "start", "stage": "lm", "params_lm": n_lm, "params_all": n_all,
                    "vocab": cfg["vocab_size"], **vars(a)})
    print(f"params: LM {n_lm:,} trainable, {n_all:,} with the VQ; vocab {cfg['vocab_size']}", flush=True)
    model.train()
    model.model.vqmodel.eval()
    weights = {**TASK_WEIGHTS, **(parse_task_weights(a.task_weights, sw.TASKS) if a.task_weights else {})}
    task_w = torch.tensor([weights[t] for t in sw.TASKS])
    und_val, gen_val = lm_val_set(a.val_normal, a.val_extreme, a.val_gen, a.gen_layout)

    def save_ckpt():
        atomic_save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "wall": wall, "best": best,
                     "torch_rng": torch.get_rng_state(),
                     "aux_head": aux_head.state_dict() if aux_head is not None else None}, ckpt_path)

    def run_eval():
        nonlocal best
        t0 = time.time()
        ev = lm_evaluate(model, e, und_val, gen_val, a.val_draw, a.pack_to, a.run, step)
        model.model.vqmodel.eval()
        log(a.run, {"event": "eval", "step": step, "wall_min": round(wall / 60, 2),
                    "eval_s": round(time.time() - t0, 1), **ev})
        if ev["score"] > best:
            best = ev["score"]
            atomic_save({"model": model.state_dict(), "step": step, "wall": wall, "eval": ev, "config": cfg},
                        os.path.join(a.run, "best.pt"))

    last_ckpt = time.time()
    t_log, acc, calls = time.time(), {"loss": 0.0, "und": 0.0, "gen": 0.0, "aux": 0.0, "tokens": 0, "n": 0}, 0
    while step < a.steps:
        t_step = time.time()
        b = lm_batch(model, e, train_seed, step, a.und_batch, a.gen_batch, a.extreme_frac, a.gen_layout, a.pack_to)
        lr = lr_at(step, a.steps, a.lr, a.warmup)
        for gr in opt.param_groups:
            gr["lr"] = lr
        loss, lu, lg, la = packed_loss(model, b, task_w, a.gen_weight, aux_head)
        if aux_head is not None:
            loss = loss + a.aux_weight * la
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        calls += 1
        wall += time.time() - t_step
        acc["loss"] += float(loss)
        acc["und"] += float(lu)
        acc["gen"] += float(lg)
        acc["aux"] += float(la)
        acc["tokens"] += sum(int(x["ids"].numel()) for x in b)
        acc["n"] += 1
        if step % a.log_every == 0 or step == a.steps:
            n = acc["n"]
            dt = time.time() - t_log
            log(a.run, {"event": "train", "step": step, "loss": round(acc["loss"] / n, 4),
                        "und_loss": round(acc["und"] / n, 4), "gen_loss": round(acc["gen"] / n, 4),
                        "aux_loss": round(acc["aux"] / n, 4),
                        "lr": round(lr, 6), "gnorm": round(float(gn), 3), "tokens": acc["tokens"] // n,
                        "steps_per_s": round(n / dt, 3), "s_per_step": round(dt / n, 2),
                        "wall_min": round(wall / 60, 2)})
            t_log, acc = time.time(), {"loss": 0.0, "und": 0.0, "gen": 0.0, "aux": 0.0, "tokens": 0, "n": 0}
        if step % a.eval_every == 0 or step == a.steps:
            t0 = time.time()
            run_eval()
            wall += time.time() - t0
            save_ckpt()
            last_ckpt = time.time()
            t_log += last_ckpt - t0  # steps/s without the eval
        elif time.time() - last_ckpt > a.ckpt_minutes * 60:
            save_ckpt()
            last_ckpt = time.time()
        if a.max_steps_this_call and calls >= a.max_steps_this_call:
            save_ckpt()
            break
    print("done" if step >= a.steps else f"stopped at step {step}", flush=True)


# ----------------------------------------------------------------------------------------------------------------------

def selftest():
    """Packed tree logits equal the reference forward of each single prompt + target (understanding and drawing)."""
    vcfg = vq_config("tiny")
    tok = build_tokenizer(vcfg["num_embeddings"], LM_PRESETS["tiny"]["merges"])
    cfg = model_config(tok, vcfg, LM_PRESETS["tiny"])
    model = ChameleonForConditionalGeneration(cfg).eval()
    init_lm_weights(model, 0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    e = Enc(tok)
    segs, refs = [], []
    for i, size in enumerate([None, (448, 56), (60, 60), None]):
        sc = sw.scene(5, i, size=size)
        pv = pixels(sc["image"])[None]
        codes = model.model.vqmodel.encode(pv)[0]
        ids = model.mapping.codes_to_ids(codes).tolist()
        qas = sw.questions(sc, random.Random(i))
        segs.append(und_segment(e, ids, qas))
        refs.append([(build_prompt_ids([codes, q], tok, model.mapping) + e.answer(ans)) for _, q, ans in qas])
        sc2, text = drawing_scene(5, i)
        codes2 = model.model.vqmodel.encode(pixels(sc2["image"])[None])[0]
        ids2 = model.mapping.codes_to_ids(codes2).tolist()
        segs.append(gen_segment(e, text, ids2))
        refs.append([build_prompt_ids([text], tok, model.mapping) + e.gen_target(ids2)])
    b = pack(segs, 128, 1)
    md, n = 0.0, 0
    with torch.no_grad():
        logits = model.lm_head(packed_hidden(model, b))
        for k, g in enumerate(segs):
            r, off = b["where"][k]
            for bi, ref_ids in enumerate(refs[k]):
                if len(refs[k]) == 1 and max(g["br"]) == 0:
                    cols = torch.arange(off, off + len(g["ids"]))
                else:
                    mine = [off + j for j, x in enumerate(g["br"]) if x == bi + 1]
                    pre = [off + j for j, x in enumerate(g["br"]) if x == 0]
                    cols = torch.tensor(pre + mine)
                assert b["ids"][r, cols].tolist() == ref_ids, (k, bi)
                assert b["pos"][r, cols].tolist() == list(range(len(ref_ids)))
                ref = model(torch.tensor([ref_ids]))[0]
                md = max(md, float((logits[r, cols] - ref).abs().max()))
                n += 1
    print(f"selftest: {n} sequences in {len(segs)} segments packed in {b['ids'].shape[0]} rows of "
          f"{b['ids'].shape[1]}; max |packed - reference| = {md:.2e}")
    assert md < 1e-4
    # the proxy checker accepts the drawing targets themselves
    good = sum(drawing_ok(to_u8(pixels(sc["image"])), sc["shapes"]) for sc, _ in
               (drawing_scene(9, i) for i in range(50)))
    print(f"proxy checker on 50 drawing targets: {good}/50 ok")
    assert good >= 48


STAGE_KEYS = {
    "vq": ("model", "seed", "steps", "batch", "lr", "warmup", "wd", "extreme_frac", "draw_frac", "gen_layout",
           "fg_weight", "beta", "ema_decay", "eval_every", "val_normal", "val_extreme", "val_draw", "log_every",
           "ckpt_minutes", "res"),
    "lm": ("model", "seed", "steps", "und_batch", "gen_batch", "lr", "warmup", "wd", "extreme_frac", "gen_layout",
           "gen_weight", "aux_weight", "image_embed_init", "pack_to", "eval_every", "val_normal", "val_extreme",
           "val_gen", "val_draw", "log_every", "ckpt_minutes", "vq_from", "init_from", "task_weights", "res"),
}


def source_resolution(a):
    """The resolution an LM run inherits: its --init-from run's, else its VQ's (64 for a VQ run)."""
    if a.stage == "lm" and a.init_from:
        with open(os.path.join(a.init_from, "config.json")) as f:
            return json.load(f)["vq_config"]["resolution"]
    if a.stage == "lm" and a.vq_from:
        return load_vq_run(a.vq_from)[0]["resolution"]
    return 64


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stage", choices=["vq", "lm"])
    ap.add_argument("--run")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--selftest", action="store_true")
    ap.add_argument("--model", default="demo", choices=["demo", "demo8", "tiny"],
                    help="vq: VQ_PRESETS; lm: LM_PRESETS (demo8 is a VQ preset; its LM is demo)")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("TRAIN_THREADS", os.cpu_count())))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=None, help="default: vq 2400, lm 2400")
    ap.add_argument("--lr", type=float, default=None, help="default: vq 1e-3, lm 1e-3")
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--wd", type=float, default=None, help="default: vq 0.0, lm 0.05")
    ap.add_argument("--extreme-frac", type=float, default=0.15)
    ap.add_argument("--gen-layout", choices=["canonical", "random"], default="canonical")
    ap.add_argument("--res", type=int, default=None,
                    help="image side after the squash (64: 16 x 16 codes; 128: 32 x 32 codes, small shapes keep 4x "
                         "the pixels, an image costs 4x the tokens). Default: vq 64; lm the resolution of --init-from "
                         "or --vq-from")
    # vq
    ap.add_argument("--batch", type=int, default=16, help="vq: images per step")
    ap.add_argument("--draw-frac", type=float, default=0.25, help="vq: share of drawing targets among the images")
    ap.add_argument("--fg-weight", type=float, default=4.0)
    ap.add_argument("--beta", type=float, default=0.25, help="vq: commitment weight")
    ap.add_argument("--ema-decay", type=float, default=0.99)
    ap.add_argument("--val-draw", type=int, default=None, help="vq: drawing targets reconstructed (16); lm: drawings "
                                                               "sampled greedily per eval (24)")
    # lm
    ap.add_argument("--vq-from", help="lm: VQ run folder (its best.pt) or a .pt")
    ap.add_argument("--init-from", help="lm: continue another LM run folder's final weights (its ckpt.pt, tokenizer, "
                                        "config and VQ) with a new optimiser, schedule and --seed")
    ap.add_argument("--und-batch", type=int, default=10, help="lm: understanding images per step (all questions)")
    ap.add_argument("--gen-batch", type=int, default=6, help="lm: drawing targets per step")
    ap.add_argument("--gen-weight", type=float, default=1.0)
    ap.add_argument("--aux-weight", type=float, default=0.5, help="lm: per-code auxiliary loss (0: off)")
    ap.add_argument("--task-weights", default=None,
                    help="lm: answer-loss weights of the tasks named, e.g. shape=4 (the others keep TASK_WEIGHTS)")
    ap.add_argument("--image-embed-init", choices=["codebook", "random"], default="codebook",
                    help="lm: image token rows of embed_tokens / lm_head from the codebook (init_image_embeddings)")
    ap.add_argument("--pack-to", type=int, default=0, help="lm: row length (0: the longest segment of the batch; "
                                                         "understanding and drawings are packed apart)")
    ap.add_argument("--val-gen", type=int, default=48, help="lm: drawing targets for teacher-forced code accuracy")
    # both
    ap.add_argument("--eval-every", type=int, default=None, help="default: vq 300, lm 200")
    ap.add_argument("--val-normal", type=int, default=None, help="default: vq 48, lm 80")
    ap.add_argument("--val-extreme", type=int, default=None, help="default: vq 16, lm 30")
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--ckpt-minutes", type=float, default=3.0)
    ap.add_argument("--max-steps-this-call", type=int, default=0, help="stop after this many steps (testing)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.selftest:
        return selftest()
    if not a.stage or not a.run:
        ap.error("--stage and --run are required")
    defaults = {"vq": dict(steps=2400, lr=1e-3, wd=0.0, eval_every=300, val_normal=48, val_extreme=16, val_draw=16),
                "lm": dict(steps=2400, lr=1e-3, wd=0.05, eval_every=200, val_normal=80, val_extreme=30, val_draw=24)}
    for k, v in defaults[a.stage].items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    os.makedirs(a.run, exist_ok=True)
    args_path = os.path.join(a.run, "args.json")
    if a.resume:
        with open(args_path) as f:
            saved = json.load(f)
        if saved.get("stage") != a.stage:
            raise SystemExit(f"{a.run} is a {saved.get('stage')} run")
        for k in STAGE_KEYS[a.stage]:
            setattr(a, k, saved.get(k))  # runs from before --init-from have none
        a.res = a.res or 64                # nor runs from before --res
    else:
        if os.path.exists(os.path.join(a.run, "ckpt.pt")):
            raise SystemExit(f"{a.run}/ckpt.pt exists: use --resume or a new --run")
        if a.stage == "lm" and not a.vq_from and not a.init_from:
            ap.error("--stage lm needs --vq-from")
        if a.stage == "lm" and a.model == "demo8":
            a.model = "demo"
        if a.res is None:
            a.res = source_resolution(a)
        write_json(args_path, {"stage": a.stage, **{k: getattr(a, k) for k in STAGE_KEYS[a.stage]}})
    set_resolution(a.res)
    print(f"threads {torch.get_num_threads()}", flush=True)
    (train_vq if a.stage == "vq" else train_lm)(a)


if __name__ == "__main__":
    main()
