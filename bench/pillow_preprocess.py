"""Image preprocessing speed of the reference pipeline (PIL decode + the steps of preprocess_image in
training/kimivl_reference.py, written with numpy), paired with `glimpse bench`'s preprocessing figure.

Per image: PIL decode to RGB, BICUBIC resize when (W/14)*(H/14) exceeds the token limit, pad right/bottom to multiples
of 28 with 0, /255, (x - mean)/std, patchify to (L, 3, 14, 14) float32. Single process, single thread, on the JPEG bytes
already in memory (the same files the Java bench generated). Checks that the numpy pipeline equals the torch reference
function bit for bit on the first image. Prints one JSON line.

    /usr/bin/python3 bench/pillow_preprocess.py --inputs data/bench/inputs.json [--runs N]
"""
import argparse
import io
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import PIL
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "training"))


def preprocess(data, token_limit, patch=14, merge=(2, 2), mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)):
    img = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = img.size
    if (w // patch) * (h // patch) > token_limit:
        s = math.sqrt(token_limit / ((w // patch) * (h // patch)))
        img = img.resize((int(w * s), int(h * s)), Image.BICUBIC)
        w, h = img.size
    uh, uw = patch * merge[0], patch * merge[1]
    ph, pw = -(-h // uh) * uh, -(-w // uw) * uw
    x = np.zeros((ph, pw, 3), dtype=np.float32)
    x[:h, :w] = np.asarray(img, dtype=np.uint8)
    x /= np.float32(255.0)
    x -= np.asarray(mean, dtype=np.float32)
    x /= np.asarray(std, dtype=np.float32)
    gh, gw = ph // patch, pw // patch
    x = x.reshape(gh, patch, gw, patch, 3).transpose(0, 2, 4, 1, 3).reshape(gh * gw, 3, patch, patch)
    return np.ascontiguousarray(x), (gh, gw)


def one_pass(blobs, limit, cfg):
    t0 = time.perf_counter()
    acc = 0.0
    for b in blobs:
        pv, _ = preprocess(b, limit, **cfg)
        acc += float(pv[len(pv) // 2, 0, 0, 0])
    return len(blobs) / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--inputs", default="data/bench/inputs.json")
    ap.add_argument("--runs", type=int, default=None, help="default: the Java bench's --runs")
    args = ap.parse_args()
    with open(args.inputs) as f:
        inp = json.load(f)
    if "preprocess" not in inp:
        sys.exit("inputs.json has no preprocess section: run the Java bench with the preprocess measurement first")
    runs = args.runs or inp["runs"]
    with open(os.path.join(inp["checkpoint"], "preprocessor_config.json")) as f:
        pc = json.load(f)
    cfg = dict(patch=pc.get("patch_size", 14), merge=tuple(pc.get("merge_kernel_size", (2, 2))),
               mean=tuple(pc["image_mean"]), std=tuple(pc["image_std"]))
    blobs = []
    for p in inp["preprocess"]["images"]:
        with open(p, "rb") as f:
            blobs.append(f.read())

    # the numpy pipeline is the reference function, bit for bit
    import torch
    torch.set_num_threads(1)
    from kimivl_reference import preprocess_image
    matches = True
    for limit in (inp["preprocess"]["token_limit"], inp["preprocess"]["resize_limit"]):
        ref, ref_grid = preprocess_image(Image.open(io.BytesIO(blobs[0])), patch_size=cfg["patch"], merge=cfg["merge"],
                                         in_token_limit=limit, mean=cfg["mean"], std=cfg["std"])
        mine, grid = preprocess(blobs[0], limit, **cfg)
        matches = matches and tuple(ref_grid) == tuple(grid) and np.array_equal(ref.numpy(), mine)

    result = {"impl": "pillow+numpy", "pillow": PIL.__version__, "numpy": np.__version__, "images": len(blobs),
              "runs": runs, "matches_reference": bool(matches)}
    for key, limit in (("", inp["preprocess"]["token_limit"]), ("resize_", inp["preprocess"]["resize_limit"])):
        one_pass(blobs, limit, cfg)  # warm-up
        r = [one_pass(blobs, limit, cfg) for _ in range(runs)]
        result[key + "single_img_s"] = statistics.median(r)
        result[key + "single_img_s_runs"] = r
        result[key + "token_limit"] = limit
    print(json.dumps(result))


if __name__ == "__main__":
    main()
