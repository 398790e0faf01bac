#!/usr/bin/python3
"""Golden outputs for dev.glimpse.image: Pillow BICUBIC resizes and one Kimi-VL preprocessing run.

Run with Debian's python3 (python3-pil, python3-numpy); no torch needed:
    /usr/bin/python3 training/golden_resize.py
Writes under src/test/resources/golden/image/:
  resize/<case>.src.png, resize/<case>.dst.png   source and PIL Image.resize((w, h), Image.BICUBIC)
  resize/<case>.lanczos.png                      PIL Image.resize((w, h), Image.LANCZOS) of the same source
  resize/cases.tsv                               case  src_w  src_h  dst_w  dst_h
  kimivl/src.png, kimivl/pixel_values.f32, kimivl/expected.json
The Java tests (PilResampleTest, KimiVlPreprocessorGoldenTest) require byte-exact / bit-exact equality.
Deterministic: fixed seeds, so re-running rewrites identical files.
"""
import json
import math
import os
import random

import numpy as np
from PIL import Image
import PIL

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "test", "resources", "golden", "image")


def noise(w, h, seed):
    rng = random.Random(seed)
    return Image.frombytes("RGB", (w, h), bytes(rng.randrange(256) for _ in range(w * h * 3)))


def gradient(w, h):
    px = bytearray()
    for y in range(h):
        for x in range(w):
            px += bytes((x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), (x * 7 + y * 13) % 256))
    return Image.frombytes("RGB", (w, h), bytes(px))


# (name, source image, target (w, h)): downscale by non-integer factors, upscale, one side unchanged,
# extreme aspect ratios, large downscale factors (wide kernels), 1-pixel sources and targets.
CASES = [
    ("noise_down", lambda: noise(37, 29, 1), (16, 11)),
    ("noise_up", lambda: noise(13, 9, 2), (40, 31)),
    ("gradient_down", lambda: gradient(64, 48), (23, 17)),
    ("gradient_up", lambda: gradient(9, 7), (26, 19)),
    ("width_unchanged", lambda: noise(50, 20, 3), (50, 7)),
    ("height_unchanged", lambda: noise(20, 50, 4), (9, 50)),
    ("wide_strip", lambda: noise(300, 4, 5), (37, 3)),
    ("tall_strip", lambda: noise(3, 200, 6), (2, 61)),
    ("big_factor", lambda: noise(120, 90, 7), (17, 13)),
    ("mixed", lambda: noise(31, 17, 8), (45, 8)),
    ("single_pixel_up", lambda: noise(1, 1, 9), (5, 3)),
    ("to_one_pixel", lambda: noise(250, 30, 10), (1, 2)),
]


def write_resize_cases():
    out = os.path.join(ROOT, "resize")
    os.makedirs(out, exist_ok=True)
    rows = []
    for name, make, (w, h) in CASES:
        src = make()
        dst = src.resize((w, h), Image.BICUBIC)
        src.save(os.path.join(out, name + ".src.png"), optimize=True)
        dst.save(os.path.join(out, name + ".dst.png"), optimize=True)
        src.resize((w, h), Image.LANCZOS).save(os.path.join(out, name + ".lanczos.png"), optimize=True)
        rows.append(f"{name}\t{src.width}\t{src.height}\t{w}\t{h}")
    with open(os.path.join(out, "cases.tsv"), "w") as f:
        f.write("# case\tsrc_w\tsrc_h\tdst_w\tdst_h  (Pillow " + PIL.__version__ + ")\n")
        f.write("\n".join(rows) + "\n")


# Kimi-VL's image processor (HF remote code, pad_input=True), restated with numpy float32 arithmetic that matches
# torchvision's to_tensor (uint8 -> float32 / 255) and normalize ((x - mean) / std in float32).
def kimivl_reference(image, patch, merge, limit, mean, std):
    w, h = image.size
    if (w // patch) * (h // patch) > limit:
        s = math.sqrt(limit / ((w // patch) * (h // patch)))
        image = image.resize((int(w * s), int(h * s)), Image.BICUBIC)
    w, h = image.size
    pad_h = (merge[0] * patch - h % (merge[0] * patch)) % (merge[0] * patch)
    pad_w = (merge[1] * patch - w % (merge[1] * patch)) % (merge[1] * patch)
    padded = Image.new("RGB", (w + pad_w, h + pad_h), (0, 0, 0))
    padded.paste(image, (0, 0))
    x = np.asarray(padded, dtype=np.uint8).astype(np.float32) / np.float32(255)  # (H, W, 3)
    x = x.transpose(2, 0, 1)  # (3, H, W)
    x = (x - np.array(mean, np.float32)[:, None, None]) / np.array(std, np.float32)[:, None, None]
    c, hh, ww = x.shape
    patches = x.reshape(c, hh // patch, patch, ww // patch, patch).transpose(1, 3, 0, 2, 4)
    return np.ascontiguousarray(patches.reshape(-1, c, patch, patch), dtype="<f4"), (hh // patch, ww // patch)


def write_kimivl_case():
    out = os.path.join(ROOT, "kimivl")
    os.makedirs(out, exist_ok=True)
    cfg = dict(patch_size=14, merge_kernel_size=[2, 2], in_token_limit=16,
               image_mean=[0.48145466, 0.4578275, 0.40821073], image_std=[0.26862954, 0.26130258, 0.27577711],
               pad_input=True)
    src = noise(100, 80, 11)
    src.save(os.path.join(out, "src.png"), optimize=True)
    pv, grid = kimivl_reference(src, cfg["patch_size"], cfg["merge_kernel_size"], cfg["in_token_limit"],
                                cfg["image_mean"], cfg["image_std"])
    pv.tofile(os.path.join(out, "pixel_values.f32"))
    with open(os.path.join(out, "preprocessor_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"grid_h": grid[0], "grid_w": grid[1], "shape": list(pv.shape)}, f)
        f.write("\n")


if __name__ == "__main__":
    write_resize_cases()
    write_kimivl_case()
    print("wrote goldens under", os.path.normpath(ROOT))
