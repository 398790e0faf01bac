"""What both demo trainers share about a run folder: the learning-rate schedule, atomic checkpoint and JSON writes
(a kill mid-write never leaves a torn file: write to .tmp, fsync, rename), log.jsonl + stdout logging, and the
--task-weights option's parser."""
import json
import math
import os

import torch


def lr_at(step, total, base, warmup):
    """Linear warmup over `warmup` steps, then cosine from base to 10% of base at `total`."""
    if step < warmup:
        return base * (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))


def atomic_save(obj, path):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)


def log(run, rec):
    with open(os.path.join(run, "log.jsonl"), "a") as f:
        f.write(json.dumps(rec) + "\n")
    print(json.dumps(rec), flush=True)


def parse_task_weights(spec, tasks):
    """--task-weights text ("colour=2,shape=0.5") -> {task: weight}; names outside `tasks` stop the run."""
    weights = {}
    for part in spec.split(","):
        task, _, w = part.partition("=")
        if task.strip() not in tasks:
            raise SystemExit(f"--task-weights: unknown task '{task.strip()}' (tasks: {', '.join(tasks)})")
        weights[task.strip()] = float(w)
    return weights
