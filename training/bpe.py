"""Byte-level BPE in the tiktoken format, with Kimi's pre-tokenizer (model-families.md 1.6).

ranks: dict bytes -> rank. Ranks 0..255 are the single bytes in byte order, then one rank per merge in training order.
Encoding mirrors tiktoken exactly, so the Java tokenizer can be checked against it:
  1. split the text with PATTERN (regex module, V1 flag for the && set intersections);
  2. per piece: if the whole piece is a token, that token; otherwise start from single bytes and repeatedly merge the
     adjacent pair whose concatenation has the lowest rank (leftmost pair on ties) until no adjacent pair is a token.
Special tokens are never parsed from text: callers insert their ids.
"""
import base64
from collections import Counter

import regex

PATTERN_STR = "|".join([
    r"""[\p{Han}]+""",
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""\p{N}{1,3}""",
    r""" ?[^\s\p{L}\p{N}]+[\r\n]*""",
    r"""\s*[\r\n]+""",
    r"""\s+(?!\S)""",
    r"""\s+""",
])
PATTERN = regex.compile(PATTERN_STR, regex.V1)


def pretokenize(text):
    """Split text into pre-tokenizer pieces (str)."""
    return PATTERN.findall(text)


def train(texts, vocab_size):
    """Train byte-level BPE on texts; returns ranks (bytes -> rank) with exactly vocab_size entries.

    Each text is pre-tokenized; pieces are counted. Each step merges the most frequent adjacent pair over all pieces
    (ties: lexicographically smallest (left bytes, right bytes)). A pair whose concatenation is already a token is
    merged in the pieces without taking a new rank.
    """
    if vocab_size < 256:
        raise ValueError("vocab_size must be >= 256")
    ranks = {bytes([i]): i for i in range(256)}
    counts = Counter()
    for t in texts:
        for piece in pretokenize(t):
            counts[piece.encode("utf-8")] += 1
    # word -> (list of token bytes, count); ordered for determinism
    words = [([bytes([b]) for b in w], c) for w, c in sorted(counts.items())]
    while len(ranks) < vocab_size:
        pairs = Counter()
        for toks, c in words:
            for a, b in zip(toks, toks[1:]):
                pairs[(a, b)] += c
        if not pairs:
            raise ValueError(f"training data too small: only {len(ranks)} tokens reachable")
        best = min(pairs.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1]))[0]
        merged = best[0] + best[1]
        if merged not in ranks:
            ranks[merged] = len(ranks)
        for i, (toks, c) in enumerate(words):
            if len(toks) < 2:
                continue
            out = []
            j = 0
            while j < len(toks):
                if j + 1 < len(toks) and toks[j] == best[0] and toks[j + 1] == best[1]:
                    out.append(merged)
                    j += 2
                else:
                    out.append(toks[j])
                    j += 1
            words[i] = (out, c)
    return ranks


def save_tiktoken(path, ranks):
    """One line per token: base64(bytes) + ' ' + rank, sorted by rank."""
    with open(path, "w", encoding="ascii", newline="\n") as f:
        for tok, r in sorted(ranks.items(), key=lambda kv: kv[1]):
            f.write(f"{base64.b64encode(tok).decode('ascii')} {r}\n")


def load_tiktoken(path):
    ranks = {}
    with open(path, "r", encoding="ascii") as f:
        for line in f:
            if line.strip():
                tok, r = line.split()
                ranks[base64.b64decode(tok)] = int(r)
    return ranks


def _bpe_piece(piece, ranks):
    if piece in ranks:
        return [ranks[piece]]
    parts = [piece[i:i + 1] for i in range(len(piece))]
    while len(parts) > 1:
        best_i, best_r = -1, None
        for i in range(len(parts) - 1):
            r = ranks.get(parts[i] + parts[i + 1])
            if r is not None and (best_r is None or r < best_r):
                best_i, best_r = i, r
        if best_i < 0:
            break
        parts[best_i:best_i + 2] = [parts[best_i] + parts[best_i + 1]]
    return [ranks[p] for p in parts]


def encode(text, ranks):
    """Encode ordinary text (no special tokens) to token ids."""
    ids = []
    for piece in pretokenize(text):
        ids.extend(_bpe_piece(piece.encode("utf-8"), ranks))
    return ids


def decode(ids, ranks):
    inv = {r: t for t, r in ranks.items()}
    return b"".join(inv[i] for i in ids).decode("utf-8", errors="replace")
