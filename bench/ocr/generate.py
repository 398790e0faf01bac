#!/usr/bin/python3
"""Text-image set for the OCR benchmark: sentences, words and codes rendered in Debian's fonts (fonts-dejavu-core,
fonts-liberation, fonts-freefont-ttf) at several sizes, as single lines, short blocks, small paragraphs and tightly
cropped lines, rotated by up to a few degrees, on plain, gradient, textured and paper backgrounds, light on dark or dark
on light, with noise, blur and JPEG compression. Each image NAME.{png,jpg} has its ground truth in NAME.gt.txt
(one line of text per rendered line).

    /usr/bin/python3 bench/ocr/generate.py --out target/ocr-bench/set --n 200 --seed 1
    /usr/bin/python3 bench/ocr/generate.py --pages --out target/ocr-bench/pages --n 8 --seed 9   # dense full pages
    /usr/bin/python3 bench/ocr/generate.py --photo src/test/resources/ocr/photo    # the committed photo-like test image

Needs Debian's python3-pil and python3-numpy (the generator is deterministic for a given seed and package versions).
"""
import argparse
import glob
import math
import os
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIRS = ["/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation",
             "/usr/share/fonts/truetype/freefont"]
# Decorative or symbol faces that are not for running text.
EXCLUDE = ("MathTeXGyre", "ExtraLight")

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Please keep this door closed at all times.",
    "Meeting moved to Thursday at 3:30 pm in room 204.",
    "Fresh bread baked every morning since 1987.",
    "Total due: $1,249.99 (including tax)",
    "Turn left at the second traffic light.",
    "Warning: high voltage inside, do not open!",
    "Our store hours are 9am to 6pm, Monday to Friday.",
    "Call 555-0134 for delivery and pickup options.",
    "The museum is free for children under 12.",
    "Store in a cool, dry place away from sunlight.",
    "Every journey begins with a single step.",
    "Order #48213 shipped on 2023-11-05 via express.",
    "Visit our website for the full list of events.",
    "Parking is available behind the building.",
    "She sells sea shells by the sea shore.",
    "Net weight 500 g / 17.6 oz",
    "Do not feed the animals in the park.",
    "Quarterly revenue grew by 14% to 3.2 million.",
    "Library books are due back within 21 days.",
    "Batteries not included; requires 4 x AA.",
    "A journey of a thousand miles starts here.",
    "Emergency exit only - alarm will sound",
    "Reading is to the mind what exercise is to the body.",
    "Train 7 departs from platform 3 at 08:45.",
    "Please recycle glass, paper and plastic separately.",
    "Happy birthday to the best team in town!",
    "Lunch special: soup and salad for 8.50",
    "Scan the QR code to view the menu.",
    "Wet floor, please watch your step.",
    "The conference will start with a short keynote.",
    "Keep out of reach of children.",
    "Bring your own bag and save 5 cents.",
    "Room temperature should stay below 25 C.",
    "All sales are final after 30 days.",
    "Hand wash only, do not tumble dry.",
]
WORDS = ("apple window river market silver garden window orange planet yellow coffee bridge ticket summer winter "
         "station doctor letter number people family school garden forest island mountain picture kitchen "
         "computer network library hospital airport weather history science machine language student teacher "
         "printer battery customer question account payment invoice delivery address service quality report "
         "Monday Friday London Paris Berlin Tokyo Madrid Boston Sydney Chicago OPEN CLOSED EXIT SALE STOP "
         "Total Price Name Date Street Avenue Road North South East West").split()


def fonts():
    out = []
    for d in FONT_DIRS:
        for f in sorted(glob.glob(os.path.join(d, "*.ttf"))):
            if not any(x in f for x in EXCLUDE):
                out.append(f)
    if not out:
        raise SystemExit("no fonts found: apt-get install -y fonts-dejavu-core fonts-liberation fonts-freefont-ttf")
    return out


def code(rng):
    kind = rng.randrange(4)
    if kind == 0:
        return "%s-%d" % ("".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(3)), rng.randrange(100, 99999))
    if kind == 1:
        return "%02d/%02d/%04d" % (rng.randrange(1, 29), rng.randrange(1, 13), rng.randrange(1990, 2030))
    if kind == 2:
        return "%d.%02d" % (rng.randrange(1, 2000), rng.randrange(100))
    return "%d" % rng.randrange(10, 1000000)


def text_lines(rng):
    kind = rng.random()
    if kind < 0.45:
        return [rng.choice(SENTENCES)]
    if kind < 0.65:
        return rng.sample(SENTENCES, rng.choice([2, 2, 3]))
    if kind < 0.85:
        words = [rng.choice(WORDS) for _ in range(rng.randrange(1, 5))]
        if rng.random() < 0.4:
            words.insert(rng.randrange(len(words) + 1), code(rng))
        return [" ".join(words)]
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randrange(2, 4))) for _ in range(rng.choice([2, 3]))]


