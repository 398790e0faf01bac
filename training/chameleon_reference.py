"""PyTorch reference for the Chameleon family (early fusion: VQ-GAN image tokens in the text vocabulary).

Module and parameter names follow the Hugging Face checkpoint (transformers' ChameleonForConditionalGeneration), so
state_dict() keys equal the real tensor names: model.embed_tokens.weight, model.layers.{i}.*, model.norm.weight,
lm_head.weight and the VQ-GAN under model.vqmodel.*. The optional VQ-GAN decoder (image generation, Anole) sits under
model.vqmodel.decoder.* and model.vqmodel.post_quant_conv.*, named as in Meta's VQGAN (taming-transformers), which is
also what transformers' Anole port uses. Spec: ../shared/docs/model-families.md section 2 (beside the repository).
Everything is computed in fp32, whatever the stored dtype.

Written from the facts, not copied. Read for them: transformers' models/chameleon/ (modeling, configuration,
image_processing, processing, convert_chameleon_weights_to_hf) and models/anole/modular_anole.py, vLLM's chameleon.py,
Meta's chameleon/inference/{vqgan,image_tokenizer,vocab}.py.
"""
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

IMG_PREFIX = "IMGIMG"
BOI = "<racm3:break>"        # begin of image
EOI = "<eoss>"               # end of image
SEP = "<reserved08706>"      # chat-mode separator appended after the prompt (HF tokenizer.sep_token, Meta's eot)
IMAGE_PLACEHOLDER = "<image>"  # HF's name for Meta's <reserved08707>; only a placeholder in prompt strings


# ----------------------------------------------------------------------------------------------------------------------
# Image preprocessing (model-families 2.1)

def blend_rgba_over_white(img):
    """HF ChameleonImageProcessor.blend_rgba == Meta's _whiten_transparency: non-RGB images with some alpha < 255 are
    composited over white in float64, then truncated to uint8; other non-RGB images are just converted to RGB."""
    if img.mode == "RGB":
        return img
    rgba = np.array(img.convert("RGBA"))
    if not (rgba[:, :, 3] < 255).any():
        return img.convert("RGB")
    alpha = rgba[:, :, 3:4] / 255.0
    rgb = (1 - alpha) * 255 + alpha * rgba[:, :, :3]
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


def resized_size(w, h, short_edge, convention="hf"):
    """Shortest edge -> short_edge, aspect kept. HF: long = int(short_edge * long / short) (truncation);
    Meta: both sides round(scale * side) with scale = short_edge / short (Python round, half to even)."""
    if convention == "hf":
        if w <= h:
            return short_edge, int(short_edge * h / w)
        return int(short_edge * w / h), short_edge
    scale = short_edge / min(w, h)
    return round(scale * w), round(scale * h)


def preprocess_image(img, resolution=512, rescale_factor=0.0078, mean=(1.0, 1.0, 1.0), std=(1.0, 1.0, 1.0),
                     convention="hf"):
    """PIL image -> pixel_values (3, R, R) fp32 in about [-1, 1].

    Both conventions: RGBA over white, shortest edge -> R with PIL Lanczos (reducing_gap None), center crop R x R at
    ((W - R) // 2, (H - R) // 2). Then
      hf:   x * rescale_factor (float64, then float32), then (x - mean) / std in float32. HF's defaults are 0.0078 and
            mean = std = 1, so x * 0.0078 - 1: 255 maps to 0.989, not 1 (HF's constant, not 2/255).
      meta: x / 255 * 2 - 1 in float64, then float32; 255 maps to exactly 1.
    """
    img = blend_rgba_over_white(img)
    w, h = img.size
    nw, nh = resized_size(w, h, resolution, convention)
    if (nw, nh) != (w, h):
        img = img.resize((nw, nh), Image.LANCZOS)
    left, top = (nw - resolution) // 2, (nh - resolution) // 2
    img = img.crop((left, top, left + resolution, top + resolution))
    x = np.asarray(img, dtype=np.uint8)  # (R, R, 3)
    if convention == "hf":
        x = (x.astype(np.float64) * rescale_factor).astype(np.float32)
        x = (x - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    elif convention == "meta":
        x = (x / 255.0 * 2 - 1).astype(np.float32)
    else:
        raise ValueError(convention)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))


