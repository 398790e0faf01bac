package dev.glimpse.convert.chameleon;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.glimpse.convert.DecoderGraphs;
import dev.glimpse.convert.GraphBuilder;
import dev.glimpse.convert.SafeTensors;
import dev.glimpse.convert.Weights;

import java.util.Arrays;
import java.util.Map;

/**
 * The Chameleon decoder as one ONNX graph with a KV cache. Text and image tokens share the vocabulary, so the graph
 * starts from token ids (image tokens are embed_tokens rows: no projector).
 *
 * <pre>
 * inputs:  input_ids (B, S) i64   attention_mask (B, P+S) i64   position_ids (B, S) i64   num_logits_to_keep (1) i64 = K
 *          past_key_values.{i}.key / .value (B, kv_heads, P, head_dim) f32
 * outputs: logits (B, K, vocab) f32, raw (image tokens are masked by whoever samples text)
 *          present.{i}.key / .value (B, kv_heads, P+S, head_dim) f32
 * </pre>
 *
 * Per layer (pre-norm, or swin_norm when the config says so): q/k/v projections; per-head layer norm of q and k over
 * head_dim without affine (eps 1e-5, as Hugging Face and vLLM fix it) times weight (heads, head_dim) plus bias; RoPE in
 * the rotate_half layout over the whole head; grouped-query attention with the same additive mask convention as the
 * Kimi-VL decoder (key j visible to query i iff j <= past + i and attention_mask[b, j] = 1); SwiGLU MLP.
 */
public final class ChameleonDecoderGraph {

    public static final String INPUT_IDS = "input_ids";
    public static final String ATTENTION_MASK = "attention_mask";
    public static final String POSITION_IDS = "position_ids";
    public static final String NUM_LOGITS_TO_KEEP = "num_logits_to_keep";
    public static final String LOGITS = "logits";
    static final float QK_NORM_EPS = 1e-5f;

    public static String pastKey(int layer) { return "past_key_values." + layer + ".key"; }
    public static String pastValue(int layer) { return "past_key_values." + layer + ".value"; }
    public static String presentKey(int layer) { return "present." + layer + ".key"; }
    public static String presentValue(int layer) { return "present." + layer + ".value"; }

    private ChameleonDecoderGraph() {}