def background(rng, w, h, dark):
    kind = rng.choice(["plain", "gradient", "texture", "paper"])
    base = np.array([rng.randrange(20, 70) if dark else rng.randrange(200, 256) for _ in range(3)], dtype=np.float32)
    if kind == "plain":
        img = np.ones((h, w, 3), np.float32) * base
    elif kind == "gradient":
        other = base + np.array([rng.uniform(-60, 60) for _ in range(3)], np.float32) * (1 if not dark else -1)
        angle = rng.uniform(0, 2 * math.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        t = (xx * math.cos(angle) + yy * math.sin(angle))
        t = (t - t.min()) / max(1e-6, t.max() - t.min())
        img = base * (1 - t[..., None]) + other * t[..., None]
    elif kind == "texture":
        nrng = np.random.default_rng(rng.randrange(1 << 30))
        small = nrng.normal(0, 1, (max(2, h // 8), max(2, w // 8), 1)).astype(np.float32)
        tex = np.array(Image.fromarray(((small[..., 0] * 40) + 128).clip(0, 255).astype(np.uint8)).resize((w, h), Image.BICUBIC),
                       np.float32) - 128
        img = base + tex[..., None] * rng.uniform(0.3, 0.8)
    else:  # paper: fibres and blotches
        nrng = np.random.default_rng(rng.randrange(1 << 30))
        fine = nrng.normal(0, 6, (h, w, 1)).astype(np.float32)
        blot = np.array(Image.fromarray((nrng.normal(128, 40, (max(2, h // 40), max(2, w // 40)))).clip(0, 255)
                                        .astype(np.uint8)).resize((w, h), Image.BICUBIC), np.float32)[..., None] - 128
        img = base + fine + blot * 0.25
    return img.clip(0, 255)


def render(rng, lines, font_path, size, w_pad, h_pad):
    font = ImageFont.truetype(font_path, size)
    spacing = int(size * rng.uniform(0.35, 0.8))
    widths, heights, tops = [], [], []
    for line in lines:
        l, t, r, b = font.getbbox(line)
        widths.append(r - l)
    ascent, descent = font.getmetrics()
    line_h = ascent + descent
    w = max(widths) + 2 * w_pad
    h = line_h * len(lines) + spacing * (len(lines) - 1) + 2 * h_pad
    layer = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(layer)
    align = rng.choice(["left", "left", "center"])
    for i, line in enumerate(lines):
        x = w_pad + ((max(widths) - widths[i]) // 2 if align == "center" else 0) - font.getbbox(line)[0]
        d.text((x, h_pad + i * (line_h + spacing)), line, font=font, fill=255)
    return layer


def sample(rng, all_fonts):
    layout = rng.random()
    font = rng.choice(all_fonts)
    if layout < 0.12:  # tightly cropped line, as in word/line-crop data sets
        lines = text_lines(rng)[:1]
        size = rng.choice([14, 18, 24, 32, 40])
        mask = render(rng, lines, font, size, rng.randrange(1, 5), rng.randrange(0, 3))
    elif layout < 0.24:  # a small document: a paragraph of several lines
        lines = rng.sample(SENTENCES, rng.randrange(4, 8))
        size = rng.choice([14, 16, 18, 20, 24])
        mask = render(rng, lines, font, size, int(size * rng.uniform(1, 3)), int(size * rng.uniform(1, 3)))
    else:
        lines = text_lines(rng)
        size = rng.choice([16, 18, 20, 24, 28, 32, 40, 48, 56])
        mask = render(rng, lines, font, size, int(size * rng.uniform(0.6, 2.0)), int(size * rng.uniform(0.5, 1.5)))
    angle = rng.uniform(-4, 4) if rng.random() < 0.7 else 0.0
    if angle:
        mask = mask.rotate(angle, resample=Image.BICUBIC, expand=True)
    w, h = mask.size
    dark = rng.random() < 0.15
    bg = background(rng, w, h, dark)
    ink = np.array([rng.randrange(200, 256) if dark else rng.randrange(0, 80) for _ in range(3)], np.float32)
    a = (np.array(mask, np.float32) / 255.0)[..., None] * rng.uniform(0.85, 1.0)
    img = bg * (1 - a) + ink * a
    sigma = rng.choice([0, 0, 3, 6, 10])
    if sigma:
        img = img + np.random.default_rng(rng.randrange(1 << 30)).normal(0, sigma, img.shape)
    out = Image.fromarray(img.clip(0, 255).astype(np.uint8))
    blur = rng.choice([0, 0, 0.5, 0.8, 1.1])
    if blur:
        out = out.filter(ImageFilter.GaussianBlur(blur))
    return out, lines, dict(font=os.path.basename(font), size=size, angle=round(angle, 2), noise=sigma, blur=blur)


def photo(path):
    """A photo-like page: three lines in DejaVu Serif on a lit paper texture, small rotation, perspective, noise, JPEG."""
    rng = random.Random(7)
    lines = ["Glimpse reads text in photos", "Invoice 2024-117: total 48.50 EUR", "The quick brown fox jumps over the lazy dog."]
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", 34)
    w, h = 900, 420
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    light = 235 - 45 * (((xx - w * 0.7) / w) ** 2 + ((yy - h * 0.2) / h) ** 2)  # uneven lighting
    nrng = np.random.default_rng(3)
    blot = np.array(Image.fromarray(nrng.normal(128, 40, (h // 30, w // 30)).clip(0, 255).astype(np.uint8))
                    .resize((w, h), Image.BICUBIC), np.float32) - 128
    bg = np.stack([light + blot * 0.2, light * 0.97 + blot * 0.2, light * 0.9 + blot * 0.2], -1)
    mask = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(mask)
    for i, line in enumerate(lines):
        d.text((70, 90 + i * 85), line, font=font, fill=255)
    mask = mask.rotate(-2.5, resample=Image.BICUBIC, center=(w / 2, h / 2))
    a = (np.array(mask, np.float32) / 255)[..., None] * 0.92
    img = bg * (1 - a) + np.array([35, 30, 45], np.float32) * a
    img = img + nrng.normal(0, 5, img.shape)
    im = Image.fromarray(img.clip(0, 255).astype(np.uint8))
    # perspective: the page is seen slightly from the left and above
    src = [(0, 0), (w, 0), (w, h), (0, h)]
    dst = [(25, 12), (w - 5, 0), (w - 18, h - 6), (8, h - 20)]
    coeffs = perspective_coeffs(dst, src)
    im = im.transform((w, h), Image.PERSPECTIVE, coeffs, Image.BICUBIC, fillcolor=(90, 85, 80))
    im = im.filter(ImageFilter.GaussianBlur(0.6))
    im.save(path + ".jpg", quality=72)
    with open(path + ".gt.txt", "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def pages(out, n, seed):
    """Dense full pages: 1240-2000 px wide, up to 25 lines of two sentences each at 18-24 px, on a generated background."""
    os.makedirs(out, exist_ok=True)
    rng = random.Random(seed)
    all_fonts = fonts()
    for i in range(n):
        w, h = rng.choice([(1600, 1200), (2000, 1400), (1240, 1754)])
        size = rng.choice([18, 20, 24])
        font = ImageFont.truetype(rng.choice(all_fonts), size)
        img = Image.fromarray(background(rng, w, h, False).astype(np.uint8))
        d = ImageDraw.Draw(img)
        lines, y = [], 60
        while y < h - 80 and len(lines) < 25:
            t = " ".join(rng.sample(SENTENCES, 2))
            d.text((60, y), t, font=font, fill=(20, 20, 20))
            lines.append(t)
            y += int(size * 1.8)
        img.save(os.path.join(out, "%02d.jpg" % i), quality=85)
        with open(os.path.join(out, "%02d.gt.txt" % i), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    print("wrote %d pages to %s" % (n, out))


def perspective_coeffs(dst, src):
    """Coefficients PIL's PERSPECTIVE transform wants: output pixel (x, y) samples input at the mapped point."""
    m = []
    for (x, y), (u, v) in zip(dst, src):
        m.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        m.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    return np.linalg.solve(np.array(m, np.float64), np.array([c for p in src for c in p], np.float64)).tolist()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="target/ocr-bench/set")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--photo", help="write only the photo-like test image to PATH.jpg / PATH.gt.txt")
    ap.add_argument("--pages", action="store_true", help="write N dense full pages instead of the mixed set")
    args = ap.parse_args()
    if args.photo:
        photo(args.photo)
        return
    if args.pages:
        pages(args.out, args.n, args.seed)
        return
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)
    all_fonts = fonts()
    with open(os.path.join(args.out, "manifest.tsv"), "w", encoding="utf-8") as manifest:
        manifest.write("name\tfont\tsize\tangle\tnoise\tblur\n")
        for i in range(args.n):
            img, lines, meta = sample(rng, all_fonts)
            name = "%04d" % i
            if rng.random() < 0.5:
                img.save(os.path.join(args.out, name + ".jpg"), quality=rng.choice([60, 75, 90]))
            else:
                img.save(os.path.join(args.out, name + ".png"))
            with open(os.path.join(args.out, name + ".gt.txt"), "w", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")
            manifest.write("%s\t%s\t%d\t%s\t%d\t%s\n" % (name, meta["font"], meta["size"], meta["angle"], meta["noise"], meta["blur"]))
    print("wrote %d images to %s" % (args.n, args.out))


if __name__ == "__main__":
    main()
