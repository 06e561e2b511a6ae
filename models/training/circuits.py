"""Stage 2's copying circuit: an induction mechanism put into the stage-1 model, then trained with the rest.

Why: after stage 1 (80 minutes, 1,378 updates) no head of Likely Mini attends by position at all (every head
spreads its attention almost evenly), and two copy-heavy second stages (236 and 610 updates) formed no
induction head either: in real models it appears as a phase change after far more updates than 2 CPU cores
give. So stage 2 builds the circuit directly and supervises the attention patterns while the language-model
loss learns to use them. The architecture is GPT-2's, unchanged; only the weights are set.

The circuit (H heads of width D; C = H * D):
  layer 0, heads POSITIONAL: attend to i-1, i-2 and i (trained on their attention patterns; the position
      embedding learns with them). Each writes a D-wide code of the token it attends to (token_code below)
      into its own quiet residual subspace: directions where the residual barely varies, so nothing the
      model already uses is overwritten.
  layer 1, heads INDUCTION: half match the current token t_i (the i head's channel) against t_{j-1} (the
      i-1 head's channel at j), half match t_{i-1} against t_{j-2}. So at the second copy of a passage they
      all attend to the token that followed the first time. As value each reads its own D-wide code of that
      token straight from layer 1's normalized input (value_codes): together the four heads carry 4D
      dimensions of the copied token. Two heads (2D dimensions, the first model with this circuit) named a
      rare copied token first but hardly above the rest: ' glacier' copied at -7.7 nats with both heads on
      the right key, since 2D = 44 directions cannot set one token of 50,257 far apart from all others.
  Token codes: linear discriminants, tokens against positions (and against contexts, for the value codes),
      whitened: two different tokens are nearly orthogonal, the same token anywhere nearly identical.
  Copy output: the induction heads' output projections are fitted on tokens from the whole vocabulary
      (fit_copy_output) so that their written codes, read through ln_f and the tied embedding, name the
      copied token; training then adjusts them with everything else, while copy_identity_loss keeps them
      naming every token of the vocabulary, not only those that the training copies hold.

Shapes: B batch, T tokens, S keys; attention probabilities [B,H,T,S].
"""
import numpy as np
import torch
import torch.nn.functional as F

