"""Int8 dynamic quantization of a GPT-2 model folder with plain `onnx` (Debian's python3-onnx),
because onnxruntime's Python quantization tool cannot be installed here.

    /usr/bin/python3 models/training/quantize.py SRC_DIR [OUT_DIR] [--per-tensor]

Reads SRC_DIR/onnx/model.onnx (fp32, external data allowed) and writes OUT_DIR (default: SRC_DIR
with -fp32 replaced by -int8, or + "-int8") with the same config and tokenizer files and
onnx/model_quantized.onnx, the name the engine and transformers.js load as int8.

Every MatMul whose second input is a constant 2-D fp32 weight W [K, N] becomes what onnxruntime's
own quantize_dynamic (QOperator format) emits, which its CPU graph optimizer fuses into one
DynamicQuantizeMatMul kernel:

    x_q, x_scale, x_zp = DynamicQuantizeLinear(x)          # uint8 activations, per call
    y_i32 = MatMulInteger(x_q, W_q, x_zp, W_zp)            # int8 weights, W_zp = 0
    y = Cast(y_i32, float) * (x_scale * W_scale)

Weights are symmetric int8, per output column by default (W_scale [N] = max|W[:, n]| / 127),
or one scale per tensor with --per-tensor. Everything else stays fp32: LayerNorm, softmax, the
attention MatMuls between activations, and the token embedding. GPT-2 ties its output head to the
token embedding: the head MatMul gets an int8 copy of the weight while the embedding Gather keeps
reading the fp32 original (so GPT-2 small is ~280 MB: 85M int8 + the fp32 embedding, like the
hub's model_quantized.onnx).
"""
import argparse
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

COPY_FILES = ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "vocab.json",
              "merges.txt", "special_tokens_map.json"]
TWO_GB = 2 ** 31 - 1


def quantize_weight(w, per_channel):
    """Symmetric int8: returns (int8 weight, float32 scale of shape [N] or [])."""
    absmax = np.abs(w).max(axis=0) if per_channel else np.array(np.abs(w).max(), dtype=np.float32)
    scale = (np.maximum(absmax, 1e-12) / 127.0).astype(np.float32)
    q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
    return q, scale


def quantize_model(model, per_channel=True):
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    uses = {}
    for node in graph.node:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1

    new_nodes = []
    quantized = {}  # fp32 weight name -> (q name, scale name, zp name)
    count = 0
    for node in graph.node:
        w_name = node.input[1] if node.op_type == "MatMul" and len(node.input) == 2 else None
        w = inits.get(w_name) if w_name else None
        if w is None or w.data_type != TensorProto.FLOAT or len(w.dims) != 2:
            new_nodes.append(node)
            continue
        if w_name not in quantized:
            q, scale = quantize_weight(numpy_helper.to_array(w), per_channel)
            names = (w_name + "_quantized", w_name + "_scale", w_name + "_zero_point")
            graph.initializer.extend([
                numpy_helper.from_array(q, names[0]),
                numpy_helper.from_array(scale, names[1]),
                numpy_helper.from_array(np.zeros(scale.shape, dtype=np.int8), names[2]),
            ])
            quantized[w_name] = names
        q_name, scale_name, zp_name = quantized[w_name]
        x, y = node.input[0], node.output[0]
        p = (node.name or y) + "_q"
        new_nodes += [
            helper.make_node("DynamicQuantizeLinear", [x], [p + "_x", p + "_x_scale", p + "_x_zp"], name=p + "_dql"),
            helper.make_node("MatMulInteger", [p + "_x", q_name, p + "_x_zp", zp_name], [p + "_i32"], name=p + "_mmi"),
            helper.make_node("Mul", [p + "_x_scale", scale_name], [p + "_scale"], name=p + "_scale_mul"),
            helper.make_node("Cast", [p + "_i32"], [p + "_f32"], to=TensorProto.FLOAT, name=p + "_cast"),
            helper.make_node("Mul", [p + "_f32", p + "_scale"], [y], name=p + "_out_mul"),
        ]
        uses[w_name] -= 1
        count += 1

    # fp32 weights no longer read by any node (the tied embedding still is, by its Gather).
    dead = [t for t in graph.initializer if t.name in quantized and uses.get(t.name, 0) == 0]
    for t in dead:
        graph.initializer.remove(t)
    del graph.node[:]
    graph.node.extend(new_nodes)
    return count, len(dead)


def default_out(src):
    src = os.path.normpath(src)
    return src[:-5] + "-int8" if src.endswith("-fp32") else src + "-int8"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src")
    ap.add_argument("out", nargs="?")
    ap.add_argument("--per-tensor", action="store_true", help="one scale per weight instead of one per output column")
    args = ap.parse_args(argv)
    src_onnx = os.path.join(args.src, "onnx", "model.onnx")
    if not os.path.exists(src_onnx):
        sys.exit(f"quantize: {src_onnx} does not exist (quantize an fp32 model folder)")
    out = args.out or default_out(args.src)
    if os.path.abspath(out) == os.path.abspath(args.src):
        sys.exit("quantize: OUT_DIR must differ from SRC_DIR")

    model = onnx.load(src_onnx)  # loads external data from beside the file
    if any(t.data_type == TensorProto.FLOAT16 for t in model.graph.initializer):
        sys.exit("quantize: the model has fp16 weights; quantize the fp32 model")
    count, dropped = quantize_model(model, per_channel=not args.per_tensor)
    if count == 0:
        sys.exit("quantize: no MatMul with a constant 2-D fp32 weight found")

    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    for name in COPY_FILES:
        if os.path.exists(os.path.join(args.src, name)):
            shutil.copyfile(os.path.join(args.src, name), os.path.join(out, name))
    dst = os.path.join(out, "onnx", "model_quantized.onnx")
    tmp = dst + ".tmp"
    large = model.ByteSize() > TWO_GB
    if large:
        onnx.save_model(model, tmp, save_as_external_data=True, all_tensors_to_one_file=True,
                        location="model_quantized.onnx_data", size_threshold=1024)
    else:
        onnx.save_model(model, tmp)
    os.replace(tmp, dst)
    size = os.path.getsize(dst) + (os.path.getsize(dst + "_data") if large else 0)
    print(f"quantized {count} MatMuls ({'per-tensor' if args.per_tensor else 'per-column'} int8; "
          f"{dropped} fp32 weights dropped): {dst} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
