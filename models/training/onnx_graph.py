"""Builds a GPT-2 ONNX graph (opset 17) in the transformers.js / Optimum decoder layout from a dict
of numpy weights, so the embedded model and the random-weight benchmark models share one graph.

Inputs:  input_ids [B,T] int64, attention_mask [B,S] int64, position_ids [B,T] int64,
         past_key_values.{i}.key|value [B,H,P,D] (P may be 0)
Outputs: logits [B,T,V], present.{i}.key|value [B,H,S,D]

The tied embedding is stored once, transposed ([C,V]): the head is a plain MatMul and the token
embedding a Gather along axis 1.
"""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def tensor_type(dtype):
    # helper.np_dtype_to_tensor_dtype exists only from onnx 1.13; Debian 12 ships 1.12.
    convert = getattr(helper, "np_dtype_to_tensor_dtype", None)
    return convert(dtype) if convert else onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[np.dtype(dtype)]

OPSET = 17


class GraphBuilder:
    def __init__(self, dtype, external_data=None):
        self.dtype = dtype  # np.float32 or np.float16
        self.onnx_dtype = TensorProto.FLOAT if dtype == np.float32 else TensorProto.FLOAT16
        self.nodes, self.inits, self.n = [], [], 0
        # (path, file) to stream large weights into one external data file as they are made
        self.external = external_data

    def name(self, hint):
        self.n += 1
        return f"{hint}_{self.n}"

    def init(self, name, array, cast=True):
        arr = np.asarray(array)
        if cast and arr.dtype.kind == "f":
            arr = arr.astype(self.dtype)
        if self.external and arr.nbytes >= 1024:
            path, f = self.external
            offset = f.tell()
            f.write(np.ascontiguousarray(arr).tobytes())
            t = TensorProto(name=name, data_type=tensor_type(arr.dtype), dims=arr.shape)
            t.data_location = TensorProto.EXTERNAL
            for k, v in (("location", path), ("offset", str(offset)), ("length", str(arr.nbytes))):
                entry = t.external_data.add()
                entry.key, entry.value = k, v
            self.inits.append(t)
        else:
            self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def op(self, op_type, inputs, hint=None, n_out=1, **attrs):
        outs = [self.name(hint or op_type) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=self.name(op_type + "_node"), **attrs))
        return outs[0] if n_out == 1 else outs

    def linear(self, x, w, b, prefix):
        return self.op("Add", [self.op("MatMul", [x, self.init(prefix + ".weight", w)]), self.init(prefix + ".bias", b)])

    def layer_norm(self, x, g, b, prefix, eps):
        return self.op("LayerNormalization", [x, self.init(prefix + ".weight", g), self.init(prefix + ".bias", b)],
                       axis=-1, epsilon=eps)

    def gelu_tanh(self, x):
        c = lambda v, n: self.init(self.name(n), np.array(v, dtype=self.dtype))
        x3 = self.op("Mul", [self.op("Mul", [x, x]), x])
        inner = self.op("Mul", [self.op("Add", [x, self.op("Mul", [x3, c(0.044715, "gelu_a")])]),
                                c(np.sqrt(2.0 / np.pi), "gelu_b")])
        return self.op("Mul", [self.op("Mul", [x, c(0.5, "half")]), self.op("Add", [self.op("Tanh", [inner]), c(1.0, "one")])])


