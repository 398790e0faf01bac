"""KV-cached greedy decode speed of the PyTorch reference (training/kimivl_reference.py), paired with `glimpse bench`.

Reads the inputs.json that `java -jar target/glimpse.jar bench` writes (checkpoint, prompt ids, prompt image, max_tokens,
thread count), loads the same checkpoint into the eager reference model, preprocesses the same image with the reference
preprocessing, prefills the same prompt ids and decodes max_tokens tokens greedily (stop tokens ignored, as on the Java
side). Timed like the Java figure: the max_tokens - 1 decode steps after the first token (which comes from prefill),
each step = one cached decoder call + argmax. Unless the thread count is already 1, the same decode is also timed with
torch.set_num_threads(1), interleaved run by run (decode_tok_s_1_thread). Prints one JSON line.

    /usr/bin/python3 bench/pytorch_decode.py --inputs data/bench/inputs.json [--runs N] [--threads N]
"""
import argparse
import glob
import json
import os
import statistics
import sys
import time

import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "training"))
import safetensors_io  # noqa: E402
from kimivl_reference import KimiVLForConditionalGeneration, preprocess_image  # noqa: E402


def load_model(ckpt):
    with open(os.path.join(ckpt, "config.json")) as f:
        cfg = json.load(f)
    model = KimiVLForConditionalGeneration(cfg)
    state = {}
    for path in sorted(glob.glob(os.path.join(ckpt, "*.safetensors"))):
        state.update(safetensors_io.load(path))
    model.load_state_dict(state, strict=True)
    return model.eval(), cfg


def load_preprocessor(ckpt, token_limit):
    with open(os.path.join(ckpt, "preprocessor_config.json")) as f:
        pc = json.load(f)
    return dict(patch_size=pc.get("patch_size", 14), merge=tuple(pc.get("merge_kernel_size", (2, 2))),
                in_token_limit=token_limit, mean=tuple(pc["image_mean"]), std=tuple(pc["image_std"]))


def text_of(ids, ckpt):
    """Generated text as the server returns it: special tokens skipped, bytes decoded as UTF-8 with replacement."""
    ranks = {}
    import base64
    with open(os.path.join(ckpt, "tiktoken.model")) as f:
        for line in f:
            if line.strip():
                tok, r = line.split()
                ranks[int(r)] = base64.b64decode(tok)
    return b"".join(ranks[i] for i in ids if i in ranks).decode("utf-8", errors="replace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--inputs", default="data/bench/inputs.json")
    ap.add_argument("--runs", type=int, default=None, help="default: the Java bench's --runs")
    ap.add_argument("--threads", type=int, default=None, help="default: the Java bench's thread count")
    ap.add_argument("--no-single-thread", action="store_true", help="skip the extra 1-thread timing")
    args = ap.parse_args()
    with open(args.inputs) as f:
        inp = json.load(f)
    if "prompt_ids" not in inp:
        sys.exit("inputs.json has no prompt_ids: run the Java bench with the decode measurement first")
    threads = args.threads or inp["threads"]
    runs = args.runs or inp["runs"]
    ckpt = inp["checkpoint"]
    n = inp["max_tokens"]
    model, cfg = load_model(ckpt)
    pre = load_preprocessor(ckpt, inp["image_token_limit"])
    ids = torch.tensor([inp["prompt_ids"]], dtype=torch.long)
    s = ids.shape[1]

    # Also timed with 1 thread (interleaved with the main runs): on a busy machine torch's OpenMP pool can lose far more
    # to waiting for a descheduled thread than it gains on ops this small.
    settings = [threads] + ([1] if threads != 1 and not args.no_single_thread else [])
    with torch.no_grad():
        pv, grid = preprocess_image(Image.open(inp["prompt_image"]), **pre)
        feats = model.image_features(pv, [grid])
        emb = model.merge_embeddings(ids, feats)
        positions = torch.arange(s)
        tps = {t: [] for t in settings}
        out = None
        for r in range(runs + 1):  # run 0 warms up
            for t in settings:
                torch.set_num_threads(t)
                caches = model.new_cache()
                logits = model.language_model(emb, positions, caches)
                tok = int(torch.argmax(logits[0, -1]))
                gen = [tok]
                t0 = time.perf_counter()
                for i in range(n - 1):
                    logits = model.decode(torch.tensor([[tok]]), caches, s + i)
                    tok = int(torch.argmax(logits[0, -1]))
                    gen.append(tok)
                dt = time.perf_counter() - t0
                if r > 0:
                    tps[t].append((n - 1) / dt)
                out = gen
    text = text_of(out, ckpt)
    print(json.dumps({
        "impl": "pytorch-eager", "torch": torch.__version__, "threads": threads, "runs": runs,
        "prompt_tokens": s, "tokens": n, "decode_tok_s": statistics.median(tps[threads]), "decode_tok_s_runs": tps[threads],
        **({"decode_tok_s_1_thread": statistics.median(tps[1]), "decode_tok_s_1_thread_runs": tps[1]} if len(settings) > 1 else {}),
        "same_text_as_java": text == inp.get("java_text"), "first_ids": out[:8],
    }))


if __name__ == "__main__":
    main()
