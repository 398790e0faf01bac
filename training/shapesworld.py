"""ShapesWorld: the synthetic image world of the bundled demo models (spec: docs/shapesworld.md).

    /usr/bin/python3 training/shapesworld.py --preview /tmp/sw --seed 1 --n 8   # a few PNGs + their Q/A to look at

`scene(seed, index)` draws one image deterministically (Python's random.Random seeded by the pair), `questions(scene)`
lists every question the spec allows on it with its canonical answer.

Choices the spec leaves open (all deterministic given (seed, index)):
- Random source: random.Random(seed * 1_000_003 + index); the same (seed, index) gives the same image and questions on any
  machine with the same PIL and DejaVu font.
- Canvas: W and H independently uniform integers in 56..448; flat background, each channel uniform in 170..255.
- Shapes: the number n is drawn first (uniform 1..4), then per shape a kind (uniform), a colour (uniform over the 7,
  repeats allowed), per-channel jitter (uniform integer in -20..20, clipped to 0..255) and a bounding-box side s uniform
  in 14..max(14, min(W,H)//2). The top-left corner is uniform over positions that keep the box inside the canvas.
  A placement is rejected if its box comes closer than 4 px to another box (gap = empty pixels between the boxes on
  the separating axis) or if its centre x is closer than 6 px to another shape's centre x, so "leftmost" and the
  caption order are never ambiguous. A shape gets 200 tries (fresh size and position each try); if one fails the whole
  layout is redrawn (up to 30 times), and only then n is lowered by one (happens only on small canvases).
- Drawing (PIL ImageDraw, no anti-aliasing), box (x0, y0)..(x0+s-1, y0+s-1): circle = ellipse inscribed in the box,
  square = the filled box, triangle = isosceles, apex up: (x0, y0+s-1), (x0+s-1, y0+s-1), (x0+(s-1)/2, y0).
- Text: drawn after the shapes with probability 0.5. One word uniform from words.txt, DejaVu Sans at font size
  round(cap / 0.73) px (DejaVu's cap height is 0.73 em) for a cap height cap uniform in 12..28 px, PIL's default
  anti-aliased rendering. Colour "near-black": one grey level g uniform in 0..40 for all three channels. Placement:
  the word's ink box (font.getbbox) must lie inside the canvas with a 2 px margin and at least 4 px from every shape
  box; 200 uniform random positions are tried, and if none fits the image has no text (no retry at a smaller size).
- Leftmost and caption order: by the centre x of the bounding box (distinct by construction, see above).
- Questions: "colour" for each kind present exactly once, "shape" for each colour present exactly once, one "count",
  "count_kind" for each of the 3 kinds (answer 0..4), one "leftmost", one "ocr" (template drawn uniformly) and one
  "caption" (template drawn uniformly).
"""
import argparse
import json
import os
import random

from PIL import Image, ImageDraw, ImageFont

HERE = os.path.dirname(os.path.abspath(__file__))
FONT_PATH = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
CAP_RATIO = 0.73

SHAPES = ["circle", "square", "triangle"]
COLORS = {
    "red": (220, 30, 30), "green": (30, 160, 60), "blue": (40, 70, 220), "yellow": (240, 200, 20),
    "purple": (140, 50, 170), "orange": (245, 130, 20), "black": (20, 20, 20),
}
COLOR_NAMES = list(COLORS)
TASKS = ["colour", "shape", "count", "count_kind", "leftmost", "ocr", "caption"]
TEMPLATES = {
    "colour": ["What color is the {shape}?"],
    "shape": ["What shape is the {color} object?"],
    "count": ["How many shapes are there?"],
    "count_kind": ["How many {shape}s are there?"],
    "leftmost": ["What is the leftmost shape?"],
    "ocr": ["What does the text say?", "Read the text in the image."],
    "caption": ["Describe the image.", "Caption this image."],
}
MIN_SIZE, MAX_SIZE = 56, 448
GAP = 4
CX_GAP = 6


def load_words():
    with open(os.path.join(HERE, "words.txt"), encoding="utf-8") as f:
        return [w.strip() for w in f if w.strip()]


WORDS = load_words()
_FONTS = {}


def font(size):
    if size not in _FONTS:
        _FONTS[size] = ImageFont.truetype(FONT_PATH, size)
    return _FONTS[size]


def _apart(a, b, gap=GAP):
    """Boxes (x0, y0, x1, y1), x1/y1 exclusive: at least gap empty pixels between them on some axis."""
    return a[0] >= b[2] + gap or b[0] >= a[2] + gap or a[1] >= b[3] + gap or b[1] >= a[3] + gap


def article(color):
    return "an" if color[0] in "aeiou" else "a"


def shape_phrase(sh):
    return f"{article(sh['color'])} {sh['color']} {sh['kind']}"


