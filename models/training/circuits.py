"""Stage 2's copying circuit: an induction mechanism put into the stage-1 model, then trained with the rest.

Why: after stage 1 (80 minutes, 1,378 updates) no head of Likely Mini attends by position at all (every head
spreads its attention almost evenly), and two copy-heavy second stages (236 and 610 updates) formed no
induction head either: in real models it appears as a phase change after far more updates than 2 CPU cores
give. So stage 2 builds the circuit directly and supervises the attention patterns while the language-model
loss learns to use them. The architecture is GPT-2's, unchanged; only the weights are set.

The circuit (H heads of width D; C = H * D):
  layer 0, heads POSITIONAL: attend to i-1, i-2, i and i (trained on their attention patterns; the position
      embedding learns with them). Each writes a D-wide code of the token it attends to (token codes below)
      into its own quiet residual subspace: directions where the residual barely varies, so nothing the
      model already uses is overwritten.
  layer 1, heads INDUCTION: head 0 matches the current token t_i (the i head's channel) against t_{j-1} (the
      i-1 head's channel at j); head 1 matches t_{i-1} against t_{j-2}. As value each reads a code of the
      token at j (two different codes: 2D dimensions of the token between them). So at the second copy of a
      passage both heads attend to the token that followed the first time, and write its code.
  Token codes: the 2D directions of layer 0's normalized input that vary most between tokens per unit of
      variation between positions (linear discriminants), whitened, split in two D-wide codes: two
      different tokens are nearly orthogonal, the same token at any position nearly identical.
  Copy output: the induction heads' output projections are fitted on the vocabulary (fit_copy_output) so
      that their written codes, read through ln_f and the tied embedding, name the copied token (~75 % first
      among 50,257 on their own); training then adjusts them with everything else, while copy_identity_loss
      pulls them toward naming every token of the vocabulary, not only those that the training copies hold.

Shapes: B batch, T tokens, S keys; attention probabilities [B,H,T,S].
"""
import numpy as np
import torch
import torch.nn.functional as F

POSITIONAL = {0: 1, 1: 2, 2: 0, 3: 0}  # layer-0 head -> it attends to position i - offset
CODE = {0: 0, 1: 0, 2: 0, 3: 1}  # layer-0 head -> which token code it writes (heads 2 and 3: two codes of t_i)
INDUCTION = {0: (2, 0, 2), 1: (0, 1, 3)}  # layer-1 head -> channels of its (query, key, value)
MATCH_CAP = 4  # a longer match than this many tokens is not preferred further
COPY_STEP_GAIN = 3.0


def _rows(cfg, part, head):
    """Rows of c_attn (part 0 query, 1 key, 2 value) or columns of c_proj (part 0) that belong to head."""
    d = cfg.n_embd // cfg.n_head
    return slice(part * cfg.n_embd + head * d, part * cfg.n_embd + (head + 1) * d)


def positional_targets(T):
    """{layer-0 head: [T,S=T] one-hot at i - offset (clamped to 0)}."""
    i = torch.arange(T)
    out = {}
    for head, off in POSITIONAL.items():
        t = torch.zeros(T, T)
        t[i, (i - off).clamp(min=0)] = 1
        out[head] = t
    return out


def match_targets(x):
    """Induction targets for x [B,T]: {layer-1 head: [B,T,T]}, and [B,T] the longest match per query.

    Head 0's query i prefers the keys j whose preceding tokens match the tokens ending at i longest
    (x[i-k] == x[j-1-k] for k = 0..); head 1 the same one token back (x[i-1-k] == x[j-2-k]). Queries with
    no match attend to position 0, where real GPT-2 parks unused attention too."""
    B, T = x.shape
    before = torch.cat([torch.full((B, 1), -1), x[:, :-1]], 1)  # before[j] = x[j-1]
    run = (x[:, :, None] == before[:, None, :]) & torch.ones(T, T, dtype=torch.bool).tril()
    length = run.to(torch.int8)
    for k in range(1, MATCH_CAP):
        shifted = torch.zeros_like(run)
        shifted[:, k:, k:] = run[:, :-k, :-k]
        run = run & shifted
        length = length + run.to(torch.int8)
    one_back = torch.zeros_like(length)
    one_back[:, 1:, 1:] = length[:, :-1, :-1]
    out = {}
    for head, m in zip(INDUCTION, (length, one_back)):
        best = m.max(-1, keepdim=True).values
        t = ((m == best) & (best > 0)).float()
        t[..., 0] += (best[..., 0] == 0).float()
        out[head] = t / t.sum(-1, keepdim=True)
    return out, length.max(-1).values


