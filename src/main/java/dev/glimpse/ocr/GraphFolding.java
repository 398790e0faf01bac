package dev.glimpse.ocr;

import ai.onnx.proto.OnnxMl;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Exact algebraic simplifications of the PP-OCRv4 graphs, applied in memory when they are loaded. Their PP-LCNetV3
 * blocks, as exported by paddle2onnx, run every convolution through a chain of small element-wise nodes:
 * {@code Conv -> Mul(s) -> Add(b) -> hardswish as Add(3), Clip(0, 6), Mul, Div(6) -> Mul(s2) -> Add(b2) -> Conv}, with
 * scalar s, b, s2, b2 (the learnable affine blocks). On a CPU those memory-bound nodes took about a third of the
 * recogniser's time. Three rewrites, each exact in real arithmetic (float rounding differs in the last bits):
 *
 * <ol>
 *   <li>{@code Mul(s) -> Add(b)} after a Conv folds into the Conv: W' = s W, B' = s B + b;</li>
 *   <li>{@code x * Clip(x + 3, 0, 6) / 6} becomes {@code x * HardSigmoid(x; alpha 1/6, beta 1/2)} (two nodes instead
 *       of four);</li>
 *   <li>{@code Mul(s2) -> Add(b2)} before a 1x1, unpadded, ungrouped Conv folds into it: W' = s2 W,
 *       B'[o] = B[o] + b2 * sum_i W[o, i] (not before padded convolutions, whose zero border would change).</li>
 * </ol>
 *
 * Every rewrite checks that the intermediate tensors have exactly one consumer and are not graph outputs, and that the
 * folded values are constants; anything else is left alone, so a graph without these patterns comes back unchanged.
 */
public final class GraphFolding {

    private GraphFolding() {
    }

    /** Counts of the rewrites applied (for logs and tests). */
    public record Stats(int convAffine, int hardSwish, int affineConv) {}

    public record Result(byte[] model, Stats stats) {}

    public static Result fold(byte[] model) {
        OnnxMl.ModelProto m;
        try {
            m = OnnxMl.ModelProto.parseFrom(model);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalArgumentException("not an ONNX model: " + e.getMessage(), e);
        }
        Graph g = new Graph(m.getGraph());
        int a = g.foldConvAffine();
        int h = g.hardSwish();
        int c = g.foldAffineConv();
        g.dropUnused();
        OnnxMl.GraphProto graph = m.getGraph().toBuilder().clearNode().addAllNode(g.nodes).build();
        return new Result(m.toBuilder().setGraph(graph).build().toByteArray(), new Stats(a, h, c));
    }

    private static final class Graph {
        List<OnnxMl.NodeProto> nodes;
        final Set<String> graphOutputs = new HashSet<>();
        Map<String, OnnxMl.NodeProto> producer;
        Map<String, List<OnnxMl.NodeProto>> consumers;
        int fresh;

        Graph(OnnxMl.GraphProto g) {
            nodes = new ArrayList<>(g.getNodeList());
            for (OnnxMl.ValueInfoProto o : g.getOutputList()) graphOutputs.add(o.getName());
            index();
        }

        void index() {
            producer = new HashMap<>();
            consumers = new HashMap<>();
            for (OnnxMl.NodeProto n : nodes) {
                for (String o : n.getOutputList()) producer.put(o, n);
                for (String i : n.getInputList()) consumers.computeIfAbsent(i, k -> new ArrayList<>()).add(n);
            }
        }

        /** The single consumer of a tensor that is not a graph output, or null. */
        OnnxMl.NodeProto only(String tensor) {
            List<OnnxMl.NodeProto> c = consumers.get(tensor);
            if (c == null || c.size() != 1 || graphOutputs.contains(tensor)) return null;
            return c.get(0);
        }

        /** The float values of a Constant node's output, or null. */
        float[] constant(String tensor) {
            OnnxMl.NodeProto p = producer.get(tensor);
            if (p == null || !p.getOpType().equals("Constant") || p.getAttributeCount() != 1
                    || !p.getAttribute(0).getName().equals("value")) return null;
            OnnxMl.TensorProto t = p.getAttribute(0).getT();
            if (t.getDataType() != OnnxMl.TensorProto.DataType.FLOAT.getNumber()) return null;
            if (t.getFloatDataCount() > 0) {
                float[] v = new float[t.getFloatDataCount()];
                for (int i = 0; i < v.length; i++) v[i] = t.getFloatData(i);
                return v;
            }
            ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            float[] v = new float[b.remaining() / 4];
            b.asFloatBuffer().get(v);
            return v;
        }

        List<Long> dims(String tensor) {
            return producer.get(tensor).getAttribute(0).getT().getDimsList();
        }