def preprocess_resize_exact(img, height, width, rescale_factor=0.0078, mean=(1.0, 1.0, 1.0), std=(1.0, 1.0, 1.0)):
    """PIL image -> pixel_values (3, height, width) fp32: HF's path for size {"height", "width"} without center crop.

    RGBA over white, then PIL Lanczos resize to exactly (width, height) whatever the aspect ratio (a squash, not a crop;
    reducing_gap None; an image already of that size is unchanged), then x * rescale_factor in float64 -> float32 and
    (x - mean) / std in float32, as preprocess_image's hf convention."""
    img = blend_rgba_over_white(img)
    if img.size != (width, height):
        img = img.resize((width, height), Image.LANCZOS)
    x = np.asarray(img, dtype=np.uint8)  # (height, width, 3)
    x = (x.astype(np.float64) * rescale_factor).astype(np.float32)
    x = (x - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))


def preprocess_from_config(img, pp):
    """pp: preprocessor_config.json of a HF Chameleon checkpoint. Two layouts: size {"shortest_edge": R} with a center
    crop R x R (the released checkpoints), or size {"height": h, "width": w} with do_center_crop false (a squash to
    exactly h x w: preprocess_resize_exact; tiny-chameleon)."""
    if pp.get("resample", 1) != 1:
        raise NotImplementedError("only resample 1 (Lanczos)")
    if "shortest_edge" not in pp["size"]:
        if not pp.get("do_resize", True) or pp.get("do_center_crop", True) or not pp.get("do_rescale", True) \
                or not pp.get("do_normalize", True):
            raise NotImplementedError("size height/width needs do_resize, do_rescale, do_normalize, no center crop")
        return preprocess_resize_exact(img, pp["size"]["height"], pp["size"]["width"], pp["rescale_factor"],
                                       pp["image_mean"], pp["image_std"])
    r = pp["size"]["shortest_edge"]
    if pp["crop_size"]["height"] != r or pp["crop_size"]["width"] != r:
        raise NotImplementedError("crop size must equal the shortest edge")
    return preprocess_image(img, r, pp["rescale_factor"], pp["image_mean"], pp["image_std"], "hf")


def pixels_to_uint8(x):
    """Decoder output (3, R, R) -> (R, R, 3) uint8: clamp [-1, 1], (x + 1) / 2 * 255, truncate (Meta's
    _pil_from_chw_tensor; the product is computed in float32)."""
    x = (torch.clamp(x.float(), -1.0, 1.0) + 1.0) / 2.0
    return (x.permute(1, 2, 0) * 255).to(torch.uint8)


# ----------------------------------------------------------------------------------------------------------------------
# Code <-> vocabulary mapping (model-families 2.3)

def code_to_name(code):
    """VQ code -> vocabulary entry name: decimal digits written as letters A..J, between IMGIMG and Z."""
    return IMG_PREFIX + "".join(chr(ord("A") + int(d)) for d in str(int(code))) + "Z"


def name_to_code(name):
    """int(name[6:-1]) with letters A..J read as digits 0..9 (other characters are kept, as HF and Meta do)."""
    if not name.startswith(IMG_PREFIX):
        raise ValueError(name)
    return int("".join(str(ord(c) - ord("A")) if "A" <= c <= "J" else c for c in name[len(IMG_PREFIX):-1]))