def attention_loss(probs, target):
    """Cross-entropy of a head's attention [B,T,S] against a target distribution [B|1,T,S]."""
    return -(target * torch.log(probs.float() + 1e-9)).sum(-1).mean()


def keep_probs(model, on):
    for layer in (0, 1):
        model.h[layer].attn.keep_probs = on


def supervision_loss(model, positional, induction):
    """Mean attention loss of the circuit's heads for the forward just run (keep_probs on), against
    positional_targets and match_targets of its input."""
    p0, p1 = model.h[0].attn.probs, model.h[1].attn.probs
    losses = [attention_loss(p0[:, h], positional[h]) for h in POSITIONAL]
    losses += [attention_loss(p1[:, h], induction[h]) for h in INDUCTION]
    return sum(losses) / len(losses), losses


def train_positional_heads(model, seqs, order, steps, say, lr=3e-3, batch=4):
    """The layer-0 heads learn to attend to i-1, i-2 and i: only their query/key rows and the position
    embedding change, on the attention loss alone (layer 0 only: ~1 s a step)."""
    cfg, block = model.cfg, model.h[0]
    w, b = block.attn.c_attn.weight, block.attn.c_attn.bias
    mask_w, mask_b = torch.zeros_like(w), torch.zeros_like(b)
    for head in POSITIONAL:
        for part in (0, 1):
            mask_w[_rows(cfg, part, head)] = 1
            mask_b[_rows(cfg, part, head)] = 1
    params = [(w, mask_w), (b, mask_b), (model.wpe.weight, None)]
    opt = torch.optim.Adam([p for p, _ in params], lr=lr)
    T = seqs.shape[1] - 1
    targets = positional_targets(T)
    allowed = torch.ones(T, T, dtype=torch.bool).tril().view(1, 1, T, T)
    block.attn.keep_probs = True
    for step in range(steps):
        rows = [order[(step * batch + j) % len(order)] for j in range(batch)]
        x = torch.from_numpy(np.stack([seqs[r] for r in rows]).astype(np.int64))[:, :-1]
        block.attn(block.ln_1(model.wte(x) + model.wpe(torch.arange(T)[None])), allowed)
        losses = [attention_loss(block.attn.probs[:, h], targets[h]) for h in POSITIONAL]
        opt.zero_grad(set_to_none=True)
        (sum(losses) / len(losses)).backward()
        for p, mask in params:
            if mask is not None:
                p.grad *= mask
        opt.step()
        if step % 20 == 0 or step == steps - 1:
            say(f"positional heads, step {step}: attention loss " + " ".join(f"{l.item():.2f}" for l in losses))
    block.attn.keep_probs = False


@torch.no_grad()
def _token_codes(model, n_codes):
    """n_codes D-wide token codes: linear discriminants of LN0(token + position), tokens against positions,
    whitened (unit variance between tokens). Returns ([C,D] per code, the mean LN0 vector)."""
    cfg = model.cfg
    C, D = cfg.n_embd, cfg.n_embd // cfg.n_head
    g = torch.Generator().manual_seed(3)
    toks = torch.randint(0, cfg.vocab_size, (3000,), generator=g)
    pos = torch.randint(0, cfg.n_positions, (3000, 8), generator=g)
    e = model.h[0].ln_1(model.wte.weight[toks][:, None, :] + model.wpe.weight[pos])  # [3000,8,C]
    mean, per_token = e.reshape(-1, C).mean(0), e.mean(1)
    between = torch.cov(per_token.T)
    within = torch.cov((e - per_token[:, None]).reshape(-1, C).T) + 1e-4 * torch.eye(C)
    inv_l = torch.linalg.inv(torch.linalg.cholesky(within))
    _, vecs = torch.linalg.eigh(inv_l @ between @ inv_l.T)  # ascending: the best discriminants last
    codes = []
    for n in range(n_codes):
        code = inv_l.T @ vecs[:, vecs.shape[1] - (n + 1) * D: vecs.shape[1] - n * D]
        codes.append(code / ((per_token - mean) @ code).std(0))
    return codes, mean


