"""GPT-2 in PyTorch, the reference the ONNX graph (export.py) and the TypeScript engine are checked
against. Pre-LN blocks, tanh-GELU MLP, learned positions, tied input/output embedding.

Shapes: B batch, T new tokens, P cached (past) tokens, S = P + T, H heads, D head width, C = H * D.
"""
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class GPT2Config:
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    n_positions: int = 1024
    vocab_size: int = 50257
    layer_norm_epsilon: float = 1e-5


SIZES = {  # the real GPT-2 family's shapes
    "small": GPT2Config(n_layer=12, n_head=12, n_embd=768),
    "medium": GPT2Config(n_layer=24, n_head=16, n_embd=1024),
    "large": GPT2Config(n_layer=36, n_head=20, n_embd=1280),
    "xl": GPT2Config(n_layer=48, n_head=25, n_embd=1600),
}


def gelu_tanh(x):  # GPT-2's "gelu_new"
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_head = cfg.n_head
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.keep_probs = False  # training supervises some heads' attention patterns (circuits.py)
        self.probs = None  # [B,H,T,S] of the last forward, when keep_probs

    def forward(self, x, allowed, past=None):
        B, T, C = x.shape
        H, D = self.n_head, C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, H, D).transpose(1, 2) for t in (q, k, v))  # [B,H,T,D]
        if past is not None:
            k = torch.cat([past[0], k], dim=2)  # [B,H,S,D]
            v = torch.cat([past[1], v], dim=2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D))  # [B,H,T,S]
        att = att.masked_fill(~allowed, torch.finfo(att.dtype).min)
        probs = F.softmax(att, dim=-1)
        self.probs = probs if self.keep_probs else None
        y = probs @ v  # [B,H,T,D]
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y), (k, v)


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.attn = Attention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd)
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd)

    def forward(self, x, allowed, past=None):
        a, present = self.attn(self.ln_1(x), allowed, past)
        x = x + a
        x = x + self.c_proj(gelu_tanh(self.c_fc(self.ln_2(x))))
        return x, present


class GPT2(nn.Module):
    def __init__(self, cfg: GPT2Config):
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.n_positions, cfg.n_embd)
        self.h = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.apply(self._init)
        for name, p in self.named_parameters():  # GPT-2's scaled init of residual projections
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(self, input_ids, attention_mask=None, position_ids=None, past=None):
        """input_ids [B,T], attention_mask [B,S] (1 = attend), position_ids [B,T],
        past: per layer (key, value) each [B,H,P,D]. Returns logits [B,T,V] and presents."""
        x, presents = self.hidden(input_ids, attention_mask, position_ids, past)
        return x @ self.wte.weight.t(), presents

    def hidden(self, input_ids, attention_mask=None, position_ids=None, past=None):
        """The final hidden states [B,T,C] (after ln_f) and presents: training scores a subset of positions."""
        B, T = input_ids.shape
        P = 0 if past is None else past[0][0].shape[2]
        S = P + T
        if position_ids is None:
            position_ids = torch.arange(P, S, device=input_ids.device).unsqueeze(0).expand(B, T)
        causal = torch.arange(S).unsqueeze(0) <= (torch.arange(T).unsqueeze(1) + P)  # [T,S]
        allowed = causal.view(1, 1, T, S)
        if attention_mask is not None:
            allowed = allowed & attention_mask.bool().view(B, 1, 1, S)
        x = self.wte(input_ids) + self.wpe(position_ids)
        presents = []
        for i, block in enumerate(self.h):
            x, present = block(x, allowed, None if past is None else past[i])
            presents.append(present)
        return self.ln_f(x), presents

    def walk(self, input_ids):
        """Yields each block with its input [B,T,C], in order, then (None, the residual ln_f reads). A block
        runs only when the caller asks for the next one, so it may rescale the block's weights first
        (export.py does, for int8)."""
        T = input_ids.shape[1]
        x = self.wte(input_ids) + self.wpe(torch.arange(T)[None])
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        for block in self.h:
            yield block, x
            x, _ = block(x, causal)
        yield None, x

    def num_params(self):
        return sum(p.numel() for p in self.parameters())
