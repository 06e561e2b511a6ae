"""Train the embedded GPT-2 on the sequences data.py assembled, on CPU, within a wall-clock budget.

    /usr/bin/python3 models/training/data.py                 # once: work/data/train.npy + held-out texts
    /usr/bin/python3 models/training/train.py                # 80 minutes; resumes from work/ckpt.pt if it exists

Checkpoints (model, optimizer, step, training seconds so far) go to work/ckpt.pt every --save-every minutes
and at the end, so a killed run continues where it stopped (--fresh starts over); the log is appended to
train.log. Matrix products run in bfloat16 (autocast; weights, optimizer and loss stay float32): with the
CPU's AVX-512 BF16 that is ~3x the float32 throughput here. export.py turns a checkpoint into the model folder.
"""
import argparse
import json
import math
import os
import sys
import time

# glibc hands every tensor over 32 MB back to the kernel when freed, so each step page-faulted ~6 GB of logits
# and their gradients afresh: half the CPU time went to the kernel. Keep freed memory in the heap instead
# (the variables are read when the process starts, hence the re-exec).
if os.environ.get("MALLOC_MMAP_MAX_") != "0":
    os.environ.update(MALLOC_MMAP_MAX_="0", MALLOC_TRIM_THRESHOLD_=str(64 << 30))
    os.execv(sys.executable, [sys.executable] + sys.argv)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from model import GPT2, GPT2Config  # noqa: E402

ROOT = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(ROOT, "work")
DATA = os.path.join(WORK, "data")
HELDOUT = os.path.join(ROOT, "..", "eval", "heldout")


def heldout_ids(name, limit=None):
    from gpt2_bpe import EOT, Encoder
    enc = Encoder()
    with open(os.path.join(HELDOUT, name + ".txt"), encoding="utf-8", newline="") as f:
        docs = f.read().split("\n\n\f\n\n")
    ids = []
    for d in docs:
        ids.append(EOT)
        ids.extend(enc.encode(d))
    return np.array(ids[:limit], dtype=np.int64)


def unigram_perplexity(train, val, vocab=50257):
    """Add-one smoothed unigram model estimated on the training tokens, scored on validation."""
    counts = np.bincount(train.reshape(-1).astype(np.int64), minlength=vocab).astype(np.float64) + 1.0
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
    ap.add_argument("--minutes", type=float, help="training-time budget (default 80; on resume, the checkpoint's)")
    ap.add_argument("--save-every", type=float, default=10)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--micro", type=int, default=2, help="sequences per forward pass (memory: ~1 GB of logits each)")
    ap.add_argument("--lr", type=float, default=2.5e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--width", type=int, default=176)
    ap.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1234)
    log = open(os.path.join(ROOT, "train.log"), "a", encoding="utf-8")

    def say(msg):
        line = time.strftime("%H:%M:%S ") + msg
        print(line, flush=True)
        log.write(line + "\n")
        log.flush()

    seqs = np.load(os.path.join(DATA, "train.npy"), mmap_mode="r")  # uint16 [N, 1025]
    with open(os.path.join(DATA, "meta.json"), encoding="utf-8") as f:
        meta = json.load(f)
    order = np.random.default_rng(1234).permutation(len(seqs))
    val = heldout_ids("brown")
    ckpt_path = os.path.join(WORK, "ckpt.pt")
    resume = None if args.fresh or not os.path.exists(ckpt_path) else torch.load(ckpt_path, map_location="cpu")
    cfg = GPT2Config(**resume["config"]) if resume else GPT2Config(n_layer=args.layers, n_head=args.heads, n_embd=args.width)
    model = GPT2(cfg)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))
    step, trained_s = 0, 0.0
    budget = (args.minutes or 80) * 60
    if resume:
        model.load_state_dict(resume["model"])
        opt.load_state_dict(resume["optimizer"])
        step, trained_s = resume["step"], resume["seconds"]
        budget = args.minutes * 60 if args.minutes else resume["budget_seconds"]
        say(f"resumed at step {step}, {trained_s / 60:.1f} of {budget / 60:.0f} min")
    else:
        say(f"config {json.dumps(cfg.__dict__)}; params {model.num_params():,}; data {meta['sha256'][:12]} "
            f"{json.dumps(meta['sources'])}; validation tokens {len(val):,}; "
            f"unigram validation perplexity {unigram_perplexity(seqs[order[:2000]], val):.1f}")
    warmup = 30
    tokens_per_step = args.batch * (seqs.shape[1] - 1)

    def save(tag):
        ppl = evaluate(model, val)
        state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "config": cfg.__dict__, "step": step,
                 "seconds": trained_s, "budget_seconds": budget, "tokens": step * tokens_per_step, "val_ppl": ppl,
                 "data_sha256": meta["sha256"]}
        torch.save(state, ckpt_path + ".tmp")
        os.replace(ckpt_path + ".tmp", ckpt_path)
        say(f"{tag}: step {step}, {step * tokens_per_step / 1e6:.2f} M tokens, held-out Brown perplexity {ppl:.1f}, "
            f"{trained_s / 60:.1f} min")

    last_save = time.time()
    while trained_s < budget:
        t = time.time()
        # Cosine on training time, not steps: a busy machine trains fewer steps but ends on time.
        progress = trained_s / budget
        lr = args.lr * min(1.0, (step + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
        for g in opt.param_groups:
            g["lr"] = lr
        rows = [order[(step * args.batch + j) % len(order)] for j in range(args.batch)]
        batch = torch.from_numpy(np.stack([seqs[r] for r in rows]).astype(np.int64))
        opt.zero_grad(set_to_none=True)
        for micro in batch.split(args.micro):  # gradient accumulation: the logits of 8 x 1,024 tokens are 1.6 GB
            with torch.autocast("cpu", dtype=torch.bfloat16):
                logits, _ = model(micro[:, :-1])
            loss = F.cross_entropy(logits.float().view(-1, cfg.vocab_size), micro[:, 1:].reshape(-1))
            (loss * len(micro) / len(batch)).backward()
            del logits
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        trained_s += time.time() - t
        if step % 10 == 0:
            say(f"step {step} loss {loss.item():.3f} lr {lr:.2e} {tokens_per_step / (time.time() - t):.0f} tok/s")
        if time.time() - last_save > args.save_every * 60:
            save("checkpoint")
            last_save = time.time()
    save("final")


if __name__ == "__main__":
    main()
