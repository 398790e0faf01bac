package dev.glimpse.convert;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes an ONNX graph op by op (the way ONNX Runtime GenAI's model builder does), so graphs can use ONNX Runtime's
 * contrib operators and pick weight dtypes per target. Value names are generated; callers hold them as strings.
 *
 * <p>Opset: ai.onnx 17 and com.microsoft 1. Initializers are kept in memory until {@link #save}; when their total exceeds
 * {@code externalDataThreshold} they go to a side file {@code <model>.data} (ONNX external data), because a protobuf
 * message cannot exceed 2 GB.
 */
public final class GraphBuilder {

    public static final int OPSET = 17;
    public static final String MS_DOMAIN = "com.microsoft";

    private final String graphName;
    private final List<NodeProto> nodes = new ArrayList<>();
    private final List<ValueInfoProto> inputs = new ArrayList<>();
    private final List<ValueInfoProto> outputs = new ArrayList<>();
    private final Map<String, TensorProto.Builder> initializers = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();
    private int counter;

    public GraphBuilder(String graphName) {
        this.graphName = graphName;
    }

    // ---------------------------------------------------------------- graph interface

    /** Declares a graph input; a dim is a Long/Integer (fixed) or a String (symbolic). */
    public String input(String name, TensorProto.DataType type, Object... dims) {
        inputs.add(valueInfo(name, type, dims));
        return name;
    }

    /** Declares a graph output by renaming {@code value} through an Identity node. */
    public String output(String name, String value, TensorProto.DataType type, Object... dims) {
        nodes.add(NodeProto.newBuilder().setOpType("Identity").addInput(value).addOutput(name).setName(name + "_out").build());
        outputs.add(valueInfo(name, type, dims));
        return name;
    }

    public void metadata(String key, String value) {
        metadata.put(key, value);
    }

    private static ValueInfoProto valueInfo(String name, TensorProto.DataType type, Object... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            TensorShapeProto.Dimension.Builder db = TensorShapeProto.Dimension.newBuilder();
            if (d instanceof Number n) db.setDimValue(n.longValue());
            else db.setDimParam(d.toString());
            shape.addDim(db);
        }
        TypeProto tp = TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(type.getNumber()).setShape(shape)).build();
        return ValueInfoProto.newBuilder().setName(name).setType(tp).build();
    }

    // ---------------------------------------------------------------- initializers

    public String weight(String name, float[] data, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(data);
        return raw(name, TensorProto.DataType.FLOAT, b.array(), shape);
    }

    public String weightLong(String name, long[] data, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(data.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(data);
        return raw(name, TensorProto.DataType.INT64, b.array(), shape);
    }

    private String raw(String name, TensorProto.DataType type, byte[] bytes, long... shape) {
        if (initializers.containsKey(name)) throw new IllegalStateException("duplicate initializer " + name);
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(type.getNumber()).setRawData(ByteString.copyFrom(bytes));
        for (long d : shape) t.addDims(d);
        initializers.put(name, t);
        return name;
    }

    /** A small int64 constant (shapes, axes, indices). */
    public String ints(long... values) {
        return weightLong(fresh("c"), values, values.length);
    }

    /** An int64 scalar (rank 0). */
    public String intScalar(long value) {
        return weightLong(fresh("c"), new long[]{value});
    }

    /** A float scalar (rank 0). */
    public String scalar(float value) {
        return weight(fresh("c"), new float[]{value});
    }

    // ---------------------------------------------------------------- nodes

    public String fresh(String hint) {
        return hint + "_" + (counter++);
    }

    /** Adds an ai.onnx node with one output. Attributes: Integer/Long, Float/Double, String, long[], float[]. */
    public String op(String opType, Map<String, Object> attrs, String... in) {
        return ops(opType, "", 1, attrs, in)[0];
    }

    public String op(String opType, String... in) {
        return op(opType, Map.of(), in);
    }

    /** Adds a com.microsoft contrib node with one output. */
    public String msOp(String opType, Map<String, Object> attrs, String... in) {
        return ops(opType, MS_DOMAIN, 1, attrs, in)[0];
    }

    public String[] ops(String opType, String domain, int nOut, Map<String, Object> attrs, String... in) {
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(opType).setName(fresh(opType));
        if (!domain.isEmpty()) n.setDomain(domain);
        for (String s : in) n.addInput(s == null ? "" : s);
        String[] outs = new String[nOut];
        for (int i = 0; i < nOut; i++) {
            outs[i] = fresh(opType.toLowerCase());
            n.addOutput(outs[i]);
        }
        attrs.forEach((k, v) -> n.addAttribute(attribute(k, v)));
        nodes.add(n.build());
        return outs;
    }

    private static AttributeProto attribute(String name, Object v) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name);
        if (v instanceof Integer || v instanceof Long) {
            a.setType(AttributeProto.AttributeType.INT).setI(((Number) v).longValue());
        } else if (v instanceof Float || v instanceof Double) {
            a.setType(AttributeProto.AttributeType.FLOAT).setF(((Number) v).floatValue());
        } else if (v instanceof String s) {
            a.setType(AttributeProto.AttributeType.STRING).setS(ByteString.copyFromUtf8(s));
        } else if (v instanceof long[] ls) {
            a.setType(AttributeProto.AttributeType.INTS);
            for (long l : ls) a.addInts(l);
        } else if (v instanceof float[] fs) {
            a.setType(AttributeProto.AttributeType.FLOATS);
            for (float f : fs) a.addFloats(f);
        } else if (v instanceof TensorProto t) {
            a.setType(AttributeProto.AttributeType.TENSOR).setT(t);
        } else {
            throw new IllegalArgumentException("unsupported attribute " + name + ": " + v);
        }
        return a.build();
    }

    // ---------------------------------------------------------------- common blocks

    public String matmul(String a, String b) { return op("MatMul", a, b); }
    public String add(String a, String b) { return op("Add", a, b); }
    public String sub(String a, String b) { return op("Sub", a, b); }
    public String mul(String a, String b) { return op("Mul", a, b); }
    public String div(String a, String b) { return op("Div", a, b); }

    public String reshape(String x, long... shape) { return op("Reshape", x, ints(shape)); }

    public String transpose(String x, long... perm) { return op("Transpose", Map.of("perm", perm), x); }

    public String unsqueeze(String x, long... axes) { return op("Unsqueeze", x, ints(axes)); }

    public String squeeze(String x, long... axes) { return op("Squeeze", x, ints(axes)); }

    public String concat(long axis, String... xs) { return op("Concat", Map.of("axis", axis), xs); }

    public String slice(String x, long start, long end, long axis, long step) {
        return op("Slice", x, ints(start), ints(end), ints(axis), ints(step));
    }

    public String softmax(String x, long axis) { return op("Softmax", Map.of("axis", axis), x); }

    public String cast(String x, TensorProto.DataType to) { return op("Cast", Map.of("to", (long) to.getNumber()), x); }

    /** x @ w (+ b): weights are stored transposed at conversion, (in, out), so no Transpose node runs per call. */
    public String linear(String x, String wInOut, String biasOrNull) {
        String y = matmul(x, wInOut);
        return biasOrNull == null ? y : add(y, biasOrNull);
    }

    public String layerNorm(String x, String gamma, String beta, float eps) {
        return op("LayerNormalization", Map.of("axis", -1L, "epsilon", eps), x, gamma, beta);
    }

    /**
     * RMSNorm in fp32: x / sqrt(mean(x^2) + eps) * gamma, the DeepSeek / Llama definition. ONNX Runtime's
     * SimplifiedLayerNormalization computes exactly this; it is the fused path.
     */
    public String rmsNorm(String x, String gamma, float eps) {
        return op("SimplifiedLayerNormalization", Map.of("axis", -1L, "epsilon", eps), x, gamma);
    }

    public String silu(String x) { return mul(x, op("Sigmoid", x)); }

    /** Exact GELU: 0.5 x (1 + erf(x / sqrt 2)). */
    public String geluErf(String x) {
        String e = op("Erf", div(x, scalar((float) Math.sqrt(2.0))));
        return mul(mul(x, scalar(0.5f)), add(e, scalar(1.0f)));
    }

    /** GELU with the tanh approximation (PyTorch gelu(approximate='tanh')). */
    public String geluTanh(String x) {
        String x3 = mul(mul(x, x), x);
        String inner = mul(add(x, mul(x3, scalar(0.044715f))), scalar((float) Math.sqrt(2.0 / Math.PI)));
        return mul(mul(x, scalar(0.5f)), add(op("Tanh", inner), scalar(1.0f)));
    }

    // ---------------------------------------------------------------- output

    public ModelProto build(boolean externalData, String dataFileName) {
        GraphProto.Builder g = GraphProto.newBuilder().setName(graphName)
                .addAllNode(nodes).addAllInput(inputs).addAllOutput(outputs);
        long offset = 0;
        for (TensorProto.Builder t : initializers.values()) {
            if (externalData && t.getRawData().size() >= 1024) {
                long len = t.getRawData().size();
                TensorProto.Builder ext = t.clone().clearRawData().setDataLocation(TensorProto.DataLocation.EXTERNAL)
                        .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue(dataFileName))
                        .addExternalData(StringStringEntryProto.newBuilder().setKey("offset").setValue(Long.toString(offset)))
                        .addExternalData(StringStringEntryProto.newBuilder().setKey("length").setValue(Long.toString(len)));
                g.addInitializer(ext);
                offset += align(len);
            } else {
                g.addInitializer(t);
            }
        }
        ModelProto.Builder m = ModelProto.newBuilder().setIrVersion(8).setProducerName("glimpse").setProducerVersion("0.1")
                .setGraph(g)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(MS_DOMAIN).setVersion(1));
        metadata.forEach((k, v) -> m.addMetadataProps(StringStringEntryProto.newBuilder().setKey(k).setValue(v)));
        return m.build();
    }

    private static long align(long n) {
        return (n + 63) & ~63L; // 64-byte aligned offsets let ORT mmap tensors directly
    }

    public long initializerBytes() {
        long n = 0;
        for (TensorProto.Builder t : initializers.values()) n += t.getRawData().size();
        return n;
    }

    /** Writes {@code file} and, for graphs over {@code externalDataThreshold} bytes of weights, {@code file.data} beside it. */
    public void save(Path file, long externalDataThreshold) throws IOException {
        boolean external = initializerBytes() > externalDataThreshold;
        String dataName = file.getFileName() + ".data";
        ModelProto model = build(external, dataName);
        Files.createDirectories(file.toAbsolutePath().getParent());
        if (external) {
            try (OutputStream out = Files.newOutputStream(file.resolveSibling(dataName))) {
                for (TensorProto.Builder t : initializers.values()) {
                    if (t.getRawData().size() < 1024) continue;
                    t.getRawData().writeTo(out);
                    long pad = align(t.getRawData().size()) - t.getRawData().size();
                    out.write(new byte[(int) pad]);
                }
            }
        }
        try (OutputStream out = Files.newOutputStream(file)) {
            model.writeTo(out);
        }
    }
}