class VocabularyMapping:
    """From config.json's vocabulary_map (token name -> id)."""

    def __init__(self, vocabulary_map):
        self.vocab = dict(vocabulary_map)
        self.image_token_ids = sorted(i for n, i in self.vocab.items() if n.startswith(IMG_PREFIX))
        self.bpe2img = {i: name_to_code(n) for n, i in self.vocab.items() if n.startswith(IMG_PREFIX)}
        self.img2bpe = {c: i for i, c in self.bpe2img.items()}
        if len(self.img2bpe) != len(self.bpe2img):
            raise ValueError("two image tokens decode to the same code")
        n = max(self.img2bpe) + 1
        self.img2bpe_table = torch.tensor([self.img2bpe.get(c, -1) for c in range(n)], dtype=torch.int64)

    def codes_to_ids(self, codes):
        ids = self.img2bpe_table[codes]
        if (ids < 0).any():
            raise ValueError("code without a vocabulary entry")
        return ids

    def ids_to_codes(self, ids):
        return torch.tensor([self.bpe2img[int(i)] for i in ids.reshape(-1)], dtype=torch.int64).view(ids.shape)

    def text_mask(self, vocab_size):
        """Bool (vocab,): True where the id is an image token (set to -inf for text output)."""
        m = torch.zeros(vocab_size, dtype=torch.bool)
        m[self.image_token_ids] = True
        return m


def build_prompt_ids(parts, tokenizer, mapping, chat=True):
    """parts: list of str (text) or LongTensor (one image's codes, row-major). Returns the ids HF's ChameleonProcessor
    + model produce for the same prompt: <s>, text pieces, <racm3:break> + image token ids + <eoss> per image, and the
    separator <reserved08706> at the end in chat mode (HF appends tokenizer.sep_token unless
    return_for_text_completion).
    HF feeds <image> placeholders and swaps their embeddings for embed_tokens(image ids): the same vectors."""
    v = mapping.vocab
    ids = [v[tokenizer.bos]]
    for p in parts:
        if isinstance(p, str):
            ids.extend(tokenizer.encode(p, add_special_tokens=False))
        else:
            ids.append(v[BOI])
            ids.extend(mapping.codes_to_ids(p.reshape(-1)).tolist())
            ids.append(v[EOI])
    if chat:
        ids.append(v[SEP])
    return ids


def placeholder_prompt(parts, image_seq_length, chat=True):
    """The prompt string HF's processor tokenizes (images expanded to <racm3:break> + <image> * n + <eoss>)."""
    s = "".join(p if isinstance(p, str) else BOI + IMAGE_PLACEHOLDER * image_seq_length + EOI for p in parts)
    return s + (SEP if chat else "")


# ----------------------------------------------------------------------------------------------------------------------
# VQ-GAN (model-families 2.2, 2.5)

def group_norm(c):
    return nn.GroupNorm(num_groups=32, num_channels=c, eps=1e-6, affine=True)


def swish(x):
    return x * torch.sigmoid(x)


class ResnetBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.cin, self.cout = cin, cout
        self.norm1 = group_norm(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1)
        self.norm2 = group_norm(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        if cin != cout:
            self.nin_shortcut = nn.Conv2d(cin, cout, 1, 1, 0)  # 1x1 (conv_shortcut=False in all Chameleon VQ-GANs)

    def forward(self, x):
        h = self.conv1(swish(self.norm1(x)))
        h = self.conv2(swish(self.norm2(h)))  # dropout 0 at inference
        return (self.nin_shortcut(x) if self.cin != self.cout else x) + h


class AttnBlock(nn.Module):
    """Single-head self-attention over the H*W positions, scale C^-0.5, 1x1 convs, residual."""

    def __init__(self, c):
        super().__init__()
        self.norm = group_norm(c)
        self.q = nn.Conv2d(c, c, 1)
        self.k = nn.Conv2d(c, c, 1)
        self.v = nn.Conv2d(c, c, 1)
        self.proj_out = nn.Conv2d(c, c, 1)

    def forward(self, x):
        b, c, hh, ww = x.shape
        h = self.norm(x)
        q = self.q(h).reshape(b, c, hh * ww).transpose(1, 2)  # (b, hw, c)
        k = self.k(h).reshape(b, c, hh * ww)                  # (b, c, hw)
        v = self.v(h).reshape(b, c, hh * ww)                  # (b, c, hw)
        att = torch.softmax((q @ k) * (c ** -0.5), dim=-1)    # (b, hw_q, hw_k)
        out = (v @ att.transpose(1, 2)).reshape(b, c, hh, ww)
        return x + self.proj_out(out)


class Downsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 2, 0)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1)))  # pad right and bottom by one, then 3x3 stride 2


class Upsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 1, 1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def _vq_dims(cfg):
    if cfg.get("double_latent", False):
        raise NotImplementedError("double_latent")
    if cfg.get("attn_type", "vanilla") != "vanilla":
        raise NotImplementedError("attn_type must be vanilla")
    attn_res = set(cfg.get("attn_resolutions") or [])
    return cfg["base_channels"], list(cfg["channel_multiplier"]), cfg["num_res_blocks"], attn_res


class Level(nn.Module):
    """One resolution level: block.{j} (+ attn.{j} when the level's resolution is in attn_resolutions)."""

    def __init__(self, channels, with_attn):
        super().__init__()
        self.block = nn.ModuleList([ResnetBlock(a, b) for a, b in channels])
        self.attn = nn.ModuleList([AttnBlock(b) for _, b in channels] if with_attn else [])

    def run_blocks(self, x):
        for j, blk in enumerate(self.block):
            x = blk(x)
            if len(self.attn):
                x = self.attn[j](x)
        return x


class Mid(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.block_1 = ResnetBlock(c, c)
        self.attn_1 = AttnBlock(c)
        self.block_2 = ResnetBlock(c, c)

    def forward(self, x):
        return self.block_2(self.attn_1(self.block_1(x)))


class VQEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        ch, mult, nres, attn_res = _vq_dims(cfg)
        self.n_levels = len(mult)
        self.conv_in = nn.Conv2d(cfg["in_channels"], ch, 3, 1, 1)
        res, in_mult = cfg["resolution"], [1] + mult
        self.down = nn.ModuleList()
        for i in range(self.n_levels):
            cin, cout = ch * in_mult[i], ch * mult[i]
            lvl = Level([(cin, cout)] + [(cout, cout)] * (nres - 1), res in attn_res)
            if i != self.n_levels - 1:
                lvl.downsample = Downsample(cout)
                res //= 2
            self.down.append(lvl)
        c = ch * mult[-1]
        self.mid = Mid(c)
        self.norm_out = group_norm(c)
        self.conv_out = nn.Conv2d(c, cfg["latent_channels"], 3, 1, 1)

    def forward(self, x):
        h = self.conv_in(x)
        for i, lvl in enumerate(self.down):
            h = lvl.run_blocks(h)
            if i != self.n_levels - 1:
                h = lvl.downsample(h)
        h = self.mid(h)
        return self.conv_out(swish(self.norm_out(h)))


class VQDecoder(nn.Module):
    """Meta's VQGAN decoder (Anole generates with it): num_res_blocks + 1 blocks per level, levels walked from the
    lowest resolution up; up.{i} is indexed like the encoder's down.{i} (up.0 is the full-resolution level)."""

    def __init__(self, cfg):
        super().__init__()
        ch, mult, nres, attn_res = _vq_dims(cfg)
        self.n_levels = len(mult)
        c = ch * mult[-1]
        res = cfg["resolution"] // 2 ** (self.n_levels - 1)
        self.conv_in = nn.Conv2d(cfg["latent_channels"], c, 3, 1, 1)
        self.mid = Mid(c)
        ups = [None] * self.n_levels
        for i in reversed(range(self.n_levels)):
            cout = ch * mult[i]
            lvl = Level([(c, cout)] + [(cout, cout)] * nres, res in attn_res)
            c = cout
            if i != 0:
                lvl.upsample = Upsample(c)
                res *= 2
            ups[i] = lvl
        self.up = nn.ModuleList(ups)
        self.norm_out = group_norm(c)
        self.conv_out = nn.Conv2d(c, cfg.get("out_channels", 3), 3, 1, 1)

    def forward(self, z):
        h = self.mid(self.conv_in(z))
        for i in reversed(range(self.n_levels)):
            h = self.up[i].run_blocks(h)
            if i != 0:
                h = self.up[i].upsample(h)
        return self.conv_out(swish(self.norm_out(h)))


class VectorQuantizer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embedding = nn.Embedding(cfg["num_embeddings"], cfg["embed_dim"])  # the codebook (n, embed_dim)

    def distances(self, z):
        """z (B, C, h, w) -> squared L2 distances (B*h*w, n), rows row-major over (b, y, x); HF's z^2 + e^2 - 2 z.e."""
        zf = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
        e = self.embedding.weight.float()
        return (zf ** 2).sum(1, keepdim=True) + (e ** 2).sum(1)[None] - 2 * zf @ e.t()

    def forward(self, z):
        return torch.argmin(self.distances(z), dim=1).view(z.shape[0], -1)  # (B, h*w) codes

    def lookup(self, codes, h, w):
        """codes (B, h*w) row-major -> (B, embed_dim, h, w)."""
        return self.embedding(codes).view(codes.shape[0], h, w, -1).permute(0, 3, 1, 2)


class ChameleonVQVAE(nn.Module):
    def __init__(self, cfg, with_decoder=True):
        super().__init__()
        self.cfg = cfg
        self.grid = cfg["resolution"] // 2 ** (len(cfg["channel_multiplier"]) - 1)
        self.encoder = VQEncoder(cfg)
        self.quant_conv = nn.Conv2d(cfg["latent_channels"], cfg["embed_dim"], 1)
        self.quantize = VectorQuantizer(cfg)
        self.post_quant_conv = nn.Conv2d(cfg["embed_dim"], cfg["latent_channels"], 1)  # in HF's checkpoint too
        if with_decoder:
            self.decoder = VQDecoder(cfg)

    def latents(self, pixel_values):
        """(B, 3, R, R) -> z (B, embed_dim, grid, grid), the vectors that are quantized."""
        return self.quant_conv(self.encoder(pixel_values))

    def encode(self, pixel_values):
        """(B, 3, R, R) -> codes (B, grid*grid) row-major."""
        return self.quantize(self.latents(pixel_values))

    def decode(self, codes):
        """codes (B, grid*grid) -> pixels (B, 3, R, R), unclamped."""
        q = self.quantize.lookup(codes, self.grid, self.grid)
        return self.decoder(self.post_quant_conv(q))


# ----------------------------------------------------------------------------------------------------------------------
# Language model (model-families 2.4)

class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        x = x.float()
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


class PerHeadLayerNorm(nn.Module):
    """HF's ChameleonLayerNorm: layer norm over head_dim without affine (eps fixed at 1e-5 in HF and vLLM, whatever
    the config says), then * weight (heads, head_dim) + bias (heads, head_dim)."""

    def __init__(self, heads, head_dim):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(heads, head_dim))
        self.bias = nn.Parameter(torch.zeros(heads, head_dim))

    def forward(self, x):  # (..., heads, head_dim)
        return F.layer_norm(x, x.shape[-1:], None, None, eps=1e-5) * self.weight + self.bias


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class ChameleonAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["hidden_size"]
        self.h = cfg["num_attention_heads"]
        self.kvh = cfg.get("num_key_value_heads", self.h)
        self.hd = d // self.h
        bias = cfg.get("attention_bias", False)
        self.q_proj = nn.Linear(d, self.h * self.hd, bias=bias)
        self.k_proj = nn.Linear(d, self.kvh * self.hd, bias=bias)
        self.v_proj = nn.Linear(d, self.kvh * self.hd, bias=bias)
        self.o_proj = nn.Linear(self.h * self.hd, d, bias=bias)
        self.q_norm = PerHeadLayerNorm(self.h, self.hd)
        self.k_norm = PerHeadLayerNorm(self.kvh, self.hd)
        if cfg.get("rope_scaling") is not None:
            raise NotImplementedError("rope_scaling must be null")
        theta = cfg.get("rope_theta", (cfg.get("rope_parameters") or {}).get("rope_theta", 10000.0))
        inv = 1.0 / (theta ** (torch.arange(0, self.hd, 2, dtype=torch.int64).float() / self.hd))
        self.register_buffer("inv_freq", inv, persistent=False)

    def cos_sin(self, positions):
        f = torch.outer(positions.float(), self.inv_freq)
        emb = torch.cat([f, f], dim=-1)  # (S, hd): rotate_half layout (HF permuted Meta's interleaved q/k rows)
        return emb.cos(), emb.sin()

    def forward(self, x, positions, cache=None):
        """x (B,S,D); positions (S,); cache: dict with 'k','v' (B,kvh,T,hd), extended in place."""
        B, S, _ = x.shape
        q = self.q_norm(self.q_proj(x).view(B, S, self.h, self.hd)).transpose(1, 2)    # (B,h,S,hd)
        k = self.k_norm(self.k_proj(x).view(B, S, self.kvh, self.hd)).transpose(1, 2)  # (B,kvh,S,hd)
        v = self.v_proj(x).view(B, S, self.kvh, self.hd).transpose(1, 2)
        cos, sin = self.cos_sin(positions)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if cache is not None and "k" in cache:
            k = torch.cat([cache["k"], k], dim=2)
            v = torch.cat([cache["v"], v], dim=2)
        if cache is not None:
            cache["k"], cache["v"] = k, v
        rep = self.h // self.kvh
        if rep > 1:
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        T = k.shape[2]
        scores = (q @ k.transpose(-1, -2)) * self.hd ** -0.5  # (B,h,S,T)
        scores = scores.masked_fill(torch.arange(T)[None, :] > positions[:, None], float("-inf"))
        out = torch.softmax(scores, dim=-1) @ v
        return self.o_proj(out.transpose(1, 2).reshape(B, S, self.h * self.hd))


class ChameleonMLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        if cfg.get("hidden_act", "silu") != "silu":
            raise NotImplementedError("hidden_act must be silu")
        d, i, bias = cfg["hidden_size"], cfg["intermediate_size"], cfg.get("mlp_bias", False)
        self.gate_proj = nn.Linear(d, i, bias=bias)
        self.up_proj = nn.Linear(d, i, bias=bias)
        self.down_proj = nn.Linear(i, d, bias=bias)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class ChameleonDecoderLayer(nn.Module):
    """Pre-norm (7B): x + attn(norm(x)), then x + mlp(norm(x)).
    swin_norm (30B/34B): x + norm(attn(x)), then x + norm(mlp(x)), with the same two norms."""

    def __init__(self, cfg):
        super().__init__()
        d, eps = cfg["hidden_size"], cfg["rms_norm_eps"]
        self.swin = bool(cfg.get("swin_norm", False))
        self.self_attn = ChameleonAttention(cfg)
        self.mlp = ChameleonMLP(cfg)
        self.input_layernorm = RMSNorm(d, eps)
        self.post_attention_layernorm = RMSNorm(d, eps)

    def forward(self, x, positions, cache=None):
        if self.swin:
            x = x + self.input_layernorm(self.self_attn(x, positions, cache))
            return x + self.post_attention_layernorm(self.mlp(x))
        x = x + self.self_attn(self.input_layernorm(x), positions, cache)
        return x + self.mlp(self.post_attention_layernorm(x))