def build_gpt2(weights, cfg, dtype=np.float32, external_data=None):
    """weights: a dict, or a function name -> array (so huge random models never sit in memory whole);
    HF-style names (wte, wpe, h.{i}.ln_1.weight, h.{i}.attn.c_attn.weight [C,3C] (in, out), ...)."""
    L, H, C = cfg["n_layer"], cfg["n_head"], cfg["n_embd"]
    D, V, eps = C // H, cfg["vocab_size"], cfg["layer_norm_epsilon"]
    g = GraphBuilder(dtype, external_data)
    if isinstance(weights, dict):
        weights = weights.__getitem__
    fmin = float(np.finfo(dtype).min)

    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
              helper.make_tensor_value_info("attention_mask", TensorProto.INT64,
                                            ["batch_size", "past_sequence_length + sequence_length"]),
              helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["batch_size", "sequence_length"])]
    outputs = [helper.make_tensor_value_info("logits", g.onnx_dtype, ["batch_size", "sequence_length", V])]
    for i in range(L):
        for kv in ("key", "value"):
            inputs.append(helper.make_tensor_value_info(f"past_key_values.{i}.{kv}", g.onnx_dtype,
                                                        ["batch_size", H, "past_sequence_length", D]))
            outputs.append(helper.make_tensor_value_info(f"present.{i}.{kv}", g.onnx_dtype,
                                                         ["batch_size", H, "past_sequence_length + sequence_length", D]))

    i64 = lambda v, n: g.init(g.name(n), np.array(v, dtype=np.int64), cast=False)
    # Attention permission [B,1,T,S]: key j is visible to new token t when j <= P + t and mask[b,j] = 1.
    T = g.op("Gather", [g.op("Shape", ["input_ids"]), i64(1, "one_idx")], axis=0)
    S = g.op("Gather", [g.op("Shape", ["attention_mask"]), i64(1, "one_idx")], axis=0)
    P = g.op("Sub", [S, T])
    zero, one = i64(0, "zero"), i64(1, "one")
    rows = g.op("Unsqueeze", [g.op("Add", [g.op("Range", [zero, T, one]), P]), i64([1], "ax1")])  # [T,1]
    cols = g.op("Unsqueeze", [g.op("Range", [zero, S, one]), i64([0], "ax0")])  # [1,S]
    causal = g.op("LessOrEqual", [cols, rows])  # [T,S]
    padding = g.op("Unsqueeze", [g.op("Cast", ["attention_mask"], to=TensorProto.BOOL), i64([1, 2], "ax12")])  # [B,1,1,S]
    allowed = g.op("And", [causal, padding])  # [B,1,T,S]
    masked_value = g.init("masked_value", np.array(fmin, dtype=dtype))

    wte_t = g.init("wte_transposed", weights("wte").T.copy())  # [C,V], shared by embedding and head
    tok = g.op("Transpose", [g.op("Gather", [wte_t, "input_ids"], axis=1)], perm=[1, 2, 0])  # [B,T,C]
    pos = g.op("Gather", [g.init("wpe", weights("wpe")), "position_ids"], axis=0)  # [B,T,C]
    x = g.op("Add", [tok, pos])
    heads_shape = i64([0, 0, H, D], "heads_shape")
    merged_shape = i64([0, 0, C], "merged_shape")
    scale = g.init("attn_scale", np.array(1.0 / np.sqrt(D), dtype=dtype))
    for i in range(L):
        p = f"h.{i}."
        a = g.layer_norm(x, weights(p + "ln_1.weight"), weights(p + "ln_1.bias"), p + "ln_1", eps)
        qkv = g.linear(a, weights(p + "attn.c_attn.weight"), weights(p + "attn.c_attn.bias"), p + "attn.c_attn")
        q, k, v = g.op("Split", [qkv, i64([C, C, C], "split")], n_out=3, axis=2)
        q, k, v = (g.op("Transpose", [g.op("Reshape", [t, heads_shape])], perm=[0, 2, 1, 3]) for t in (q, k, v))  # [B,H,T,D]
        k_all = g.op("Concat", [f"past_key_values.{i}.key", k], axis=2)  # [B,H,S,D]
        v_all = g.op("Concat", [f"past_key_values.{i}.value", v], axis=2)
        g.nodes.append(helper.make_node("Identity", [k_all], [f"present.{i}.key"]))
        g.nodes.append(helper.make_node("Identity", [v_all], [f"present.{i}.value"]))
        att = g.op("Mul", [g.op("MatMul", [q, g.op("Transpose", [k_all], perm=[0, 1, 3, 2])]), scale])  # [B,H,T,S]
        att = g.op("Softmax", [g.op("Where", [allowed, att, masked_value])], axis=-1)
        y = g.op("Reshape", [g.op("Transpose", [g.op("MatMul", [att, v_all])], perm=[0, 2, 1, 3]), merged_shape])
        x = g.op("Add", [x, g.linear(y, weights(p + "attn.c_proj.weight"), weights(p + "attn.c_proj.bias"), p + "attn.c_proj")])
        m = g.layer_norm(x, weights(p + "ln_2.weight"), weights(p + "ln_2.bias"), p + "ln_2", eps)
        m = g.gelu_tanh(g.linear(m, weights(p + "mlp.c_fc.weight"), weights(p + "mlp.c_fc.bias"), p + "mlp.c_fc"))
        x = g.op("Add", [x, g.linear(m, weights(p + "mlp.c_proj.weight"), weights(p + "mlp.c_proj.bias"), p + "mlp.c_proj")])
    x = g.layer_norm(x, weights("ln_f.weight"), weights("ln_f.bias"), "ln_f", eps)
    g.nodes.append(helper.make_node("MatMul", [x, wte_t], ["logits"]))

    graph = helper.make_graph(g.nodes, "gpt2", inputs, outputs, initializer=g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="likely")
    model.ir_version = 8
    return model


def torch_state_to_weights(state):
    """Our PyTorch GPT2 (nn.Linear stores [out,in]) to the HF Conv1D convention ([in,out])."""
    w = {}
    for k, v in state.items():
        a = v.detach().float().numpy()
        name = k.replace("c_fc", "mlp.c_fc").replace(".c_proj", ".mlp.c_proj") if ".attn." not in k else k
        if k.endswith(".weight") and a.ndim == 2 and not k.startswith(("wte", "wpe")):
            a = a.T
        w[name] = a
    w["wte"], w["wpe"] = w.pop("wte.weight"), w.pop("wpe.weight")
    return w


def weights_to_torch_state(w):
    """The inverse of torch_state_to_weights: HF Conv1D names and [in,out] matrices to our PyTorch GPT2's
    state names and shapes (float32 numpy copies; torch.from_numpy makes them tensors)."""
    state = {"wte.weight": w["wte"], "wpe.weight": w["wpe"]}
    for name, a in w.items():
        if name in ("wte", "wpe"):
            continue
        k = name.replace("mlp.c_fc", "c_fc").replace(".mlp.c_proj", ".c_proj")
        state[k] = a.T if name.endswith(".weight") and a.ndim == 2 else a
    return {k: np.array(v, dtype=np.float32) for k, v in state.items()}


def onnx_weights(path):
    """The named weights of a graph build_gpt2 wrote (wte read back from its transposed head copy)."""
    model = onnx.load(path)
    w = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    out = {k: v for k, v in w.items() if k.endswith((".weight", ".bias")) and not k.startswith("wte")}
    out["wte"], out["wpe"] = w["wte_transposed"].T, w["wpe"]
    return out


def save(model, path, external_data=False):
    if external_data:
        onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location="model.onnx_data", size_threshold=1024)
    else:
        onnx.save_model(model, path)