@torch.no_grad()
def wire_induction(model, seqs, sharpen=2.0, match_scale=12.0):
    """Sets the weights that make the circuit from the trained positional heads (see the module docstring)
    and returns what fit_copy_output needs."""
    cfg = model.cfg
    C = cfg.n_embd
    a0, a1 = model.h[0].attn, model.h[1].attn
    W0, B0, O0 = a0.c_attn.weight, a0.c_attn.bias, a0.c_proj.weight
    W1, B1 = a1.c_attn.weight, a1.c_attn.bias
    for head in POSITIONAL:  # doubling the logits takes the positional heads from ~0.8 to ~0.95 on target
        W0[_rows(cfg, 0, head)] *= sharpen
        B0[_rows(cfg, 0, head)] *= sharpen
    codes, mean = _token_codes(model, max(CODE.values()) + 1)
    for head in POSITIONAL:
        W0[_rows(cfg, 2, head)] = codes[CODE[head]].T
        B0[_rows(cfg, 2, head)] = -(codes[CODE[head]].T @ mean)
        O0[:, _rows(cfg, 0, head)] = 0

    # Quiet residual directions at layer 1's input (the positional heads silenced), one channel per head.
    x = torch.from_numpy(np.stack([seqs[i] for i in range(4)]).astype(np.int64))[:, :-1]
    T = x.shape[1]
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    r, _ = model.h[0](model.wte(x) + model.wpe(torch.arange(T)[None]), causal)
    _, dirs = torch.linalg.eigh(torch.cov(r.reshape(-1, C).T))  # ascending variance
    D = C // cfg.n_head
    channel = {head: dirs[:, n * D:(n + 1) * D] for n, head in enumerate(POSITIONAL)}  # [C,D] orthonormal
    for head in POSITIONAL:
        O0[:, _rows(cfg, 0, head)] = channel[head]

    # Layer 1 reads a channel through its LayerNorm: undo the gain and bias (the 1/std stays, as a scale).
    gamma, beta = model.h[1].ln_1.weight, model.h[1].ln_1.bias
    gamma = torch.where(gamma.abs() < 0.05, torch.where(gamma < 0, -0.05, 0.05), gamma)
    for head, (q_from, k_from, v_from) in INDUCTION.items():
        for part, src, scale in ((0, q_from, match_scale), (1, k_from, match_scale), (2, v_from, 1.0)):
            W1[_rows(cfg, part, head)] = scale * channel[src].T / gamma
            B1[_rows(cfg, part, head)] = -scale * (channel[src].T @ (beta / gamma))

    # The residual's scale where layer 1 reads it and where ln_f does: the copied code arrives divided by
    # the first, and its logits by the second.
    r_std = r.std(-1).mean().item()
    h = model.wte(x[:1]) + model.wpe(torch.arange(T)[None])
    for block in model.h:
        h, _ = block(h, causal)
    return {"codes": codes, "mean": mean, "layer1_std": r_std, "final_std": h.std(-1).mean().item()}