def _layout(rng, W, H, n):
    smax = max(14, min(W, H) // 2)
    for _ in range(30):
        shapes = []
        for _ in range(n):
            for _ in range(200):
                s = rng.randint(14, smax)
                if s > W or s > H:
                    continue
                x0 = rng.randint(0, W - s)
                y0 = rng.randint(0, H - s)
                box = (x0, y0, x0 + s, y0 + s)
                cx = x0 + s / 2
                if all(_apart(box, o["box"]) and abs(cx - o["cx"]) >= CX_GAP for o in shapes):
                    shapes.append({"box": box, "cx": cx, "size": s})
                    break
            else:
                break
        if len(shapes) == n:
            return shapes
    return None


def scene(seed, index, size=None, p_text=0.5):
    """One ShapesWorld image as a dict: image (PIL RGB), W, H, shapes (sorted by centre x), word (str or None).

    size=(W, H) forces the canvas size (used for the extreme-aspect eval slice); everything else is drawn as usual."""
    rng = random.Random(seed * 1_000_003 + index)
    if size is None:
        W, H = rng.randint(MIN_SIZE, MAX_SIZE), rng.randint(MIN_SIZE, MAX_SIZE)
    else:
        W, H = size
    bg = tuple(rng.randint(170, 255) for _ in range(3))
    n = rng.randint(1, 4)
    while True:
        boxes = _layout(rng, W, H, n)
        if boxes is not None:
            break
        n -= 1
    shapes = []
    for b in boxes:
        kind = rng.choice(SHAPES)
        cname = rng.choice(COLOR_NAMES)
        rgb = tuple(min(255, max(0, c + rng.randint(-20, 20))) for c in COLORS[cname])
        shapes.append({**b, "kind": kind, "color": cname, "rgb": rgb})
    img = Image.new("RGB", (W, H), bg)
    d = ImageDraw.Draw(img)
    for sh in shapes:
        x0, y0, x1, y1 = sh["box"]
        x1 -= 1
        y1 -= 1
        if sh["kind"] == "circle":
            d.ellipse((x0, y0, x1, y1), fill=sh["rgb"])
        elif sh["kind"] == "square":
            d.rectangle((x0, y0, x1, y1), fill=sh["rgb"])
        else:
            d.polygon([(x0, y1), (x1, y1), (x0 + (x1 - x0) / 2, y0)], fill=sh["rgb"])
    word = None
    text_box = None
    text_font_px = None
    if rng.random() < p_text:
        w = rng.choice(WORDS)
        cap = rng.randint(12, 28)
        g = rng.randint(0, 40)
        f = font(round(cap / CAP_RATIO))
        bx0, by0, bx1, by1 = f.getbbox(w)
        tw, th = bx1 - bx0, by1 - by0
        for _ in range(200):
            if tw + 4 > W or th + 4 > H:
                break
            x = rng.randint(2, W - 2 - tw)
            y = rng.randint(2, H - 2 - th)
            box = (x, y, x + tw, y + th)
            if all(_apart(box, sh["box"]) for sh in shapes):
                d.text((x - bx0, y - by0), w, font=f, fill=(g, g, g))
                word, text_box, text_font_px = w, box, round(cap / CAP_RATIO)
                break
    shapes.sort(key=lambda sh: sh["cx"])
    return {"image": img, "W": W, "H": H, "shapes": shapes, "word": word, "text_box": text_box,
            "text_font_px": text_font_px, "seed": seed, "index": index}


def letter_centres(sc):
    """x of each letter's horizontal centre in image pixels (the word is drawn at text_box's left edge)."""
    if not sc["word"]:
        return []
    f = font(sc["text_font_px"])
    x0 = sc["text_box"][0] - f.getbbox(sc["word"])[0]
    w = sc["word"]
    return [x0 + f.getlength(w[:i]) + f.getlength(w[i]) / 2 for i in range(len(w))]


def caption(sc):
    parts = [shape_phrase(sh) for sh in sc["shapes"]]
    s = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    if sc["word"]:
        s += f' with the word "{sc["word"]}"'
    return s + "."


def questions(sc, rng=None):
    """All (task, question, answer) the spec allows on this scene. rng (random.Random) picks ocr/caption templates;
    without it the first template is used."""
    pick = (lambda xs: rng.choice(xs)) if rng is not None else (lambda xs: xs[0])
    shapes = sc["shapes"]
    out = []
    for k in SHAPES:
        of_kind = [sh for sh in shapes if sh["kind"] == k]
        if len(of_kind) == 1:
            out.append(("colour", f"What color is the {k}?", of_kind[0]["color"]))
    for c in COLOR_NAMES:
        of_col = [sh for sh in shapes if sh["color"] == c]
        if len(of_col) == 1:
            out.append(("shape", f"What shape is the {c} object?", of_col[0]["kind"]))
    out.append(("count", "How many shapes are there?", str(len(shapes))))
    for k in SHAPES:
        out.append(("count_kind", f"How many {k}s are there?", str(sum(sh["kind"] == k for sh in shapes))))
    out.append(("leftmost", "What is the leftmost shape?", shape_phrase(shapes[0])))
    out.append(("ocr", pick(TEMPLATES["ocr"]), sc["word"] or "no text"))
    out.append(("caption", pick(TEMPLATES["caption"]), caption(sc)))
    return out


def all_texts():
    """Every question template instance and every short answer (for the tokenizer)."""
    qs = [t.format(shape=k, color=c) for ts in TEMPLATES.values() for t in ts for k in SHAPES for c in COLOR_NAMES]
    ans = COLOR_NAMES + SHAPES + ["0", "1", "2", "3", "4", "no text"] + WORDS
    ans += [f"{article(c)} {c} {k}" for c in COLOR_NAMES for k in SHAPES]
    return sorted(set(qs)) + ans


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preview", required=True, help="output folder for PNGs and questions.json")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--n", type=int, default=8)
    a = ap.parse_args()
    os.makedirs(a.preview, exist_ok=True)
    listing = []
    for i in range(a.n):
        sc = scene(a.seed, i)
        name = f"sw_{a.seed}_{i:04d}.png"
        sc["image"].save(os.path.join(a.preview, name))
        qa = questions(sc, random.Random(i))
        listing.append({"image": name, "size": [sc["W"], sc["H"]], "qa": qa})
        print(name, sc["W"], "x", sc["H"])
        for t, q, ans in qa:
            print(f"   {t:10s} {q!r:40s} -> {ans!r}")
    with open(os.path.join(a.preview, "questions.json"), "w") as f:
        json.dump(listing, f, indent=1)


if __name__ == "__main__":
    main()