        /** A scalar constant (one value), or NaN. */
        double scalar(String tensor) {
            float[] v = constant(tensor);
            return v != null && v.length == 1 ? v[0] : Double.NaN;
        }

        /** The other input of a two-input node, if {@code tensor} is one of them. */
        static String other(OnnxMl.NodeProto n, String tensor) {
            if (n.getInputCount() != 2) return null;
            if (n.getInput(0).equals(tensor)) return n.getInput(1);
            if (n.getInput(1).equals(tensor)) return n.getInput(0);
            return null;
        }

        String newConstant(String hint, List<Long> dims, float[] values) {
            String name = hint + "_glimpse_folded_" + (fresh++);
            ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(values);
            OnnxMl.TensorProto t = OnnxMl.TensorProto.newBuilder().setName(name).addAllDims(dims)
                    .setDataType(OnnxMl.TensorProto.DataType.FLOAT.getNumber()).setRawData(ByteString.copyFrom(b.array())).build();
            OnnxMl.NodeProto c = OnnxMl.NodeProto.newBuilder().setOpType("Constant").addOutput(name).setName(name)
                    .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("value")
                            .setType(OnnxMl.AttributeProto.AttributeType.TENSOR).setT(t)).build();
            nodes.add(0, c);
            return name;
        }

        /** Removes nodes none of whose outputs is used (the constants the folds replaced). */
        void dropUnused() {
            Set<String> needed = new HashSet<>(graphOutputs);
            List<OnnxMl.NodeProto> kept = new ArrayList<>();
            for (int i = nodes.size() - 1; i >= 0; i--) {
                OnnxMl.NodeProto n = nodes.get(i);
                boolean used = false;
                for (String o : n.getOutputList()) used |= needed.contains(o);
                if (used) {
                    kept.add(0, n);
                    needed.addAll(n.getInputList());
                }
            }
            nodes = kept;
            index();
        }

        int foldConvAffine() {
            int count = 0;
            for (OnnxMl.NodeProto conv : List.copyOf(nodes)) {
                if (!conv.getOpType().equals("Conv") || !nodes.contains(conv)) continue;
                String out = conv.getOutput(0);
                OnnxMl.NodeProto mul = only(out);
                if (mul == null || !mul.getOpType().equals("Mul")) continue;
                double s = scalar(other(mul, out) == null ? "" : other(mul, out));
                OnnxMl.NodeProto add = only(mul.getOutput(0));
                if (Double.isNaN(s) || add == null || !add.getOpType().equals("Add")) continue;
                String bName = other(add, mul.getOutput(0));
                double b = bName == null ? Double.NaN : scalar(bName);
                float[] w = constant(conv.getInput(1));
                if (Double.isNaN(b) || w == null) continue;
                List<Long> wd = dims(conv.getInput(1));
                int outCh = (int) (long) wd.get(0);
                float[] bias = conv.getInputCount() > 2 ? constant(conv.getInput(2)) : new float[outCh];
                if (bias == null || bias.length != outCh) continue;
                float[] w2 = new float[w.length];
                for (int i = 0; i < w.length; i++) w2[i] = (float) (w[i] * s);
                float[] b2 = new float[outCh];
                for (int o = 0; o < outCh; o++) b2[o] = (float) (bias[o] * s + b);
                String wn = newConstant(conv.getInput(1), wd, w2);
                String bn = newConstant(conv.getInput(1) + "_bias", List.of((long) outCh), b2);
                OnnxMl.NodeProto folded = conv.toBuilder().clearInput().addInput(conv.getInput(0)).addInput(wn).addInput(bn)
                        .setOutput(0, add.getOutput(0)).build();
                nodes.set(nodes.indexOf(conv), folded);
                nodes.remove(mul);
                nodes.remove(add);
                index();
                count++;
            }
            return count;
        }