def fit_copy_output(model, wiring, say, steps=600, batch=512, lr=3e-2):
    """The induction heads' output projections: the map from the copied token's code to the residual,
    fitted so that on its own it names the token among the whole vocabulary (the direct path through ln_f
    and the tied embedding; the later layers learn around it in training)."""
    cfg = model.cfg
    C, D = cfg.n_embd, cfg.n_embd // cfg.n_head
    with torch.no_grad():
        e = model.h[0].ln_1(model.wte.weight + model.wpe.weight.mean(0))
        held = {head: ((e - wiring["mean"]) @ wiring["codes"][CODE[v_from]]) / wiring["layer1_std"]  # [V,D]
                for head, (_q, _k, v_from) in INDUCTION.items()}
        wte, gain = model.wte.weight.detach(), model.ln_f.weight.detach()
    out = {head: torch.zeros(C, D, requires_grad=True) for head in INDUCTION}
    opt = torch.optim.Adam(list(out.values()), lr=lr)
    g = torch.Generator().manual_seed(0)
    for step in range(steps):
        t = torch.randint(0, cfg.vocab_size, (batch,), generator=g)
        written = sum(held[head][t] @ out[head].T for head in INDUCTION)  # [batch,C]
        logits = (written * gain / wiring["final_std"]) @ wte.T
        loss = F.cross_entropy(logits, t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == steps - 1:
            top1 = (logits.argmax(-1) == t).float().mean().item()
            say(f"copy output fit, step {step}: loss {loss.item():.2f}, the copied token ranked first {top1:.0%}")
    with torch.no_grad():
        for head in INDUCTION:
            model.h[1].attn.c_proj.weight[:, _rows(cfg, 0, head)] = out[head]


@torch.no_grad()
def copy_scales(model, seqs):
    """The residual's spread where layer 1 reads it and where ln_f does, on 2 sequences: the direct copy
    path (copy_identity_loss) divides by them as the LayerNorms do."""
    x = torch.from_numpy(np.stack([seqs[i] for i in range(2)]).astype(np.int64))[:, :-1]
    T = x.shape[1]
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    h = model.wte(x) + model.wpe(torch.arange(T)[None])
    spread = []
    for block in model.h:
        h, _ = block(h, causal)
        spread.append(h.std(-1).mean().item())
    return spread[0], spread[-1]


def copy_identity_loss(model, scales, generator, n=512):
    """Cross-entropy of the induction heads' direct copy path on n tokens drawn from the whole vocabulary:
    the token's code (as the layer-0 head that reads position j itself writes it) through the heads' value
    and output weights, ln_f and the tied embedding must name the token. Only the value and output weights
    (copy_path) learn from it: language-model gradients reach those mostly through the frequent tokens of
    the training copies, and would otherwise let a rare word's copy go blurred (' glacier' copied at
    rank ~10,000 in the first model with the circuit)."""
    cfg = model.cfg
    a0, a1, ln1 = model.h[0].attn, model.h[1].attn, model.h[1].ln_1
    layer1_std, final_std = scales
    t = torch.randint(0, cfg.vocab_size, (n,), generator=generator)
    with torch.no_grad():
        e = model.h[0].ln_1(model.wte.weight[t] + model.wpe.weight.mean(0))  # [n,C]
        arriving = {}
        for head, (_q, _k, v_from) in INDUCTION.items():
            code = F.linear(e, a0.c_attn.weight[_rows(cfg, 2, v_from)], a0.c_attn.bias[_rows(cfg, 2, v_from)])  # [n,D]
            arriving[head] = (code @ a0.c_proj.weight[:, _rows(cfg, 0, v_from)].T) * ln1.weight / layer1_std  # [n,C]
        wte, gain = model.wte.weight.detach(), model.ln_f.weight.detach()
    written = 0
    for head, x in arriving.items():
        value = F.linear(x, a1.c_attn.weight[_rows(cfg, 2, head)])  # [n,D]; the bias is the same for every token
        written = written + value @ a1.c_proj.weight[:, _rows(cfg, 0, head)].T  # [n,C]
    logits = (written * gain / final_std) @ wte.T  # [n,V]
    return F.cross_entropy(logits, t)


def copy_path(model):
    """(parameter, index) of the induction heads' value and output weights: training moves them
    COPY_STEP_GAIN times as far as Adam's step (their fitted start is coarse, and one lr for all is slow)."""
    cfg, a1 = model.cfg, model.h[1].attn
    out = []
    for head in INDUCTION:
        out += [(a1.c_attn.weight, _rows(cfg, 2, head)), (a1.c_attn.bias, _rows(cfg, 2, head)),
                (a1.c_proj.weight, (slice(None), _rows(cfg, 0, head)))]
    return out