    public static GraphBuilder build(ChameleonConfig.Text t, SafeTensors st) {
        int hidden = t.hidden();
        int heads = t.numHeads();
        int kvHeads = t.numKvHeads();
        int hd = t.headDim();
        float eps = (float) t.rmsNormEps();
        GraphBuilder g = new GraphBuilder("chameleon_decoder");
        g.metadata("glimpse.graph", "chameleon.decoder");

        String ids = g.input(INPUT_IDS, DataType.INT64, "batch", "seq");
        String mask = g.input(ATTENTION_MASK, DataType.INT64, "batch", "total");
        String positions = g.input(POSITION_IDS, DataType.INT64, "batch", "seq");
        String keep = g.input(NUM_LOGITS_TO_KEEP, DataType.INT64, 1);

        String table = g.weight("embed_tokens", st.floats("model.embed_tokens.weight", t.vocabSize(), hidden), t.vocabSize(), hidden);
        String x = g.op("Gather", Map.of("axis", 0L), table, ids);                     // (B, S, H)

        String bias = DecoderGraphs.attentionBias(g, mask, ids);   // same convention as Kimi-VL's decoder

        // RoPE (rotate_half): angle (B, S, hd/2) = pos * inv_freq, cos/sin repeated to hd, as (B, 1, S, hd).
        float[] invFreq = DecoderGraphs.ropeInvFreq(t.ropeTheta(), hd);
        String ang = g.mul(g.unsqueeze(g.cast(positions, DataType.FLOAT), 2), g.weight("rope_inv_freq", invFreq, invFreq.length));
        String ang2 = g.concat(2, ang, ang);
        String cos = g.unsqueeze(g.op("Cos", ang2), 1);
        String sin = g.unsqueeze(g.op("Sin", ang2), 1);

        float[] ones = new float[hd];
        Arrays.fill(ones, 1f);
        String unitScale = g.weight("qk_norm_unit_scale", ones, hd);
        String unitBias = g.weight("qk_norm_unit_bias", new float[hd], hd);
        float scale = (float) (1.0 / Math.sqrt(hd));
        int rep = heads / kvHeads;

        for (int i = 0; i < t.numLayers(); i++) {
            String pre = "model.layers." + i + ".";
            String inNorm = vec(g, st, pre + "input_layernorm.weight", hidden);
            String postNorm = vec(g, st, pre + "post_attention_layernorm.weight", hidden);
            String h = t.swinNorm() ? x : g.rmsNorm(x, inNorm, eps);

            String q = g.reshape(g.linear(h, mat(g, st, pre + "self_attn.q_proj.weight", heads * hd, hidden), null), 0, 0, heads, hd);
            String k = g.reshape(g.linear(h, mat(g, st, pre + "self_attn.k_proj.weight", kvHeads * hd, hidden), null), 0, 0, kvHeads, hd);
            String v = g.reshape(g.linear(h, mat(g, st, pre + "self_attn.v_proj.weight", kvHeads * hd, hidden), null), 0, 0, kvHeads, hd);
            q = qkNorm(g, st, q, pre + "self_attn.q_norm.", heads, hd, unitScale, unitBias);
            k = qkNorm(g, st, k, pre + "self_attn.k_norm.", kvHeads, hd, unitScale, unitBias);
            q = rope(g, g.transpose(q, 0, 2, 1, 3), cos, sin, hd);                       // (B, heads, S, hd)
            k = rope(g, g.transpose(k, 0, 2, 1, 3), cos, sin, hd);                       // (B, kv, S, hd)
            v = g.transpose(v, 0, 2, 1, 3);
            String kAll = g.concat(2, g.input(pastKey(i), DataType.FLOAT, "batch", kvHeads, "past", hd), k);
            String vAll = g.concat(2, g.input(pastValue(i), DataType.FLOAT, "batch", kvHeads, "past", hd), v);
            g.output(presentKey(i), kAll, DataType.FLOAT, "batch", kvHeads, "total", hd);
            g.output(presentValue(i), vAll, DataType.FLOAT, "batch", kvHeads, "total", hd);
            if (rep > 1) {   // grouped-query attention: each kv head serves rep query heads
                kAll = repeatHeads(g, kAll, kvHeads, rep, hd);
                vAll = repeatHeads(g, vAll, kvHeads, rep, hd);
            }
            String scores = g.add(g.mul(g.matmul(q, g.transpose(kAll, 0, 1, 3, 2)), g.scalar(scale)), bias);
            String att = g.matmul(g.softmax(scores, -1), vAll);                          // (B, heads, S, hd)
            att = g.reshape(g.transpose(att, 0, 2, 1, 3), 0, 0, (long) heads * hd);
            String o = g.linear(att, mat(g, st, pre + "self_attn.o_proj.weight", hidden, heads * hd), null);
            x = g.add(x, t.swinNorm() ? g.rmsNorm(o, inNorm, eps) : o);

            String m = t.swinNorm() ? x : g.rmsNorm(x, postNorm, eps);
            String gate = g.linear(m, mat(g, st, pre + "mlp.gate_proj.weight", t.intermediate(), hidden), null);
            String up = g.linear(m, mat(g, st, pre + "mlp.up_proj.weight", t.intermediate(), hidden), null);
            String down = g.linear(g.mul(g.silu(gate), up), mat(g, st, pre + "mlp.down_proj.weight", hidden, t.intermediate()), null);
            x = g.add(x, t.swinNorm() ? g.rmsNorm(down, postNorm, eps) : down);
        }
        x = g.op("Slice", x, g.op("Neg", keep), g.ints(Long.MAX_VALUE), g.ints(1));       // (B, K, H)
        x = g.rmsNorm(x, vec(g, st, "model.norm.weight", hidden), eps);
        g.output(LOGITS, g.linear(x, mat(g, st, "lm_head.weight", t.vocabSize(), hidden), null), DataType.FLOAT,
                "batch", "keep", t.vocabSize());
        return g;
    }

    /** (B, S, n, hd): layer norm over hd without affine, then * weight (n, hd) + bias (n, hd). */
    private static String qkNorm(GraphBuilder g, SafeTensors st, String x, String pre, int n, int hd, String unitScale, String unitBias) {
        String normed = g.layerNorm(x, unitScale, unitBias, QK_NORM_EPS);
        String w = g.weight(pre + "weight", st.floats(pre + "weight", n, hd), n, hd);
        String b = g.weight(pre + "bias", st.floats(pre + "bias", n, hd), n, hd);
        return g.add(g.mul(normed, w), b);
    }

    /** x * cos + rotate_half(x) * sin over the last axis (hd). */
    private static String rope(GraphBuilder g, String x, String cos, String sin, int hd) {
        String x1 = g.slice(x, 0, hd / 2, 3, 1);
        String x2 = g.slice(x, hd / 2, hd, 3, 1);
        String rotated = g.concat(3, g.op("Neg", x2), x1);
        return g.add(g.mul(x, cos), g.mul(rotated, sin));
    }

    /** (B, kv, T, hd) -> (B, kv*rep, T, hd), each kv head repeated rep times in place (repeat_interleave). */
    private static String repeatHeads(GraphBuilder g, String x, int kv, int rep, int hd) {
        String shape = g.op("Shape", x);
        String b = g.slice(shape, 0, 1, 0, 1);
        String tt = g.slice(shape, 2, 3, 0, 1);
        String expanded = g.op("Expand", g.unsqueeze(x, 2), g.concat(0, b, g.ints(kv, rep), tt, g.ints(hd)));
        return g.op("Reshape", expanded, g.concat(0, b, g.ints((long) kv * rep), tt, g.ints(hd)));
    }

    private static String mat(GraphBuilder g, SafeTensors st, String name, int out, int in) {
        return g.weight(name, Weights.linearAsMatMul(st, name, out, in), in, out);
    }

    private static String vec(GraphBuilder g, SafeTensors st, String name, int n) {
        return g.weight(name, st.floats(name, n), n);
    }
}
