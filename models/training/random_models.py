"""GPT-2-shaped models with random weights for benchmarks: the real layer/head/width sizes, so
their cost equals the real GPT-2's. Built on demand into models/random/ (git-ignored).

    npm run models:random -- small [medium large xl] [--dtype fp32|fp16]
"""
import argparse
import os
import time

import numpy as np

from model import SIZES
from model_folder import write_model_folder

ROOT = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(ROOT, "..", "random")


def random_weights(cfg, seed=0):
    rng = np.random.default_rng(seed)
    C = cfg["n_embd"]
    shapes = {"wte": (cfg["vocab_size"], C), "wpe": (cfg["n_positions"], C)}

    def get(name):
        if name in shapes:
            return rng.standard_normal(shapes[name], dtype=np.float32) * 0.02
        if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
            return np.ones(C, np.float32)
        if name.endswith(("ln_1.bias", "ln_2.bias", "ln_f.bias")):
            return np.zeros(C, np.float32)
        kind = name.split(".")[-2] + "." + name.split(".")[-1]
        dims = {"c_attn.weight": (C, 3 * C), "c_attn.bias": (3 * C,), "c_fc.weight": (C, 4 * C), "c_fc.bias": (4 * C,),
                "c_proj.weight": (4 * C, C) if ".mlp." in name else (C, C), "c_proj.bias": (C,)}[kind]
        return rng.standard_normal(dims, dtype=np.float32) * 0.02

    return get


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sizes", nargs="+", choices=sorted(SIZES))
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "fp16"])
    args = ap.parse_args()
    dtype = np.float32 if args.dtype == "fp32" else np.float16
    for size in args.sizes:
        cfg = SIZES[size].__dict__
        out = os.path.join(OUT, f"gpt2-{size}-{args.dtype}")
        onnx_name = "model.onnx" if args.dtype == "fp32" else "model_fp16.onnx"
        if os.path.exists(os.path.join(out, "onnx", onnx_name)):
            print("exists:", out)
            continue
        t = time.time()
        path = write_model_folder(out, random_weights(cfg), cfg, dtype,
                                  extra_config={"likely": {"name": f"random GPT-2 {size} ({args.dtype})"}})
        print(f"wrote {path} in {time.time() - t:.0f}s")


if __name__ == "__main__":
    main()
