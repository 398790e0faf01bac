"""Write the held-out drawing prompts of tiny-chameleon's generation eval.

Run from the repository root:  /usr/bin/python3 training/make_generation_prompts.py
Output: model-cards/tiny-chameleon/eval/generation.jsonl, one {"prompt", "shapes"} per line, e.g.
  {"prompt": "Draw a red circle and a blue square.", "shapes": ["red circle", "blue square"]}

The scenes come from shapesworld.scene with the eval seed (never trained on), no text, 1-3 shapes, so each prompt names
a layout the generator can actually place; the prompt lists the shapes left to right, as the captions do. The Java
eval (`java -jar target/glimpse.jar eval --model tiny-chameleon --generate`) draws each prompt once and asks
eval/SceneChecker whether exactly the named shapes (with their colours) are in the picture.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shapesworld as sw  # noqa: E402

EVAL_SEED = 424_242  # the committed eval sets' seed; trainers never draw from it
OUT = "model-cards/tiny-chameleon/eval/generation.jsonl"
N = 100


def draw_prompt(shapes):
    parts = [sw.shape_phrase(sh) for sh in shapes]
    s = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return "Draw " + s + "."


def main():
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    rows = []
    i = 0
    while len(rows) < N:
        sc = sw.scene(EVAL_SEED + 1, i, size=(96, 96), p_text=0.0)
        i += 1
        if len(sc["shapes"]) > 3:
            continue
        rows.append({"prompt": draw_prompt(sc["shapes"]),
                     "shapes": [f"{sh['color']} {sh['kind']}" for sh in sc["shapes"]]})
    with open(OUT, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    counts = {}
    for r in rows:
        counts[len(r["shapes"])] = counts.get(len(r["shapes"]), 0) + 1
    print(f"wrote {len(rows)} prompts to {OUT}; by number of shapes: {dict(sorted(counts.items()))}")


if __name__ == "__main__":
    main()
