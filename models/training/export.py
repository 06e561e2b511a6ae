"""Export the trained checkpoint as the embedded model folder (models/embedded) and write the golden
fixtures (models/fixtures/golden.json): PyTorch reference token ids and per-token log-probs, ranks,
entropies and top-5 predictions, and attention probabilities at a few positions (golden_attention.py),
which the TypeScript engine must reproduce.

    /usr/bin/python3 models/training/export.py [--ckpt models/training/work/ckpt.pt]
"""
import argparse
import json
import os

import numpy as np
import torch

from golden_attention import ATTENTION_TOLERANCE, attention_indices, reference_attention
from gpt2_bpe import EOT, Encoder
from model import GPT2, GPT2Config
from model_folder import write_model_folder
from onnx_graph import torch_state_to_weights

ROOT = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(ROOT, "..")
LOGPROB_TOLERANCE = 1e-4  # nats: how close the engine's log-probs must come to these (golden.json carries it to engine.test.ts)

GOLDEN_TEXTS = {
    "prose": "The jury said it did find that many of Georgia's registration and election laws are outmoded or "
             "inadequate and often ambiguous. It recommended that Fulton legislators act to have these laws "
             "studied and revised to the end of modernizing and improving them.",
    "code": "def fib(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n    a, b = 0, 1\n    for _ in range(n):\n"
            "        a, b = b, a + b\n    return a\n\nprint([fib(i) for i in range(10)])  # 0 1 1 2 3 5\n",
    "emoji_cjk": "I ❤️ Tokyo! 東京は素晴らしい。🎉🎉 Ça va? naïve café — 日本語のテキスト 👩‍👩‍👧 and é (e\u0301).",
    "repeated": "Seven purple kites drifted over the quiet harbor while old Mr. Abernathy counted gulls. "
                "Seven purple kites drifted over the quiet harbor while old Mr. Abernathy counted gulls. "
                "Seven purple kites drifted over the quiet harbor while old Mr. Abernathy counted gulls.",
    "special_crlf": "Line one\r\nLine two <|endoftext|> is plain text here.\r\n\r\n\tTabbed   spaces  end",
}


@torch.no_grad()
def reference_scores(model, ids):
    """Scores token k by the prediction at position k of [EOT] + ids (so the first token is scored)."""
    x = torch.tensor([[EOT] + ids[:-1]])
    logits, _ = model(x)
    logp = torch.log_softmax(logits[0].double(), dim=-1)
    target = torch.tensor(ids)
    lp = logp[torch.arange(len(ids)), target]
    rank = (logp > lp[:, None]).sum(-1) + 1
    # The ranks an engine within LOGPROB_TOLERANCE nats of these log-probs can report: logits that close to the
    # target's may order either way (far down the list, many lie within float32 rounding of each other).
    rank_range = torch.stack([(logp > lp[:, None] + LOGPROB_TOLERANCE).sum(-1) + 1,
                              (logp >= lp[:, None] - LOGPROB_TOLERANCE).sum(-1)], -1)
    entropy = -(logp.exp() * logp).sum(-1)
    top = logp.topk(5, dim=-1)
    return {"ids": ids, "logprobs": lp.tolist(), "ranks": rank.tolist(), "rank_ranges": rank_range.tolist(),
            "entropies": entropy.tolist(), "top5_ids": top.indices.tolist(), "top5_logprobs": top.values.tolist()}


@torch.no_grad()
def balance_heads(model, ids):
    """Rescales each attention head's value weights by 1/s and its columns of the output projection by s,
    which leaves the model's function unchanged, so that every head of a layer has the same ratio of value
    spread to output-weight spread (measured on ids). Why: int8 models (quantize.py, the hub's) quantize
    the attention output of all heads of a layer with one dynamic range per call and the projection with
    one scale per output column, so one head with values 100x the others' (the induction heads read
    whitened token codes) rounds every other head's output away, and differently for different spans
    (int8 incremental vs fresh scoring of the embedded model differed by 1.2 nats before this)."""
    cfg = model.cfg
    D = cfg.n_embd // cfg.n_head
    T = len(ids)
    for block, x in model.walk(torch.tensor([ids])):
        if block is None:
            break
        attn = block.attn
        v = attn.c_attn(block.ln_1(x))[0, :, 2 * cfg.n_embd:].view(T, cfg.n_head, D)  # [T,H,D]
        value_spread = v.pow(2).mean((0, 2)).sqrt()  # [H]
        out_spread = attn.c_proj.weight.view(cfg.n_embd, cfg.n_head, D).pow(2).mean((0, 2)).sqrt()  # [H]
        ratio = value_spread / out_spread
        scale = (ratio / ratio.median()).sqrt()  # the values are divided by it, the output weights multiplied
        for h in range(cfg.n_head):
            rows = slice(2 * cfg.n_embd + h * D, 2 * cfg.n_embd + (h + 1) * D)
            attn.c_attn.weight[rows] /= scale[h]
            attn.c_attn.bias[rows] /= scale[h]
            attn.c_proj.weight[:, h * D:(h + 1) * D] *= scale[h]