POSITIONAL = {0: 1, 1: 2, 2: 0}  # layer-0 head -> it attends to position i - offset
INDUCTION = {0: (2, 0, 0), 1: (0, 1, 1), 2: (2, 0, 0), 3: (0, 1, 1)}  # layer-1 head -> (query channel, key
# channel, how many tokens back the match starts); head n's value is value code n
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

    A head matching from the current token prefers, for query i, the keys j whose preceding tokens match the
    tokens ending at i longest (x[i-k] == x[j-1-k] for k = 0..); one matching from a token back the same one
    token back (x[i-1-k] == x[j-2-k]). Queries with no match attend to position 0, where real GPT-2 parks
    unused attention too."""
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
    targets = []
    for m in (length, one_back):
        best = m.max(-1, keepdim=True).values
        t = ((m == best) & (best > 0)).float()
        t[..., 0] += (best[..., 0] == 0).float()
        targets.append(t / t.sum(-1, keepdim=True))
    return {head: targets[back] for head, (_q, _k, back) in INDUCTION.items()}, length.max(-1).values


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


def _discriminants(per_token, within, n_codes, D):
    """n_codes [C,D] codes: the directions that vary most between tokens (per_token [N,C]: one row per
    token) per unit of the nuisance covariance within [C,C], whitened to unit variance between tokens."""
    C = per_token.shape[1]
    inv_l = torch.linalg.inv(torch.linalg.cholesky(within + 1e-4 * torch.eye(C)))
    _, vecs = torch.linalg.eigh(inv_l @ torch.cov(per_token.T) @ inv_l.T)  # ascending: the best ones last
    codes = []
    for n in range(n_codes):
        code = inv_l.T @ vecs[:, vecs.shape[1] - (n + 1) * D: vecs.shape[1] - n * D]
        codes.append(code / (per_token @ code).std(0))
    return codes


@torch.no_grad()
def token_code(model):
    """The code the positional heads write: a [C,D] discriminant of LN0(token + position), tokens against
    positions, and the mean LN0 vector."""
    cfg = model.cfg
    C, D = cfg.n_embd, cfg.n_embd // cfg.n_head
    g = torch.Generator().manual_seed(3)
    toks = torch.randint(0, cfg.vocab_size, (3000,), generator=g)
    pos = torch.randint(0, cfg.n_positions, (3000, 8), generator=g)
    e = model.h[0].ln_1(model.wte.weight[toks][:, None, :] + model.wpe.weight[pos])  # [3000,8,C]
    per_token = e.mean(1)
    within = torch.cov((e - per_token[:, None]).reshape(-1, C).T)
    return _discriminants(per_token, within, 1, D)[0], e.reshape(-1, C).mean(0)


@torch.no_grad()
def random_contexts(model, generator, batch=2, T=256, pool=None):
    """Layer 1's normalized input [B,T,C] over sequences of tokens drawn from the whole vocabulary (or from
    pool), placed at a random offset; and the tokens [B,T]. What an induction head's value reads at the
    position it copies from, for any token."""
    vocab = model.cfg.vocab_size
    idx = torch.randint(0, vocab if pool is None else len(pool), (batch, T), generator=generator)
    tokens = idx if pool is None else pool[idx]
    offset = int(torch.randint(0, model.cfg.n_positions - T + 1, (1,), generator=generator))
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    r, _ = model.h[0](model.wte(tokens) + model.wpe(torch.arange(offset, offset + T)[None]), causal)
    return model.h[1].ln_1(r), tokens


@torch.no_grad()
def value_codes(model):
    """One [C,D] code per induction head, of layer 1's normalized input: discriminants of 1,024 tokens
    drawn from the whole vocabulary, each seen ~16 times in random contexts at random positions (the
    context the layer-0 heads mix in is the nuisance). Returns (codes, the mean input)."""
    cfg = model.cfg
    C, D = cfg.n_embd, cfg.n_embd // cfg.n_head
    g = torch.Generator().manual_seed(5)
    pool = torch.randint(0, cfg.vocab_size, (1024,), generator=g)
    es, ts = [], []
    for _ in range(32):
        e, t = random_contexts(model, g, batch=1, T=512, pool=pool)
        es.append(e.reshape(-1, C))
        ts.append(t.reshape(-1))
    e, t = torch.cat(es), torch.cat(ts)
    seen, which = torch.unique(t, return_inverse=True)
    count = torch.bincount(which, minlength=len(seen)).float()[:, None]
    per_token = torch.zeros(len(seen), C).index_add_(0, which, e) / count
    within = torch.cov((e - per_token[which]).T)
    return _discriminants(per_token, within, len(INDUCTION), D), e.mean(0)


@torch.no_grad()
def final_spread(model, seqs):
    """The residual's spread where ln_f reads it, on 2 training sequences: the copy path's logits arrive
    divided by it."""
    x = torch.from_numpy(np.stack([seqs[i] for i in range(2)]).astype(np.int64))[:, :-1]
    *_, (_, h) = model.walk(x)
    return h.std(-1).mean().item()


@torch.no_grad()
def wire_induction(model, seqs, sharpen=2.0, match_scale=12.0):
    """Sets the weights that make the circuit from the trained positional heads (see the module docstring)."""
    cfg = model.cfg
    C = cfg.n_embd
    a0, a1 = model.h[0].attn, model.h[1].attn
    W0, B0, O0 = a0.c_attn.weight, a0.c_attn.bias, a0.c_proj.weight
    W1, B1, O1 = a1.c_attn.weight, a1.c_attn.bias, a1.c_proj.weight
    for head in POSITIONAL:  # doubling the logits takes the positional heads from ~0.8 to ~0.95 on target
        W0[_rows(cfg, 0, head)] *= sharpen
        B0[_rows(cfg, 0, head)] *= sharpen
    code, mean = token_code(model)
    for head in POSITIONAL:
        W0[_rows(cfg, 2, head)] = code.T
        B0[_rows(cfg, 2, head)] = -(code.T @ mean)
        O0[:, _rows(cfg, 0, head)] = 0

    # Quiet residual directions at layer 1's input (the positional heads silenced), one channel per head.
    x = torch.from_numpy(np.stack([seqs[i] for i in range(4)]).astype(np.int64))[:, :-1]
    T = x.shape[1]
    r, _ = model.h[0](model.wte(x) + model.wpe(torch.arange(T)[None]), torch.ones(T, T, dtype=torch.bool).tril())
    _, dirs = torch.linalg.eigh(torch.cov(r.reshape(-1, C).T))  # ascending variance
    D = C // cfg.n_head
    channel = {head: dirs[:, n * D:(n + 1) * D] for n, head in enumerate(POSITIONAL)}  # [C,D] orthonormal
    for head in POSITIONAL:
        O0[:, _rows(cfg, 0, head)] = channel[head]

    # Queries and keys read a channel through layer 1's LayerNorm: undo its gain and bias (the 1/std stays,
    # as a scale). Values read their codes of the token itself; the outputs start silent (fit_copy_output).
    gamma, beta = model.h[1].ln_1.weight, model.h[1].ln_1.bias
    gamma = torch.where(gamma.abs() < 0.05, torch.where(gamma < 0, -0.05, 0.05), gamma)
    for head, (q_from, k_from, _back) in INDUCTION.items():
        for part, src in ((0, q_from), (1, k_from)):
            W1[_rows(cfg, part, head)] = match_scale * channel[src].T / gamma
            B1[_rows(cfg, part, head)] = -match_scale * (channel[src].T @ (beta / gamma))
        O1[:, _rows(cfg, 0, head)] = 0
    codes, mean = value_codes(model)
    for n, head in enumerate(INDUCTION):
        W1[_rows(cfg, 2, head)] = codes[n].T
        B1[_rows(cfg, 2, head)] = -(codes[n].T @ mean)


def copy_logits(model, e, tokens):
    """The induction heads' direct copy path: values read from layer 1's normalized input e [n,C] at the
    copied tokens [n], through the heads' output weights, ln_f and the tied embedding, as if the copy
    filled the residual (its LayerNorm takes the scale out: this scores the direction written, and no
    larger write can lower it). Returns logits [n,V]; gradients reach the value and output weights only."""
    cfg, a1 = model.cfg, model.h[1].attn
    written = 0
    for head in INDUCTION:
        value = F.linear(e, a1.c_attn.weight[_rows(cfg, 2, head)], a1.c_attn.bias[_rows(cfg, 2, head)])  # [n,D]
        written = written + value @ a1.c_proj.weight[:, _rows(cfg, 0, head)].T  # [n,C]
    return model.ln_f(written) @ model.wte.weight.T


def _written_spread(model, e):
    cfg, a1 = model.cfg, model.h[1].attn
    v = F.linear(e, a1.c_attn.weight, a1.c_attn.bias)[:, 2 * cfg.n_embd:]  # [n,C] every head's value
    mask = torch.zeros(cfg.n_embd)
    for head in INDUCTION:
        mask[_rows(cfg, 0, head)] = 1
    return F.linear(v * mask, a1.c_proj.weight).std(-1).mean().item()


def fit_copy_output(model, seqs, say, steps=600, batch=512, lr=3e-2):
    """The induction heads' output projections, fitted so that on their own they name the copied token
    among the whole vocabulary (copy_logits, on 16,384 tokens drawn from it in random contexts; the later
    layers learn around the path in training), then scaled to write with the spread the residual has
    where ln_f reads it: enough to carry the copy, not so much that it drowns everything else."""
    cfg, a1 = model.cfg, model.h[1].attn
    spread = final_spread(model, seqs)  # wire_induction left the copy path silent
    g = torch.Generator().manual_seed(0)
    e, tokens = random_contexts(model, g, batch=32, T=512)
    e, tokens = e.reshape(-1, cfg.n_embd), tokens.reshape(-1)
    frozen = [p for p in model.parameters() if p is not a1.c_proj.weight]  # the fit moves the outputs only
    for p in frozen:
        p.requires_grad_(False)
    mask = torch.zeros_like(a1.c_proj.weight)
    for head in INDUCTION:
        mask[:, _rows(cfg, 0, head)] = 1
    with torch.no_grad():
        a1.c_proj.weight.mul_(1 - mask).add_(0.02 * torch.randn(a1.c_proj.weight.shape, generator=g) * mask)
    opt = torch.optim.Adam([a1.c_proj.weight], lr=lr)
    for step in range(steps):
        pick = torch.randint(0, len(tokens), (batch,), generator=g)
        logits = copy_logits(model, e[pick], tokens[pick])
        loss = F.cross_entropy(logits, tokens[pick])
        opt.zero_grad()
        loss.backward()
        a1.c_proj.weight.grad *= mask
        opt.step()
        if step % 100 == 0 or step == steps - 1:
            top1 = (logits.argmax(-1) == tokens[pick]).float().mean().item()
            say(f"copy output fit, step {step}: loss {loss.item():.2f}, the copied token ranked first {top1:.0%}")
    for p in frozen:
        p.requires_grad_(True)
    with torch.no_grad():
        a1.c_proj.weight[mask.bool()] *= spread / _written_spread(model, e)


def copy_identity_loss(model, generator, n=512):
    """Cross-entropy of the direct copy path (copy_logits) on n tokens drawn from the whole vocabulary:
    language-model gradients reach the copy path mostly through the frequent tokens of the training copies,
    and would otherwise let a rare word's copy go blurred (' glacier' copied at rank ~10,000 in the first
    model with the circuit)."""
    with torch.no_grad():
        e, tokens = random_contexts(model, generator, batch=n // 256, T=256)
    return F.cross_entropy(copy_logits(model, e.reshape(-1, model.cfg.n_embd), tokens.reshape(-1)), tokens.reshape(-1))


def copy_path(model):
    """(parameter, index) of the induction heads' value and output weights: training moves them
    COPY_STEP_GAIN times as far as Adam's step (their fitted start is coarse, and one lr for all is slow)."""
    cfg, a1 = model.cfg, model.h[1].attn
    out = []
    for head in INDUCTION:
        out += [(a1.c_attn.weight, _rows(cfg, 2, head)), (a1.c_attn.bias, _rows(cfg, 2, head)),
                (a1.c_proj.weight, (slice(None), _rows(cfg, 0, head)))]
    return out
