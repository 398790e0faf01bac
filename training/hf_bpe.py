"""Byte-level BPE in the Hugging Face `tokenizers` format (tokenizer.json), for the tiny Chameleon checkpoint.

There is no `tokenizers` package on Debian, so this module writes the JSON itself and encodes the way the Rust library
does for exactly the configuration it writes (and nothing else):
  1. added tokens (all `special`, `normalized: false`, no lstrip/rstrip) are cut out of the raw text first, leftmost
     match, longest on a tie; the text between them is encoded piece by piece;
  2. pre-tokenizer ByteLevel(add_prefix_space=false, use_regex=true): GPT-2's split regex, then every UTF-8 byte is
     mapped to one printable character (GPT-2's bytes_to_unicode table);
  3. model BPE (no dropout, no unk, no continuing-subword prefix, ignore_merges false): repeatedly merge the adjacent
     pair with the lowest merge rank (leftmost on ties) until no adjacent pair has a merge;
  4. post-processor TemplateProcessing: `<s>` before the sequence (add_special_tokens=true, as LlamaTokenizerFast does).
Decoding (ByteLevel decoder) maps the characters back to bytes; special tokens decode to their content unless skipped.
"""
import json

import regex

# GPT-2 / tokenizers ByteLevel split pattern
SPLIT_PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def byte_to_char():
    """GPT-2's table: printable latin-1 bytes map to themselves, the other 68 bytes to U+0100.. in byte order."""
    keep = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1))
            + list(range(ord("\u00ae"), ord("\u00ff") + 1)))
    table = {}
    extra = 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


B2C = byte_to_char()
C2B = {c: b for b, c in B2C.items()}


def pretokenize(text):
    """Text (no added tokens) -> list of byte-level strings (one char per UTF-8 byte)."""
    return ["".join(B2C[b] for b in piece.encode("utf-8")) for piece in SPLIT_PATTERN.findall(text)]


def train_merges(texts, n_new_tokens):
    """Most frequent adjacent pair first (ties: smallest (left, right) string pair); returns merges [(a, b)] that
    create n_new_tokens distinct new tokens. A pair whose concatenation already exists is merged without a new token."""
    counts = {}
    for t in texts:
        for piece in pretokenize(t):
            counts[piece] = counts.get(piece, 0) + 1
    words = [(list(w), c) for w, c in sorted(counts.items())]
    merges, known, made = [], set(B2C.values()), 0
    while made < n_new_tokens:
        pairs = {}
        for toks, c in words:
            for a, b in zip(toks, toks[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + c
        if not pairs:
            raise ValueError(f"training data too small: only {made} merges reachable")
        best = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        merges.append(best)
        new = best[0] + best[1]
        if new not in known:
            known.add(new)
            made += 1
        for i, (toks, c) in enumerate(words):
            out, j = [], 0
            while j < len(toks):
                if j + 1 < len(toks) and (toks[j], toks[j + 1]) == best:
                    out.append(new)
                    j += 2
                else:
                    out.append(toks[j])
                    j += 1
            words[i] = (out, c)
    return merges


class Tokenizer:
    """vocab: token string -> id (the model vocabulary, specials included); merges: [(a, b)] in rank order;
    added: names of the added (special) tokens, each also in vocab; bos: name of the BOS token."""

    def __init__(self, vocab, merges, added, bos="<s>"):
        self.vocab = dict(vocab)
        self.inv = {i: t for t, i in self.vocab.items()}
        if len(self.inv) != len(self.vocab):
            raise ValueError("two tokens share an id")
        self.merges = [tuple(m) for m in merges]
        self.rank = {}
        for r, m in enumerate(self.merges):
            self.rank.setdefault(m, r)
        self.added = list(added)
        self.bos = bos
        # leftmost match; at one position the longest name wins
        alts = sorted(self.added, key=lambda s: (-len(s), s))
        self.added_re = regex.compile("|".join(regex.escape(a) for a in alts)) if alts else None

    # ------------------------------------------------------------------------------------------------------------------
    def _bpe(self, piece):
        parts = list(piece)
        while len(parts) > 1:
            best_i, best_r = -1, None
            for i in range(len(parts) - 1):
                r = self.rank.get((parts[i], parts[i + 1]))
                if r is not None and (best_r is None or r < best_r):
                    best_i, best_r = i, r
            if best_i < 0:
                break
            parts[best_i:best_i + 2] = [parts[best_i] + parts[best_i + 1]]
        return [self.vocab[p] for p in parts]

    def encode_plain(self, text):
        """Text without added tokens -> ids (no BOS)."""
        ids = []
        for piece in pretokenize(text):
            ids.extend(self._bpe(piece))
        return ids

    def encode(self, text, add_special_tokens=True):
        """Like tokenizers' Tokenizer.encode(text).ids for the tokenizer.json that to_json() writes."""
        ids = [self.vocab[self.bos]] if add_special_tokens else []
        pos = 0
        if self.added_re is not None:
            for m in self.added_re.finditer(text):
                ids.extend(self.encode_plain(text[pos:m.start()]))
                ids.append(self.vocab[m.group(0)])
                pos = m.end()
        ids.extend(self.encode_plain(text[pos:]))
        return ids

    def decode(self, ids, skip_special_tokens=False):
        out, buf = [], []
        for i in ids:
            tok = self.inv[int(i)]
            if tok in self.added:
                if skip_special_tokens:
                    continue
                out.append(bytes(buf).decode("utf-8", errors="replace"))
                buf = []
                out.append(tok)
            else:
                buf.extend(C2B[c] for c in tok)
        out.append(bytes(buf).decode("utf-8", errors="replace"))
        return "".join(out)

    # ------------------------------------------------------------------------------------------------------------------
    def to_json(self):
        bos_id = self.vocab[self.bos]
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [
                {"id": self.vocab[a], "content": a, "single_word": False, "lstrip": False, "rstrip": False,
                 "normalized": False, "special": True}
                for a in sorted(self.added, key=lambda a: self.vocab[a])
            ],
            "normalizer": None,
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
            "post_processor": {
                "type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": self.bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": self.bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                         {"SpecialToken": {"id": self.bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {self.bos: {"id": self.bos, "ids": [bos_id], "tokens": [self.bos]}},
            },
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {
                "type": "BPE",
                "dropout": None,
                "unk_token": None,
                "continuing_subword_prefix": None,
                "end_of_word_suffix": None,
                "fuse_unk": False,
                "byte_fallback": False,
                "vocab": {t: i for t, i in sorted(self.vocab.items(), key=lambda kv: kv[1])},
                "merges": [f"{a} {b}" for a, b in self.merges],
            },
        }

    @staticmethod
    def from_json(obj):
        model = obj["model"]
        if model["type"] != "BPE":
            raise ValueError("only BPE")
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
        added = [a["content"] for a in obj["added_tokens"]]
        bos = obj["post_processor"]["single"][0]["SpecialToken"]["id"]
        return Tokenizer(model["vocab"], merges, added, bos)

    @staticmethod
    def load(path):
        with open(path, encoding="utf-8") as f:
            return Tokenizer.from_json(json.load(f))