@torch.no_grad()
def smooth_layer_norms(model, ids):
    """Moves the range of each dimension of ln_1's output into the attention weights that read it
    (SmoothQuant, alpha 0.5): ln_1's gain and bias divided by s_i, c_attn's input column i multiplied by
    it, s_i = sqrt(max |activation_i| / max |weight column i|) on ids. The function is unchanged. Why: int8
    quantizes c_attn's input with one range for all dimensions, and the copying circuit reads its channels
    through dimensions with tiny gains and 12x query/key weights, so their rounding moved the attention
    pattern (ln_2 and the MLP as well measured worse: 0.97 nats at most vs 0.84 on hub-models.test's text)."""
    for block, x in model.walk(torch.tensor([ids])):
        if block is None:
            break
        ln, linear = block.ln_1, block.attn.c_attn
        s = (ln(x)[0].abs().amax(0) / linear.weight.abs().amax(0)).sqrt().clamp(min=1e-2, max=1e2)  # [C]
        ln.weight /= s
        ln.bias /= s
        linear.weight *= s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(ROOT, "work", "ckpt.pt"))
    ap.add_argument("--out", default=os.path.join(MODELS, "embedded"))
    args = ap.parse_args()
    ck = torch.load(args.ckpt, map_location="cpu")
    cfg = GPT2Config(**ck["config"])
    model = GPT2(cfg)
    model.load_state_dict(ck["model"])
    model.eval()
    enc = Encoder()
    # int8-friendly rescaling that leaves the function unchanged (quantize.py and the hub's int8 variants
    # round the embedded model's copying circuit much less after it: manager/quantize.test.ts).
    sample = enc.encode(" ".join(GOLDEN_TEXTS.values()))
    balance_heads(model, sample)
    smooth_layer_norms(model, sample)
    # Every stage that trained these weights, this checkpoint's last.
    stages = ck.get("earlier", []) + [{"stage": ck.get("stage", 1), "data_sha256": ck["data_sha256"], "steps": ck["step"],
                                       "tokens": ck["tokens"], "minutes": round(ck["seconds"] / 60, 1)}]
    meta = {"likely": {"name": "Likely Mini (embedded)",
                       "description": "A small GPT-2 trained in this repo (models/training) as an offline stand-in for GPT-2",
                       "trained_on": "Brown, Moby-Dick, State of the Union, World Factbook, Python stdlib, permissive npm "
                                     "packages' JS/TS and READMEs (models/README.md)",
                       "stages": stages, "steps": sum(s["steps"] for s in stages),
                       "tokens": sum(s["tokens"] for s in stages),
                       "training_minutes": round(sum(s["minutes"] for s in stages), 1),
                       "heldout_brown_perplexity": round(ck["val_ppl"], 1), "parameters": model.num_params()}}
    path = write_model_folder(args.out, torch_state_to_weights(model.state_dict()), cfg.__dict__, extra_config=meta)
    print("wrote", path, os.path.getsize(path), "bytes", meta)

    fixtures = {"model": "embedded", "logprob_tolerance": LOGPROB_TOLERANCE, "texts": {}}
    for name, text in GOLDEN_TEXTS.items():
        ids = enc.encode(text)
        fixtures["texts"][name] = {"text": text, **reference_scores(model, ids),
                                   "attention": reference_attention(model, ids, attention_indices(name, len(ids)))}
        print(name, len(ids), "tokens")
    # Past-cache reference: scoring the last 7 tokens of "prose" given the cached first part.
    ids = enc.encode(GOLDEN_TEXTS["prose"])
    full, _ = model(torch.tensor([[EOT] + ids[:-1]]))
    split = len(ids) - 7
    _, past = model(torch.tensor([[EOT] + ids[: split - 1]]))
    tail, _ = model(torch.tensor([ids[split - 1: -1]]), past=past)
    fixtures["kv_cache_max_abs_diff"] = float((full[0, split:] - tail[0]).abs().max())
    fixtures["attention_tolerance"] = ATTENTION_TOLERANCE
    fixtures_dir = os.environ.get("FIXTURES_DIR", os.path.join(MODELS, "fixtures"))
    os.makedirs(fixtures_dir, exist_ok=True)
    with open(os.path.join(fixtures_dir, "golden.json"), "w", encoding="utf-8") as f:
        json.dump(fixtures, f, ensure_ascii=False)
    print("kv-cache consistency", fixtures["kv_cache_max_abs_diff"])


if __name__ == "__main__":
    main()
