"""Attention fixtures: PyTorch's attention probabilities of the embedded model at a few positions of each
golden text, added to models/fixtures/golden.json (field "attention" of each text) without touching the
fields already there. The engine's attention view (models/src/attention.ts) must reproduce them within
ATTENTION_TOLERANCE (models/src/attention.test.ts).

export.py writes them with every export; this script adds them to the golden.json of the shipped model
without its training checkpoint (the weights are read back from models/embedded/onnx/model.onnx, the
function export.py wrote), and checks first that those weights reproduce the fixtures' log-probs.

    /usr/bin/python3 models/training/golden_attention.py

Each entry: {"index": i, "layers": probs [layer][head][key]} for the query that predicted token i, i.e. the
prediction at position i of [EOT] + ids, over its keys 0..i (key 0 is the EOT that starts the text, key
j ≥ 1 is token j - 1). Probabilities are written to 6 decimals (5e-7 at most off, far inside the tolerance).
"""
import json
import os

import torch

from model import GPT2, GPT2Config

ROOT = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(ROOT, "..")
EOT = 50256
ATTENTION_TOLERANCE = 1e-4  # how close the engine's attention weights must come to these (golden.json carries it)


def attention_indices(name, n):
    """The tokens whose attention is recorded: halfway and the last; in "repeated" (a passage three times), a
    token of the second and third copy at the same place in it, where the induction heads look back."""
    if name == "repeated":
        per = n // 3
        return [per + per // 2, 2 * per + per // 2]
    return [n // 2, n - 1]


@torch.no_grad()
def reference_attention(model, ids, indices):
    """Attention probabilities [layer][head][key] of the query predicting each token in indices."""
    x = torch.tensor([[EOT] + ids[:-1]])
    for block in model.h:
        block.attn.keep_probs = True
    try:
        model(x)
        probs = [block.attn.probs[0] for block in model.h]  # each [H,T,T]
    finally:
        for block in model.h:
            block.attn.keep_probs = False
            block.attn.probs = None
    return [{"index": i, "layers": [[[round(p, 6) for p in head[i, : i + 1].tolist()] for head in layer] for layer in probs]}
            for i in indices]


def load_embedded(model_dir):
    """The shipped model's PyTorch twin, from the weights its ONNX file holds."""
    from onnx_graph import onnx_weights, weights_to_torch_state

    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        c = json.load(f)
    cfg = GPT2Config(n_layer=c["n_layer"], n_head=c["n_head"], n_embd=c["n_embd"], n_positions=c["n_positions"],
                     vocab_size=c["vocab_size"], layer_norm_epsilon=c.get("layer_norm_epsilon", 1e-5))
    model = GPT2(cfg)
    state = weights_to_torch_state(onnx_weights(os.path.join(model_dir, "onnx", "model.onnx")))
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    model.eval()
    return model


@torch.no_grad()
def max_logprob_difference(model, g):
    """How far the model's log-probs lie from a fixture text's (the same function: float32 noise)."""
    ids = g["ids"]
    logits, _ = model(torch.tensor([[EOT] + ids[:-1]]))
    logp = torch.log_softmax(logits[0].double(), dim=-1)
    lp = logp[torch.arange(len(ids)), torch.tensor(ids)]
    return float((lp - torch.tensor(g["logprobs"], dtype=torch.float64)).abs().max())


def main():
    path = os.path.join(os.environ.get("FIXTURES_DIR", os.path.join(MODELS, "fixtures")), "golden.json")
    with open(path, encoding="utf-8") as f:
        original = f.read()
    fixtures = json.loads(original)
    model = load_embedded(os.path.join(MODELS, "embedded"))
    # Only fields are added: the file must re-serialize to itself, so every value already there is written
    # back exactly as it was.
    if json.dumps(fixtures, ensure_ascii=False) != original:
        raise SystemExit("golden.json does not re-serialize to itself; refusing to rewrite it")
    for name, g in fixtures["texts"].items():
        diff = max_logprob_difference(model, g)
        # The fixtures came from the checkpoint before export's int8 rescaling, which moves float32 rounding by ~2e-5.
        assert diff < fixtures["logprob_tolerance"], f"{name}: the embedded model's weights give log-probs {diff} nats off golden.json's"
    fixtures["attention_tolerance"] = ATTENTION_TOLERANCE
    for name, g in fixtures["texts"].items():
        g["attention"] = reference_attention(model, g["ids"], attention_indices(name, len(g["ids"])))
        print(name, "attention at tokens", [a["index"] for a in g["attention"]])
    with open(path, "w", encoding="utf-8") as f:
        json.dump(fixtures, f, ensure_ascii=False)
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
