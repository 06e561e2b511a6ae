"""Train the embedded GPT-2 on the Brown corpus, on CPU, within a wall-clock budget.

    /usr/bin/python3 models/training/train.py --minutes 60

Writes checkpoints to models/training/work/ckpt.pt (every --save-every minutes and at the end) and
the log to models/training/train.log; export.py turns a checkpoint into the ONNX model folder.
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from brown import split, texts
from gpt2_bpe import EOT, Encoder
from model import GPT2, GPT2Config

ROOT = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(ROOT, "work")


def tokenize(names, enc):
    ids = []
    for text in texts(names):
        ids.append(EOT)
        ids.extend(enc.encode(text))
    return np.array(ids, dtype=np.int64)


def load_data(enc):
    os.makedirs(WORK, exist_ok=True)
    cache = os.path.join(WORK, "tokens.npz")
    if os.path.exists(cache):
        d = np.load(cache)
        return d["train"], d["val"]
    train_names, val_names = split()
    train, val = tokenize(train_names, enc), tokenize(val_names, enc)
    np.savez(cache, train=train, val=val)
    return train, val


def unigram_perplexity(train, val, vocab=50257):
    """Add-one smoothed unigram model estimated on the training tokens, scored on validation."""
    counts = np.bincount(train, minlength=vocab).astype(np.float64) + 1.0
    logp = np.log(counts / counts.sum())
    return float(np.exp(-logp[val[1:]].mean()))


@torch.no_grad()
def evaluate(model, val, seq=1024):
    model.eval()
    total, n = 0.0, 0
    for start in range(0, len(val) - 1, seq):
        x = torch.from_numpy(val[start:start + seq][None])
        y = torch.from_numpy(val[start + 1:start + seq + 1][None])
        x = x[:, : y.shape[1]]
        logits, _ = model(x)
        total += F.cross_entropy(logits[0], y[0], reduction="sum").item()
        n += y.shape[1]
    model.train()
    return math.exp(total / n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--save-every", type=float, default=10)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=1024)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1234)
    rng = np.random.default_rng(1234)
    log_path = os.path.join(ROOT, "train.log")
    log = open(log_path, "a", encoding="utf-8")

    def say(msg):
        line = time.strftime("%H:%M:%S ") + msg
        print(line, flush=True)
        log.write(line + "\n")
        log.flush()

    enc = Encoder()
    train, val = load_data(enc)
    cfg = GPT2Config()
    model = GPT2(cfg)
    say(f"config {json.dumps(cfg.__dict__)}; params {model.num_params():,}; train tokens {len(train):,}; "
        f"validation tokens {len(val):,}; unigram validation perplexity {unigram_perplexity(train, val):.1f}")
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))
    budget = args.minutes * 60
    t0 = time.time()
    last_save = t0
    warmup = 30
    step = 0
    tokens_per_step = args.batch * args.seq

    def save(tag):
        ppl = evaluate(model, val)
        torch.save({"model": model.state_dict(), "config": cfg.__dict__, "step": step,
                    "epochs": step * tokens_per_step / len(train), "val_ppl": ppl,
                    "minutes": (time.time() - t0) / 60,
                    "unigram_ppl": unigram_perplexity(train, val)}, os.path.join(WORK, "ckpt.pt"))
        say(f"{tag}: step {step}, epochs {step * tokens_per_step / len(train):.2f}, "
            f"validation perplexity {ppl:.1f}, {(time.time() - t0) / 60:.1f} min")

    while True:
        # The schedule follows wall-clock time, so a busy machine trains fewer steps but still ends on time.
        progress = (time.time() - t0) / budget
        if progress >= 1.0:
            break
        lr = args.lr * min(1.0, (step + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
        for g in opt.param_groups:
            g["lr"] = lr
        starts = rng.integers(0, len(train) - args.seq - 1, size=args.batch)
        x = torch.from_numpy(np.stack([train[s:s + args.seq] for s in starts]))
        y = torch.from_numpy(np.stack([train[s + 1:s + args.seq + 1] for s in starts]))
        logits, _ = model(x)
        loss = F.cross_entropy(logits.view(-1, cfg.vocab_size), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 10 == 0:
            say(f"step {step} loss {loss.item():.3f} lr {lr:.2e}")
        if time.time() - last_save > args.save_every * 60:
            save("checkpoint")
            last_save = time.time()
    save("final")


if __name__ == "__main__":
    main()
