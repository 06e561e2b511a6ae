"""Train the embedded GPT-2 on the sequences data.py assembled, on CPU, within a wall-clock budget.

    /usr/bin/python3 models/training/data.py   # once: work/data/train.npy, train2.npy + held-out texts
    /usr/bin/python3 models/training/train.py  # both stages, 149.5 minutes; resumes from work/ckpt.pt

Two stages (STAGES), run in order by the one command:
  1. language (80 minutes, train.npy): the seven domains, next-token loss on every position.
  2. copying (train2.npy, where copies are 15-45% of the tokens): circuits.py first trains three layer-0 heads
     to attend by position and wires four layer-1 induction heads onto them (a few minutes), then everything
     trains on the next-token loss plus the circuit's attention loss. The next-token loss is taken on every
     position a copy predicts (a match of 2+ tokens) and on LM_SHARE of the others: the 50,257-way output
     is ~70% of a step's work, and the copies are what this stage is for.
`--stage 2 --init DIR` starts stage 2 from the weights of a model folder (a stage-1 model exported earlier)
instead of from a stage-1 checkpoint.

Checkpoints (model, optimizer, stage, step, training seconds so far) go to work/ckpt.pt every --save-every
minutes, after the circuit is wired and at the end of each stage, so a killed run continues where it stopped
(--fresh starts over); the log is appended to train.log. Matrix products run in bfloat16 (autocast; weights,
optimizer and loss stay float32): with the CPU's AVX-512 BF16 that is ~3x the float32 throughput here.
export.py turns a checkpoint into the model folder.
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
import circuits  # noqa: E402
from onnx_graph import onnx_weights, weights_to_torch_state  # noqa: E402

ROOT = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(ROOT, "work")
DATA = os.path.join(WORK, "data")
HELDOUT = os.path.join(ROOT, "..", "eval", "heldout")
STAGES = {1: {"data": "train.npy", "minutes": 80, "lr": 2.5e-3, "batch": 8},
          2: {"data": "train2.npy", "minutes": 69.5, "lr": 1e-3, "batch": 4, "circuits": True}}
POSITIONAL_STEPS = 200  # circuits.train_positional_heads: ~1 s each
LM_SHARE = 0.5  # stage 2: share of the positions no copy predicts that the next-token loss is taken on
SUPERVISION = 0.5  # stage 2: weight of the circuit's attention loss
IDENTITY = 0.5  # stage 2: weight of the copy path's whole-vocabulary loss (circuits.copy_identity_loss)


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
    ap.add_argument("--minutes", type=float, help="this stage's training-time budget (default STAGES; on resume, the checkpoint's)")
    ap.add_argument("--stage", type=int, choices=(1, 2), help="start at this stage (default 1, or the checkpoint's)")
    ap.add_argument("--init", help="model folder whose weights start the stage (instead of a checkpoint)")
    ap.add_argument("--save-every", type=float, default=10)
    ap.add_argument("--micro", type=int, default=2, help="sequences per forward pass (memory: ~1 GB of logits each)")
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

    with open(os.path.join(DATA, "meta.json"), encoding="utf-8") as f:
        meta = json.load(f)
    val = heldout_ids("brown")
    ckpt_path = os.path.join(WORK, "ckpt.pt")
    resume = None if args.fresh or args.init or not os.path.exists(ckpt_path) else torch.load(ckpt_path, map_location="cpu")
    if resume:
        cfg = GPT2Config(**resume["config"])
    elif args.init:
        with open(os.path.join(args.init, "config.json"), encoding="utf-8") as f:
            c = json.load(f)
        cfg = GPT2Config(n_layer=c["n_layer"], n_head=c["n_head"], n_embd=c["n_embd"])
    else:
        cfg = GPT2Config(n_layer=args.layers, n_head=args.heads, n_embd=args.width)
    model = GPT2(cfg)
    if args.init:
        state = weights_to_torch_state(onnx_weights(os.path.join(args.init, "onnx", "model.onnx")))
        model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    opt = make_optimizer(model, STAGES[1]["lr"])
    stage, step, trained_s = args.stage or 1, 0, 0.0
    earlier = []  # what trained the weights before this stage: [{stage, data_sha256, steps, tokens, minutes}]
    if resume:
        earlier = resume.get("earlier", [])
        model.load_state_dict(resume["model"])
        opt.load_state_dict(resume["optimizer"])
        stage, step, trained_s = resume.get("stage", 1), resume["step"], resume["seconds"]
    elif args.init:
        with open(os.path.join(args.init, "config.json"), encoding="utf-8") as f:
            made = json.load(f).get("likely", {})
        earlier = made.get("stages") or [{"stage": 1, "data_sha256": made.get("data_sha256"), "steps": made.get("steps"),
                                          "tokens": made.get("tokens"), "minutes": made.get("training_minutes")}]
        say(f"stage {stage} starts from the weights of {args.init}; params {model.num_params():,}")
    else:
        say(f"config {json.dumps(cfg.__dict__)}; params {model.num_params():,}; data {meta['sha256'][:12]} "
            f"{json.dumps(meta['sources'])}; validation tokens {len(val):,}")

    while stage in STAGES:
        spec = STAGES[stage]
        seqs = np.load(os.path.join(DATA, spec["data"]), mmap_mode="r")  # uint16 [N, 1025]
        order = np.random.default_rng(1234).permutation(len(seqs))
        budget = spec["minutes"] * 60
        resumed = resume is not None and resume.get("stage", 1) == stage
        if resumed:
            budget = resume["budget_seconds"]
        if args.minutes:
            budget = args.minutes * 60
        say(f"stage {stage}: {spec['data']} ({len(seqs):,} sequences), step {step}, {trained_s / 60:.1f} of "
            f"{budget / 60:.0f} min, peak lr {spec['lr']:.1e}, {spec['batch']} sequences a step")
        checkpoint = lambda *a: save(model, opt, cfg, val, meta, ckpt_path, stage, earlier, *a, say=say)  # noqa: E731
        if spec.get("circuits") and not resumed:
            t = time.time()
            circuits.train_positional_heads(model, seqs, order[::-1], POSITIONAL_STEPS, say)
            circuits.wire_induction(model, seqs)
            circuits.fit_copy_output(model, seqs, say)
            trained_s += time.time() - t
            # The wired weights are not where stage 1's Adam moments were: start them afresh.
            opt = make_optimizer(model, spec["lr"])
            checkpoint("circuit wired", step, trained_s, budget, 0)
        step, trained_s = train_stage(model, opt, cfg, seqs, order, spec, budget, step, trained_s, args, checkpoint, say)
        earlier = earlier + [{"stage": stage, "data_sha256": stage_sha(meta, stage), "steps": step,
                              "tokens": step * spec["batch"] * 1024, "minutes": round(trained_s / 60, 1)}]
        stage, step, trained_s, resume = stage + 1, 0, 0.0, None
        args.minutes = None


def make_optimizer(model, lr):
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                             lr=lr, betas=(0.9, 0.95))


def stage_sha(meta, stage):
    return meta["sha256"] if stage == 1 else meta["stage2"]["sha256"]


def save(model, opt, cfg, val, meta, ckpt_path, stage, earlier, tag, step, trained_s, budget, tokens, say):
    ppl = evaluate(model, val)
    state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "config": cfg.__dict__, "stage": stage,
             "step": step, "seconds": trained_s, "budget_seconds": budget, "tokens": tokens, "val_ppl": ppl,
             "data_sha256": stage_sha(meta, stage), "earlier": earlier}
    torch.save(state, ckpt_path + ".tmp")
    os.replace(ckpt_path + ".tmp", ckpt_path)
    say(f"{tag}: stage {stage}, step {step}, {tokens / 1e6:.2f} M tokens, held-out Brown perplexity {ppl:.1f}, "
        f"{trained_s / 60:.1f} min")


def train_stage(model, opt, cfg, seqs, order, spec, budget, step, trained_s, args, save, say):
    warmup, batch_size, copying = 30, spec["batch"], spec.get("circuits", False)
    tokens_per_step = batch_size * (seqs.shape[1] - 1)
    sample = torch.Generator().manual_seed(1234 + step)
    positional = circuits.positional_targets(seqs.shape[1] - 1)
    circuits.keep_probs(model, copying)
    copy_path = circuits.copy_path(model) if copying else []
    last_save = time.time()
    while trained_s < budget:
        t = time.time()
        # Cosine on training time, not steps: a busy machine trains fewer steps but ends on time.
        progress = trained_s / budget
        lr = spec["lr"] * min(1.0, (step + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
        for g in opt.param_groups:
            g["lr"] = lr
        rows = [order[(step * batch_size + j) % len(order)] for j in range(batch_size)]
        batch = torch.from_numpy(np.stack([seqs[r] for r in rows]).astype(np.int64))
        opt.zero_grad(set_to_none=True)
        for micro in batch.split(args.micro):  # gradient accumulation: the logits of 8 x 1,024 tokens are 1.6 GB
            x, y = micro[:, :-1], micro[:, 1:]
            with torch.autocast("cpu", dtype=torch.bfloat16):
                hidden, _ = model.hidden(x)
                if copying:
                    induction, longest = circuits.match_targets(x)
                    scored = (longest >= 2) | (torch.rand(longest.shape, generator=sample) < LM_SHARE)
                    hidden, y = hidden[scored], y[scored]
                logits = hidden @ model.wte.weight.t()
            loss = F.cross_entropy(logits.float().view(-1, cfg.vocab_size), y.reshape(-1))
            total = loss
            if copying:
                attention, _ = circuits.supervision_loss(model, positional, induction)
                total = loss + SUPERVISION * attention
            (total * len(micro) / len(batch)).backward()
            del logits
        if copying:
            identity = circuits.copy_identity_loss(model, sample)
            (IDENTITY * identity).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        before = [p[i].detach().clone() for p, i in copy_path]
        opt.step()
        with torch.no_grad():
            for (p, i), b in zip(copy_path, before):
                p[i] += (circuits.COPY_STEP_GAIN - 1) * (p[i] - b)
        step += 1
        trained_s += time.time() - t
        if step % 10 == 0:
            extra = f" attention {attention.item():.3f} identity {identity.item():.3f}" if copying else ""
            say(f"step {step} loss {loss.item():.3f}{extra} lr {lr:.2e} {tokens_per_step / (time.time() - t):.0f} tok/s")
        if time.time() - last_save > args.save_every * 60:
            save("checkpoint", step, trained_s, budget, step * tokens_per_step)
            last_save = time.time()
    circuits.keep_probs(model, False)
    save("end of stage", step, trained_s, budget, step * tokens_per_step)
    return step, trained_s


if __name__ == "__main__":
    main()
