"""PyTorch reference for the Kimi-VL family (MoonViT + MLP projector + DeepSeek-V3 MoE decoder).

Module and parameter names follow the Hugging Face checkpoint, so state_dict() keys equal the real tensor names
(vision_tower.*, multi_modal_projector.*, language_model.model.*, language_model.lm_head.weight).
Spec: ../shared/docs/model-families.md (beside the repository), section 1. Everything is computed in fp32.

Unlike HF's eager MoonViT path, attention here is block-diagonal per image, so packed multi-image inputs are exact.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn


# ----------------------------------------------------------------------------------------------------------------------
# Image preprocessing (model-families 1.1)

def preprocess_image(img, patch_size=14, merge=(2, 2), in_token_limit=4096, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)):
    """PIL image -> (pixel_values (L,3,p,p) fp32, (h, w) grid in patches)."""
    img = img.convert("RGB")
    w, h = img.size
    if (w // patch_size) * (h // patch_size) > in_token_limit:
        s = math.sqrt(in_token_limit / ((w // patch_size) * (h // patch_size)))
        img = img.resize((int(w * s), int(h * s)), Image.BICUBIC)
        w, h = img.size
    if w // patch_size >= 512 or h // patch_size >= 512:
        raise ValueError(f"image too large: {w}x{h}")
    pad_h_unit, pad_w_unit = patch_size * merge[0], patch_size * merge[1]
    ph = -(-h // pad_h_unit) * pad_h_unit
    pw = -(-w // pad_w_unit) * pad_w_unit
    x = torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1).float()  # (3,H,W)
    x = F.pad(x, (0, pw - w, 0, ph - h), value=0.0)
    x = x / 255.0
    m = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(3, 1, 1)
    x = (x - m) / s
    gh, gw = ph // patch_size, pw // patch_size
    x = x.view(3, gh, patch_size, gw, patch_size).permute(1, 3, 0, 2, 4).reshape(gh * gw, 3, patch_size, patch_size)
    return x.contiguous(), (gh, gw)


# ----------------------------------------------------------------------------------------------------------------------
# MoonViT

class Learnable2DInterpPosEmb(nn.Module):
    def __init__(self, height, width, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(height, width, dim))  # (H0, W0, D)

    def forward(self, x, grid_hws):
        pos = []
        for h, w in grid_hws:
            if (h, w) == tuple(self.weight.shape[:2]):
                pos.append(self.weight.flatten(end_dim=1))
            else:
                p = F.interpolate(self.weight.permute(2, 0, 1)[None], size=(h, w), mode="bicubic", align_corners=False)
                pos.append(p[0].permute(1, 2, 0).flatten(end_dim=1))
        return x + torch.cat(pos, dim=0)


class MoonVisionPatchEmbed(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, p = cfg["hidden_size"], cfg["patch_size"]
        self.proj = nn.Conv2d(3, d, kernel_size=p, stride=p)
        self.pos_emb = Learnable2DInterpPosEmb(cfg["init_pos_emb_height"], cfg["init_pos_emb_width"], d)

    def forward(self, pixel_values, grid_hws):
        x = self.proj(pixel_values).flatten(1)  # (L, D)
        return self.pos_emb(x, grid_hws)


def vision_rope_cis(grid_hws, head_dim, theta=10000.0):
    """Complex rotations (L, head_dim/2): pair 2j by col*freq_j, pair 2j+1 by row*freq_j."""
    j = torch.arange(0, head_dim, 4)[: head_dim // 4].float()
    freqs = 1.0 / (theta ** (j / head_dim))  # (head_dim/4,)
    out = []
    for h, w in grid_hws:
        rows = torch.arange(h).float().repeat_interleave(w)
        cols = torch.arange(w).float().repeat(h)
        xf = torch.outer(cols, freqs)
        yf = torch.outer(rows, freqs)
        ang = torch.stack([xf, yf], dim=-1).reshape(h * w, -1)  # (hw, head_dim/2)
        out.append(torch.polar(torch.ones_like(ang), ang))
    return torch.cat(out, dim=0)


def apply_vision_rope(x, cis):
    """x (L, heads, head_dim); cis (L, head_dim/2) complex."""
    xc = torch.view_as_complex(x.float().reshape(*x.shape[:-1], -1, 2))
    return torch.view_as_real(xc * cis[:, None, :]).flatten(-2).type_as(x)


class MLP2(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.fc0 = nn.Linear(d, hidden)
        self.fc1 = nn.Linear(hidden, d)

    def forward(self, x):
        return self.fc1(F.gelu(self.fc0(x), approximate="tanh"))


class MoonVitEncoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["hidden_size"]
        self.heads = cfg["num_attention_heads"]
        self.head_dim = d // self.heads
        self.norm0 = nn.LayerNorm(d, eps=1e-5)
        self.norm1 = nn.LayerNorm(d, eps=1e-5)
        self.wqkv = nn.Linear(d, 3 * d)
        self.wo = nn.Linear(d, d)
        self.mlp = MLP2(d, cfg["intermediate_size"])

    def attention(self, x, cu_seqlens, cis):
        L = x.shape[0]
        qkv = self.wqkv(x).view(L, 3, self.heads, self.head_dim)
        q, k, v = qkv[:, 0], qkv[:, 1], qkv[:, 2]  # (L, heads, hd)
        q = apply_vision_rope(q, cis)
        k = apply_vision_rope(k, cis)
        out = torch.empty_like(q)
        scale = self.head_dim ** -0.5
        for a, b in zip(cu_seqlens[:-1], cu_seqlens[1:]):
            qi, ki, vi = (t[a:b].transpose(0, 1) for t in (q, k, v))  # (heads, n, hd)
            att = torch.softmax((qi @ ki.transpose(-1, -2)) * scale, dim=-1)
            out[a:b] = (att @ vi).transpose(0, 1)
        return self.wo(out.reshape(L, -1))

    def forward(self, x, cu_seqlens, cis):
        x = x + self.attention(self.norm0(x), cu_seqlens, cis)
        x = x + self.mlp(self.norm1(x))
        return x


class MoonVitEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.head_dim = cfg["hidden_size"] // cfg["num_attention_heads"]
        self.blocks = nn.ModuleList([MoonVitEncoderLayer(cfg) for _ in range(cfg["num_hidden_layers"])])
        self.final_layernorm = nn.LayerNorm(cfg["hidden_size"], eps=1e-5)

    def forward(self, x, grid_hws):
        lens = [h * w for h, w in grid_hws]
        cu = [0]
        for n in lens:
            cu.append(cu[-1] + n)
        cis = vision_rope_cis(grid_hws, self.head_dim)
        for blk in self.blocks:
            x = blk(x, cu, cis)
        return self.final_layernorm(x)


def patch_merge(x, grid_hws, merge=(2, 2)):
    """(L, D) -> (L/4, 4, D): per image view (h/2,2,w/2,2,D) -> permute(0,2,1,3,4)."""
    out = []
    i = 0
    kh, kw = merge
    d = x.shape[-1]
    for h, w in grid_hws:
        s = x[i:i + h * w].view(h // kh, kh, w // kw, kw, d).permute(0, 2, 1, 3, 4)
        out.append(s.reshape(h // kh * (w // kw), kh * kw, d))
        i += h * w
    return torch.cat(out, dim=0)


class MoonVitPretrainedModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.merge = tuple(cfg["merge_kernel_size"])
        self.patch_embed = MoonVisionPatchEmbed(cfg)
        self.encoder = MoonVitEncoder(cfg)

    def forward(self, pixel_values, grid_hws):
        x = self.patch_embed(pixel_values, grid_hws)
        x = self.encoder(x, grid_hws)
        return patch_merge(x, grid_hws, self.merge)  # (L/4, 4, Dv)


class KimiVLMultiModalProjector(nn.Module):
    def __init__(self, vcfg, tcfg):
        super().__init__()
        dv = vcfg["hidden_size"]
        k = vcfg["merge_kernel_size"][0] * vcfg["merge_kernel_size"][1]
        self.hidden = dv * k
        self.pre_norm = nn.LayerNorm(dv, eps=1e-5)
        self.linear_1 = nn.Linear(self.hidden, self.hidden)
        self.linear_2 = nn.Linear(self.hidden, tcfg["hidden_size"])

    def forward(self, x):  # (N, 4, Dv)
        x = self.pre_norm(x).reshape(-1, self.hidden)
        return self.linear_2(F.gelu(self.linear_1(x)))


# ----------------------------------------------------------------------------------------------------------------------
# DeepSeek-V3 language model

class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        dt = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dt)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def deinterleave(x):
    """Checkpoint layout is interleaved pairs: (..., d) -> view(d/2, 2) -> transpose -> (..., d)."""
    d = x.shape[-1]
    return x.reshape(*x.shape[:-1], d // 2, 2).transpose(-1, -2).reshape(*x.shape[:-1], d)


class SwiGLU(nn.Module):
    def __init__(self, d, inter):
        super().__init__()
        self.gate_proj = nn.Linear(d, inter, bias=False)
        self.up_proj = nn.Linear(d, inter, bias=False)
        self.down_proj = nn.Linear(inter, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class MoEGate(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        n = cfg["n_routed_experts"]
        self.top_k = cfg["num_experts_per_tok"]
        self.norm_topk_prob = cfg["norm_topk_prob"]
        self.scale = cfg["routed_scaling_factor"]
        if cfg.get("n_group", 1) != 1 or cfg.get("topk_group", 1) != 1:
            raise NotImplementedError("only n_group = topk_group = 1")
        if cfg.get("scoring_func", "sigmoid") != "sigmoid" or cfg.get("topk_method", "noaux_tc") != "noaux_tc":
            raise NotImplementedError("only sigmoid scoring with noaux_tc")
        self.weight = nn.Parameter(torch.zeros(n, cfg["hidden_size"]))
        self.e_score_correction_bias = nn.Parameter(torch.zeros(n))

    def forward(self, x):  # (T, D) -> idx (T, k), weights (T, k), choice scores (T, n)
        s = torch.sigmoid(F.linear(x.float(), self.weight.float()))
        choice = s + self.e_score_correction_bias[None]
        _, idx = torch.topk(choice, k=self.top_k, dim=-1)
        w = s.gather(1, idx)
        if self.top_k > 1 and self.norm_topk_prob:
            w = w / (w.sum(dim=-1, keepdim=True) + 1e-20)
        return idx, w * self.scale, choice


class DeepseekV3MoE(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, mi = cfg["hidden_size"], cfg["moe_intermediate_size"]
        self.experts = nn.ModuleList([SwiGLU(d, mi) for _ in range(cfg["n_routed_experts"])])
        self.gate = MoEGate(cfg)
        self.shared_experts = SwiGLU(d, mi * cfg["n_shared_experts"])
        self.record = None  # set to a list to collect the router choice scores (T, n) of every call

    def forward(self, x):
        shape = x.shape
        t = x.reshape(-1, shape[-1])
        idx, w, choice = self.gate(t)
        if self.record is not None:
            self.record.append(choice.detach())
        y = torch.zeros_like(t)
        for e, expert in enumerate(self.experts):
            rows, slot = torch.nonzero(idx == e, as_tuple=True)
            if rows.numel():
                y.index_add_(0, rows, expert(t[rows]) * w[rows, slot, None].to(t.dtype))
        return (y + self.shared_experts(t)).view(shape)


class DeepseekV3Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["hidden_size"]
        if cfg.get("q_lora_rank") is not None:
            raise NotImplementedError("q_lora_rank must be null")
        if cfg.get("rope_scaling") is not None:
            raise NotImplementedError("rope_scaling must be null")
        self.h = cfg["num_attention_heads"]
        self.nope = cfg["qk_nope_head_dim"]
        self.rope = cfg["qk_rope_head_dim"]
        self.v = cfg["v_head_dim"]
        self.r = cfg["kv_lora_rank"]
        self.q_proj = nn.Linear(d, self.h * (self.nope + self.rope), bias=False)
        self.kv_a_proj_with_mqa = nn.Linear(d, self.r + self.rope, bias=False)
        self.kv_a_layernorm = RMSNorm(self.r, cfg["rms_norm_eps"])
        self.kv_b_proj = nn.Linear(self.r, self.h * (self.nope + self.v), bias=False)
        self.o_proj = nn.Linear(self.h * self.v, d, bias=False)
        self.scale = (self.nope + self.rope) ** -0.5
        inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, self.rope, 2).float() / self.rope))
        self.register_buffer("inv_freq", inv, persistent=False)

    def rope_cos_sin(self, positions):
        f = torch.outer(positions.float(), self.inv_freq)
        emb = torch.cat([f, f], dim=-1)  # (S, rope)
        return emb.cos(), emb.sin()

    def forward(self, x, positions, cache=None):
        """x (B,S,D); positions (S,); cache: dict with 'k','v' (B,H,T,*) or None/empty. Returns (out, cache)."""
        B, S, _ = x.shape
        q = self.q_proj(x).view(B, S, self.h, self.nope + self.rope).transpose(1, 2)  # (B,H,S,nope+rope)
        q_nope, q_pe = q.split([self.nope, self.rope], dim=-1)
        ckv = self.kv_a_proj_with_mqa(x)
        c, k_pe = ckv.split([self.r, self.rope], dim=-1)
        k_pe = k_pe.view(B, 1, S, self.rope)
        kv = self.kv_b_proj(self.kv_a_layernorm(c)).view(B, S, self.h, self.nope + self.v).transpose(1, 2)
        k_nope, v = kv.split([self.nope, self.v], dim=-1)

        cos, sin = self.rope_cos_sin(positions)
        q_pe, k_pe = deinterleave(q_pe), deinterleave(k_pe)
        q_pe = q_pe * cos + rotate_half(q_pe) * sin
        k_pe = k_pe * cos + rotate_half(k_pe) * sin

        q = torch.cat([q_nope, q_pe], dim=-1)
        k = torch.cat([k_nope, k_pe.expand(B, self.h, S, self.rope)], dim=-1)
        if cache is not None and "k" in cache:
            k = torch.cat([cache["k"], k], dim=2)
            v = torch.cat([cache["v"], v], dim=2)
        if cache is not None:
            cache["k"], cache["v"] = k, v
        T = k.shape[2]
        scores = (q @ k.transpose(-1, -2)).float() * self.scale  # (B,H,S,T)
        qpos = positions.view(S, 1)
        kpos = torch.arange(T).view(1, T)
        scores = scores.masked_fill(kpos > qpos, float("-inf"))
        att = torch.softmax(scores, dim=-1).to(q.dtype)
        out = (att @ v).transpose(1, 2).reshape(B, S, self.h * self.v)
        return self.o_proj(out)


class DeepseekV3DecoderLayer(nn.Module):
    def __init__(self, cfg, i):
        super().__init__()
        d = cfg["hidden_size"]
        self.self_attn = DeepseekV3Attention(cfg)
        dense = i < cfg["first_k_dense_replace"] or i % cfg.get("moe_layer_freq", 1) != 0
        self.mlp = SwiGLU(d, cfg["intermediate_size"]) if dense else DeepseekV3MoE(cfg)
        self.input_layernorm = RMSNorm(d, cfg["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(d, cfg["rms_norm_eps"])

    def forward(self, x, positions, cache=None):
        x = x + self.self_attn(self.input_layernorm(x), positions, cache)
        return x + self.mlp(self.post_attention_layernorm(x))


class DeepseekV3Model(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList([DeepseekV3DecoderLayer(cfg, i) for i in range(cfg["num_hidden_layers"])])
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])

    def forward(self, inputs_embeds, positions, caches=None):
        x = inputs_embeds
        for i, layer in enumerate(self.layers):
            x = layer(x, positions, None if caches is None else caches[i])
        return self.norm(x)


class DeepseekV3ForCausalLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        if cfg.get("tie_word_embeddings"):
            raise NotImplementedError("tied embeddings")
        self.model = DeepseekV3Model(cfg)
        self.lm_head = nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)

    def forward(self, inputs_embeds, positions, caches=None):
        return self.lm_head(self.model(inputs_embeds, positions, caches))


# ----------------------------------------------------------------------------------------------------------------------
# Whole model

class KimiVLForConditionalGeneration(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.vision_tower = MoonVitPretrainedModel(config["vision_config"])
        self.multi_modal_projector = KimiVLMultiModalProjector(config["vision_config"], config["text_config"])
        self.language_model = DeepseekV3ForCausalLM(config["text_config"])

    def image_features(self, pixel_values, grid_hws):
        """(L,3,p,p), [(h,w)...] -> (L/4, text hidden)."""
        grid_hws = [tuple(int(v) for v in hw) for hw in grid_hws]
        return self.multi_modal_projector(self.vision_tower(pixel_values, grid_hws))

    def merge_embeddings(self, input_ids, image_features):
        """input_ids (B,S) -> inputs_embeds with placeholder rows replaced, in order, by image_features."""
        emb = self.language_model.model.embed_tokens(input_ids)
        mask = input_ids == self.config["media_placeholder_token_id"]
        n = int(mask.sum())
        nf = 0 if image_features is None else image_features.shape[0]
        if n != nf:
            raise ValueError(f"{n} placeholder tokens but {nf} image feature rows")
        if n:
            emb = emb.clone()
            emb[mask] = image_features.to(emb.dtype)
        return emb

    def new_cache(self):
        return [dict() for _ in self.language_model.model.layers]

    def forward(self, input_ids, pixel_values=None, grid_hws=None, caches=None, start_pos=0):
        """Logits (B,S,V) for input_ids at positions start_pos..; caches (from new_cache()) are extended in place."""
        feats = None if pixel_values is None else self.image_features(pixel_values, grid_hws)
        emb = self.merge_embeddings(input_ids, feats)
        positions = torch.arange(start_pos, start_pos + input_ids.shape[1])
        return self.language_model(emb, positions, caches)

    def decode(self, input_ids, caches, start_pos):
        """Logits for generated tokens: plain embeddings, never merged (a generated <|media_pad|> is just a token)."""
        emb = self.language_model.model.embed_tokens(input_ids)
        positions = torch.arange(start_pos, start_pos + input_ids.shape[1])
        return self.language_model(emb, positions, caches)