class ChameleonModel(nn.Module):
    def __init__(self, cfg, with_vq_decoder=True):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList([ChameleonDecoderLayer(cfg) for _ in range(cfg["num_hidden_layers"])])
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.vqmodel = ChameleonVQVAE(cfg["vq_config"], with_vq_decoder)

    def forward(self, inputs_embeds, positions, caches=None):
        x = inputs_embeds
        for i, layer in enumerate(self.layers):
            x = layer(x, positions, None if caches is None else caches[i])
        return self.norm(x)


class ChameleonForConditionalGeneration(nn.Module):
    def __init__(self, config, with_vq_decoder=True):
        super().__init__()
        if config.get("tie_word_embeddings"):
            raise NotImplementedError("tied embeddings")
        self.config = config
        self.model = ChameleonModel(config, with_vq_decoder)
        self.lm_head = nn.Linear(config["hidden_size"], config["vocab_size"], bias=False)
        self.mapping = VocabularyMapping(config["vocabulary_map"])
        self.register_buffer("image_mask", self.mapping.text_mask(config["vocab_size"]), persistent=False)

    def set_swin_norm(self, on):
        for layer in self.model.layers:
            layer.swin = bool(on)

    def image_codes(self, pixel_values):
        return self.model.vqmodel.encode(pixel_values)

    def image_token_ids(self, pixel_values):
        """(B, 3, R, R) -> (B, grid*grid) vocabulary ids."""
        return self.mapping.codes_to_ids(self.image_codes(pixel_values))

    def new_cache(self):
        return [dict() for _ in self.model.layers]

    def forward(self, input_ids, caches=None, start_pos=0):
        """Raw logits (B, S, V) for input_ids at positions start_pos.. (image tokens are ordinary ids here: their
        embeddings are embed_tokens rows, no projector). caches (from new_cache()) are extended in place."""
        positions = torch.arange(start_pos, start_pos + input_ids.shape[1])
        return self.lm_head(self.model(self.model.embed_tokens(input_ids), positions, caches))

    def text_logits(self, logits):
        """Image token ids -> -inf (HF writes finfo.min), so text decoding never picks one."""
        return logits.masked_fill(self.image_mask, float("-inf"))

    def greedy(self, input_ids, n):
        """KV-cached greedy text decoding of n tokens (no stop token). Returns (tokens (n,), raw logits (n, V)): row 0
        is the last prefill row, row t the cached single-token step fed token t-1; and the raw prefill logits (S, V)."""
        caches = self.new_cache()
        prefill = self(input_ids, caches, 0)[0]
        S = input_ids.shape[1]
        logits, tokens, rows = prefill[-1], [], []
        for t in range(n):
            rows.append(logits)
            nxt = int(torch.argmax(self.text_logits(logits)))
            tokens.append(nxt)
            if t + 1 < n:
                logits = self(torch.tensor([[nxt]]), caches, S + t)[0, -1]
        return torch.tensor(tokens, dtype=torch.int64), torch.stack(rows), prefill


def load_checkpoint(folder, with_vq_decoder=None):
    """config.json + model.safetensors of a HF-style folder -> model (fp32). The VQ decoder is built when the
    checkpoint has model.vqmodel.decoder.* (Anole) unless with_vq_decoder says otherwise."""
    import json
    import os

    import safetensors_io
    with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    sd = safetensors_io.load(os.path.join(folder, "model.safetensors"))
    if with_vq_decoder is None:
        with_vq_decoder = any(k.startswith("model.vqmodel.decoder.") for k in sd)
    model = ChameleonForConditionalGeneration(cfg, with_vq_decoder).eval()
    model.load_state_dict({k: v.float() for k, v in sd.items()}, strict=True)
    return model, cfg


def vq_margins(vq, pixel_values):
    """Per position: second-smallest minus smallest squared distance (float64), a robustness measure of the codes."""
    with torch.no_grad():
        z = vq.latents(pixel_values).double()
    zf = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
    d = torch.cdist(zf, vq.quantize.embedding.weight.double()) ** 2
    two = torch.topk(d, 2, dim=1, largest=False).values
    return (two[:, 1] - two[:, 0]).view(z.shape[0], -1)