        int hardSwish() {
            int count = 0;
            for (OnnxMl.NodeProto add : List.copyOf(nodes)) {
                if (!add.getOpType().equals("Add") || !nodes.contains(add) || add.getInputCount() != 2) continue;
                String x;
                if (scalar(add.getInput(1)) == 3.0) x = add.getInput(0);
                else if (scalar(add.getInput(0)) == 3.0) x = add.getInput(1);
                else continue;
                OnnxMl.NodeProto clip = only(add.getOutput(0));
                if (clip == null || !clip.getOpType().equals("Clip") || clip.getInputCount() != 1 || !clipIs0To6(clip)) continue;
                OnnxMl.NodeProto mul = only(clip.getOutput(0));
                if (mul == null || !mul.getOpType().equals("Mul") || !x.equals(other(mul, clip.getOutput(0)))) continue;
                OnnxMl.NodeProto div = only(mul.getOutput(0));
                if (div == null || !div.getOpType().equals("Div") || !div.getInput(0).equals(mul.getOutput(0))
                        || scalar(div.getInput(1)) != 6.0) continue;
                String hs = add.getOutput(0) + "_glimpse_hardsigmoid";
                OnnxMl.NodeProto sigmoid = OnnxMl.NodeProto.newBuilder().setOpType("HardSigmoid").setName(hs).addInput(x).addOutput(hs)
                        .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("alpha").setType(OnnxMl.AttributeProto.AttributeType.FLOAT).setF(1f / 6))
                        .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("beta").setType(OnnxMl.AttributeProto.AttributeType.FLOAT).setF(0.5f))
                        .build();
                OnnxMl.NodeProto product = OnnxMl.NodeProto.newBuilder().setOpType("Mul").setName(hs + "_mul").addInput(x).addInput(hs)
                        .addOutput(div.getOutput(0)).build();
                int at = nodes.indexOf(add);
                nodes.set(at, sigmoid);
                nodes.add(at + 1, product);
                nodes.remove(clip);
                nodes.remove(mul);
                nodes.remove(div);
                index();
                count++;
            }
            return count;
        }

        static boolean clipIs0To6(OnnxMl.NodeProto clip) {
            Float min = null, max = null;
            for (OnnxMl.AttributeProto a : clip.getAttributeList()) {
                if (a.getName().equals("min")) min = a.getF();
                if (a.getName().equals("max")) max = a.getF();
            }
            return min != null && max != null && min == 0f && max == 6f;
        }

        int foldAffineConv() {
            int count = 0;
            for (OnnxMl.NodeProto mul : List.copyOf(nodes)) {
                if (!mul.getOpType().equals("Mul") || !nodes.contains(mul) || mul.getInputCount() != 2) continue;
                String h;
                double s;
                if (!Double.isNaN(scalar(mul.getInput(0)))) {
                    s = scalar(mul.getInput(0));
                    h = mul.getInput(1);
                } else if (!Double.isNaN(scalar(mul.getInput(1)))) {
                    s = scalar(mul.getInput(1));
                    h = mul.getInput(0);
                } else continue;
                OnnxMl.NodeProto add = only(mul.getOutput(0));
                if (add == null || !add.getOpType().equals("Add")) continue;
                String bName = other(add, mul.getOutput(0));
                double b = bName == null ? Double.NaN : scalar(bName);
                OnnxMl.NodeProto conv = only(add.getOutput(0));
                if (Double.isNaN(b) || conv == null || !conv.getOpType().equals("Conv") || !conv.getInput(0).equals(add.getOutput(0))
                        || !pointwise(conv)) continue;
                float[] w = constant(conv.getInput(1));
                if (w == null) continue;
                List<Long> wd = dims(conv.getInput(1));
                int outCh = (int) (long) wd.get(0);
                int inCh = w.length / outCh;
                float[] bias = conv.getInputCount() > 2 ? constant(conv.getInput(2)) : new float[outCh];
                if (bias == null || bias.length != outCh) continue;
                float[] w2 = new float[w.length];
                float[] b2 = new float[outCh];
                for (int o = 0; o < outCh; o++) {
                    double sum = 0;
                    for (int i = 0; i < inCh; i++) {
                        sum += w[o * inCh + i];
                        w2[o * inCh + i] = (float) (w[o * inCh + i] * s);
                    }
                    b2[o] = (float) (bias[o] + b * sum);
                }
                String wn = newConstant(conv.getInput(1), wd, w2);
                String bn = newConstant(conv.getInput(1) + "_bias", List.of((long) outCh), b2);
                OnnxMl.NodeProto folded = conv.toBuilder().clearInput().addInput(h).addInput(wn).addInput(bn).build();
                nodes.set(nodes.indexOf(conv), folded);
                nodes.remove(mul);
                nodes.remove(add);
                index();
                count++;
            }
            return count;
        }

        /** A 1x1 convolution with stride 1, no padding, group 1 (a per-pixel matrix product). */
        static boolean pointwise(OnnxMl.NodeProto conv) {
            for (OnnxMl.AttributeProto a : conv.getAttributeList()) {
                switch (a.getName()) {
                    case "kernel_shape", "strides", "dilations" -> {
                        for (long v : a.getIntsList()) if (v != 1) return false;
                    }
                    case "pads" -> {
                        for (long v : a.getIntsList()) if (v != 0) return false;
                    }
                    case "group" -> {
                        if (a.getI() != 1) return false;
                    }
                    case "auto_pad" -> {
                        String p = a.getS().toStringUtf8();
                        if (!p.isEmpty() && !p.equals("NOTSET") && !p.equals("VALID")) return false;
                    }
                    default -> { }
                }
            }
            return true;
        }
    }
}
