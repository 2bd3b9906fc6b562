"""DreamDeck's graph of the 26-style network (Dumoulin et al., conditional instance norm).

The package's ONNX file spells each conditional instance norm out in a dozen small
operators and works on float NCHW images.  This builds the same network from the same
weights as one ONNX graph that ONNX Runtime serves faster:

* each norm is one fused ``InstanceNormalization`` whose scale and shift are the style
  weights times the 26-style tables (a 26-wide ``MatMul``, so slot faders blend styles
  live, exactly as the network's own ``style_weights`` input does);
* frames go in and out as they live in the show, ``uint8`` HxWx3 (batch first), with the
  conversion, the strength mix with the input and the rounding inside the graph.

Inputs: ``image`` uint8 [B, H, W, 3] (H, W multiples of 4), ``style_weights`` float [26],
``strength`` float [1] (1 = fully stylised).  Output: ``stylized`` uint8 [B, H, W, 3].
"""

from __future__ import annotations

import numpy as np

from .package import read_weights

OPSET = 17
# (layer, reflect padding, stride) in the order the network runs them
CONTRACT = (("contract.0", 4, 1), ("contract.1", 1, 2), ("contract.2", 1, 2))
RESIDUAL_BLOCKS = 6
EXPAND = (("expand.0", 1), ("expand.1", 1))
LAST = ("expand.2", 4)


def build_model(weights: dict[str, np.ndarray] | None = None):
    """The fused network as an ``onnx.ModelProto`` (weights: the package's multistyle26 initializers)."""
    from onnx import TensorProto, helper, numpy_helper

    w = read_weights("multistyle26") if weights is None else weights
    nodes, inits = [], []
    count = [0]

    def name(prefix: str) -> str:
        count[0] += 1
        return f"{prefix}_{count[0]}"

    def const(prefix: str, value: np.ndarray) -> str:
        n = name(prefix)
        inits.append(numpy_helper.from_array(np.asarray(value), n))
        return n

    def op(kind: str, inputs: list[str], **attrs) -> str:
        out = name(kind.lower())
        nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def conv_norm(x: str, layer: str, pad: int, stride: int = 1) -> str:
        pads = const("pads", np.array([0, 0, pad, pad, 0, 0, pad, pad], np.int64))
        x = op("Pad", [x, pads], mode="reflect")
        x = op("Conv", [x, const(layer + ".w", w[layer + ".w"])], strides=[stride, stride])
        scale = op("MatMul", ["style_weights", const(layer + ".gamma", w[layer + ".norm.gamma"])])
        shift = op("MatMul", ["style_weights", const(layer + ".beta", w[layer + ".norm.beta"])])
        return op("InstanceNormalization", [x, scale, shift], epsilon=1e-5)

    x = op("Cast", ["image"], to=TensorProto.FLOAT)
    pixels = op("Div", [x, const("byte", np.array(255.0, np.float32))])  # as the package: x / 255
    x = op("Transpose", [pixels], perm=[0, 3, 1, 2])
    for layer, pad, stride in CONTRACT:
        x = op("Relu", [conv_norm(x, layer, pad, stride)])
    for i in range(RESIDUAL_BLOCKS):
        y = op("Relu", [conv_norm(x, f"res.{i}.0", 1)])
        x = op("Add", [x, conv_norm(y, f"res.{i}.1", 1)])
    up = const("up", np.array([1, 1, 2, 2], np.float32))
    for layer, pad in EXPAND:
        x = op("Resize", [x, "", up], mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
        x = op("Relu", [conv_norm(x, layer, pad)])
    x = op("Sigmoid", [conv_norm(x, *LAST)])
    x = op("Transpose", [x], perm=[0, 2, 3, 1])
    # strength: input + strength * (stylised - input), then to bytes as the package rounds: floor(v * 255 + 0.5)
    x = op("Add", [pixels, op("Mul", ["strength", op("Sub", [x, pixels])])])
    x = op("Floor", [op("Add", [op("Mul", [x, const("byte", np.array(255.0, np.float32))]), const("half", np.array(0.5, np.float32))])])
    x = op("Clip", [x, const("lo", np.array(0.0, np.float32)), const("hi", np.array(255.0, np.float32))])
    nodes.append(helper.make_node("Cast", [x], ["stylized"], to=TensorProto.UINT8))

    graph = helper.make_graph(
        nodes, "dreamdeck_styles26",
        [helper.make_tensor_value_info("image", TensorProto.UINT8, ["batch", "height", "width", 3]),
         helper.make_tensor_value_info("style_weights", TensorProto.FLOAT, [26]),
         helper.make_tensor_value_info("strength", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("stylized", TensorProto.UINT8, ["batch", "height", "width", 3])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="dreamdeck")
    model.ir_version = 8  # what onnxruntime 1.18 and newer read
    return model
