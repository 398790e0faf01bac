package dev.glimpse.convert.kimivl;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.glimpse.convert.DecoderGraphs;
import dev.glimpse.convert.GraphBuilder;
import dev.glimpse.convert.SafeTensors;
import dev.glimpse.convert.Weights;

import java.util.Map;

/**
 * The Kimi-VL language model (DeepSeek-V3 architecture: MLA attention, dense first layers, sigmoid-routed MoE) as two graphs:
 * {@code embed} (input_ids -> inputs_embeds) and {@code decoder} (inputs_embeds + cache -> logits + cache). Image features are
 * written into inputs_embeds between the two, at the placeholder positions.
 *
 * <p>MLA runs in its absorbed form: the cache holds only the normalised latent c_kv (kv_lora_rank) and the rope key
 * (qk_rope_head_dim) per token and layer; kv_b_proj is split into W_UK (applied to the query) and W_UV (applied after
 * attention), so per-head K and V are never materialised. For Kimi-VL-A3B that is 576 floats per token and layer instead
 * of 16 x (192 + 128).
 *
 * <pre>
 * decoder inputs:  inputs_embeds (B, S, H) f32   attention_mask (B, P+S) i64   position_ids (B, S) i64
 *                  num_logits_to_keep (1) i64 = K   past_key_values.{i}.latent (B, P, kv_lora_rank + rope) f32
 * decoder outputs: logits (B, K, vocab) f32 for the last K positions   present.{i}.latent (B, P+S, kv_lora_rank + rope) f32
 * </pre>
 */
public final class KimiVlDecoderGraph {

    public static final String INPUT_IDS = "input_ids";
    public static final String INPUTS_EMBEDS = "inputs_embeds";
    public static final String ATTENTION_MASK = "attention_mask";
    public static final String POSITION_IDS = "position_ids";
    public static final String LOGITS = "logits";
    /** (1) i64: how many trailing positions get logits; 1 when serving (the vocab projection is the costliest matmul). */
    public static final String NUM_LOGITS_TO_KEEP = "num_logits_to_keep";

    public static String pastName(int layer) { return "past_key_values." + layer + ".latent"; }

    public static String presentName(int layer) { return "present." + layer + ".latent"; }

    private static final String LM = "language_model.model.";

    private KimiVlDecoderGraph() {}

    public static GraphBuilder buildEmbed(KimiVlConfig config, SafeTensors st) {
        KimiVlConfig.Text t = config.text();
        GraphBuilder g = new GraphBuilder("kimivl_embed");
        g.metadata("glimpse.graph", "kimivl.embed");
        String ids = g.input(INPUT_IDS, DataType.INT64, "batch", "seq");
        String table = g.weight("embed_tokens", st.floats(LM + "embed_tokens.weight", t.vocabSize(), t.hidden()),
                t.vocabSize(), t.hidden());
        g.output(INPUTS_EMBEDS, g.op("Gather", Map.of("axis", 0L), table, ids), DataType.FLOAT, "batch", "seq", t.hidden());
        return g;
    }

    public static GraphBuilder buildDecoder(KimiVlConfig config, SafeTensors st) {
        KimiVlConfig.Text t = config.text();
        int hidden = t.hidden();
        int heads = t.numHeads();
        int nope = t.qkNopeHeadDim();
        int rope = t.qkRopeHeadDim();
        int vdim = t.vHeadDim();
        int lora = t.kvLoraRank();
        float eps = (float) t.rmsNormEps();
        GraphBuilder g = new GraphBuilder("kimivl_decoder");
        g.metadata("glimpse.graph", "kimivl.decoder");

        String x = g.input(INPUTS_EMBEDS, DataType.FLOAT, "batch", "seq", hidden);
        String mask = g.input(ATTENTION_MASK, DataType.INT64, "batch", "total");
        String positions = g.input(POSITION_IDS, DataType.INT64, "batch", "seq");
        String keep = g.input(NUM_LOGITS_TO_KEEP, DataType.INT64, 1);

        String bias = DecoderGraphs.attentionBias(g, mask, x);

        // RoPE tables from positions: angle (B, S, rope/2) = pos * inv_freq, inv_freq_i = theta^(-2i/rope) in fp32.
        float[] invFreq = DecoderGraphs.ropeInvFreq(t.ropeTheta(), rope);
        String ang = g.mul(g.unsqueeze(g.cast(positions, DataType.FLOAT), 2), g.weight("rope_inv_freq", invFreq, invFreq.length));
        String cosK = g.op("Cos", ang);                                            // (B, S, rope/2)
        String sinK = g.op("Sin", ang);
        String cosQ = g.unsqueeze(cosK, 1);                                        // (B, 1, S, rope/2)
        String sinQ = g.unsqueeze(sinK, 1);

        float scale = (float) (1.0 / Math.sqrt(nope + rope));
        String pending = null; // the last sub-layer's output, not yet added to the residual stream x
        for (int i = 0; i < t.numLayers(); i++) {
            String pre = LM + "layers." + i + ".";
            String h;
            if (pending == null) {
                h = g.rmsNorm(x, vec(g, st, pre + "input_layernorm.weight", hidden), eps);
            } else {
                String[] r = skipRmsNorm(g, x, pending, vec(g, st, pre + "input_layernorm.weight", hidden), eps);
                h = r[0];
                x = r[1];
            }

            // Query: (B, S, heads*(nope+rope)) -> (B, heads, S, nope+rope) -> nope / rope parts.
            String q = g.linear(h, mat(g, st, pre + "self_attn.q_proj.weight", heads * (nope + rope), hidden), null);
            q = g.transpose(g.reshape(q, 0, 0, heads, nope + rope), 0, 2, 1, 3);
            String qNope = g.slice(q, 0, nope, 3, 1);
            String qPe = rotate(g, g.slice(q, nope, nope + rope, 3, 1), cosQ, sinQ, rope, 3);

            // Latent for the new tokens: c_kv = RMSNorm(kv_a[:lora]), k_pe = RoPE(kv_a[lora:]); appended to the cache.
            String kvA = g.linear(h, mat(g, st, pre + "self_attn.kv_a_proj_with_mqa.weight", lora + rope, hidden), null);
            String cNew = g.rmsNorm(g.slice(kvA, 0, lora, 2, 1), vec(g, st, pre + "self_attn.kv_a_layernorm.weight", lora), eps);
            String kPeNew = rotate(g, g.slice(kvA, lora, lora + rope, 2, 1), cosK, sinK, rope, 2);
            String pastIn = g.input(pastName(i), DataType.FLOAT, "batch", "past", lora + rope);
            String present = g.concat(1, pastIn, g.concat(2, cNew, kPeNew));          // (B, T, lora+rope)
            g.output(presentName(i), present, DataType.FLOAT, "batch", "total", lora + rope);
            String cAll = g.unsqueeze(g.slice(present, 0, lora, 2, 1), 1);             // (B, 1, T, lora)
            String kPeAll = g.unsqueeze(g.slice(present, lora, lora + rope, 2, 1), 1); // (B, 1, T, rope)

            // kv_b_proj (heads*(nope+v), lora) split per head into W_UK (heads, nope, lora) and W_UV^T (heads, lora, v).
            float[] kvB = st.floats(pre + "self_attn.kv_b_proj.weight", (long) heads * (nope + vdim), lora);
            float[] wUk = new float[heads * nope * lora];
            float[] wUvT = new float[heads * lora * vdim];
            for (int hh = 0; hh < heads; hh++) {
                int rowBase = hh * (nope + vdim);
                System.arraycopy(kvB, rowBase * lora, wUk, hh * nope * lora, nope * lora);
                for (int r = 0; r < vdim; r++)
                    for (int c = 0; c < lora; c++)
                        wUvT[(hh * lora + c) * vdim + r] = kvB[(rowBase + nope + r) * lora + c];
            }
            String qLat = g.matmul(qNope, g.weight(pre + "w_uk", wUk, heads, nope, lora));          // (B, heads, S, lora)
            String scores = g.add(
                    g.matmul(qLat, g.transpose(cAll, 0, 1, 3, 2)),                                // (B, heads, S, T)
                    g.matmul(qPe, g.transpose(kPeAll, 0, 1, 3, 2)));
            scores = g.add(g.mul(scores, g.scalar(scale)), bias);
            String oLat = g.matmul(g.softmax(scores, -1), cAll);                                   // (B, heads, S, lora)
            String o = g.matmul(oLat, g.weight(pre + "w_uv_t", wUvT, heads, lora, vdim));          // (B, heads, S, v)
            o = g.reshape(g.transpose(o, 0, 2, 1, 3), 0, 0, (long) heads * vdim);
            o = g.linear(o, mat(g, st, pre + "self_attn.o_proj.weight", hidden, heads * vdim), null);
            String[] r = skipRmsNorm(g, x, o, vec(g, st, pre + "post_attention_layernorm.weight", hidden), eps);
            String h2 = r[0];
            x = r[1];
            pending = t.isMoeLayer(i)
                    ? moe(g, st, pre + "mlp.", h2, t)
                    : swiglu(g, st, pre + "mlp.", h2, hidden, t.intermediate());
        }
        x = g.op("Slice", x, g.op("Neg", keep), g.ints(Long.MAX_VALUE), g.ints(1));     // (B, K, H)
        pending = g.op("Slice", pending, g.op("Neg", keep), g.ints(Long.MAX_VALUE), g.ints(1));
        x = skipRmsNorm(g, x, pending, vec(g, st, LM + "norm.weight", hidden), eps)[0];
        String logits = g.linear(x, mat(g, st, "language_model.lm_head.weight", t.vocabSize(), hidden), null);
        g.output(LOGITS, logits, DataType.FLOAT, "batch", "keep", t.vocabSize());
        return g;
    }

    /**
     * Rotary embedding on the interleaved checkpoint layout: pair (2i, 2i+1) rotates by angle i. The output is written
     * de-interleaved (all rotated evens, then all rotated odds), which is exactly what the HF reference produces after its
     * de-interleave + rotate_half; q and k get the same order, so their dot products are unchanged.
     */
    private static String rotate(GraphBuilder g, String x, String cos, String sin, int rope, int axis) {
        String even = g.slice(x, 0, rope, axis, 2);
        String odd = g.slice(x, 1, rope, axis, 2);
        String outEven = g.sub(g.mul(even, cos), g.mul(odd, sin));
        String outOdd = g.add(g.mul(odd, cos), g.mul(even, sin));
        return g.concat(axis, outEven, outOdd);
    }

    /**
     * ONNX Runtime's fused residual add + RMSNorm: returns {RMSNorm(x + delta) * gamma, x + delta}.
     */
    private static String[] skipRmsNorm(GraphBuilder g, String x, String delta, String gamma, float eps) {
        String[] out = g.ops("SkipSimplifiedLayerNormalization", GraphBuilder.MS_DOMAIN, 4, Map.of("epsilon", eps), x, delta, gamma);
        return new String[]{out[0], out[3]};
    }

    private static String swiglu(GraphBuilder g, SafeTensors st, String pre, String x, int hidden, int inter) {
        String gate = g.linear(x, mat(g, st, pre + "gate_proj.weight", inter, hidden), null);
        String up = g.linear(x, mat(g, st, pre + "up_proj.weight", inter, hidden), null);
        return g.linear(g.mul(g.silu(gate), up), mat(g, st, pre + "down_proj.weight", hidden, inter), null);
    }

    /**
     * Sigmoid-routed MoE (noaux_tc with one group): experts are chosen by sigmoid score + e_score_correction_bias, weighted by
     * the plain sigmoid score, normalised over the chosen ones when norm_topk_prob, scaled by routed_scaling_factor; the
     * shared experts are added unweighted.
     *
     * <p>The routed experts run as one batched matmul over all experts with a (tokens, experts) weight matrix that is zero
     * off the top-k. Exact, and simple; its cost grows with the total expert count rather than the active one, so large
     * checkpoints want a gather-by-expert path (see README, "Known limits").
     */
    private static String moe(GraphBuilder g, SafeTensors st, String pre, String x, KimiVlConfig.Text t) {
        int hidden = t.hidden();
        int experts = t.nRoutedExperts();
        int inter = t.moeIntermediate();
        int k = t.numExpertsPerTok();
        String tokens = g.reshape(x, -1, hidden);                                                  // (N, H)
        String scores = g.op("Sigmoid", g.linear(tokens, mat(g, st, pre + "gate.weight", experts, hidden), null)); // (N, E)
        String choice = g.add(scores, g.weight(pre + "gate.bias", st.floats(pre + "gate.e_score_correction_bias", experts), experts));
        String[] topk = g.ops("TopK", "", 2, Map.of("axis", -1L, "largest", 1L, "sorted", 1L), choice, g.ints(k));
        String chosen = topk[1];                                                                   // (N, k)
        String w = g.op("GatherElements", Map.of("axis", 1L), scores, chosen);                    // (N, k)
        if (t.normTopkProb()) {
            w = g.div(w, g.add(g.op("ReduceSum", Map.of("keepdims", 1L), w, g.ints(1)), g.scalar(1e-20f)));
        }
        w = g.mul(w, g.scalar((float) t.routedScalingFactor()));
        String zeros = g.mul(scores, g.scalar(0f));
        String dense = g.op("ScatterElements", Map.of("axis", 1L), zeros, chosen, w);            // (N, E), zero off top-k

        // Stacked expert weights: gate/up (E, H, I), down (E, I, H).
        float[] gate = new float[experts * hidden * inter];
        float[] up = new float[experts * hidden * inter];
        float[] down = new float[experts * inter * hidden];
        for (int e = 0; e < experts; e++) {
            String ep = pre + "experts." + e + ".";
            System.arraycopy(Weights.transpose(st.floats(ep + "gate_proj.weight", inter, hidden), inter, hidden), 0, gate, e * hidden * inter, hidden * inter);
            System.arraycopy(Weights.transpose(st.floats(ep + "up_proj.weight", inter, hidden), inter, hidden), 0, up, e * hidden * inter, hidden * inter);
            System.arraycopy(Weights.transpose(st.floats(ep + "down_proj.weight", hidden, inter), hidden, inter), 0, down, e * inter * hidden, inter * hidden);
        }
        String xe = g.unsqueeze(tokens, 0);                                                         // (1, N, H)
        String a = g.mul(g.silu(g.matmul(xe, g.weight(pre + "experts.gate", gate, experts, hidden, inter))),
                g.matmul(xe, g.weight(pre + "experts.up", up, experts, hidden, inter)));             // (E, N, I)
        String y = g.matmul(a, g.weight(pre + "experts.down", down, experts, inter, hidden));       // (E, N, H)
        String weighted = g.mul(y, g.unsqueeze(g.transpose(dense, 1, 0), 2));                       // (E, N, H)
        String routed = g.op("ReduceSum", Map.of("keepdims", 0L), weighted, g.ints(0));           // (N, H)
        String out = routed;
        if (t.nSharedExperts() > 0) {
            out = g.add(out, swiglu(g, st, pre + "shared_experts.", tokens, hidden, inter * t.nSharedExperts()));
        }
        return g.op("Reshape", out, g.op("Shape", x));
    }

    private static String mat(GraphBuilder g, SafeTensors st, String name, int out, int in) {
        return g.weight(name, Weights.linearAsMatMul(st, name, out, in), in, out);
    }

    private static String vec(GraphBuilder g, SafeTensors st, String name, int n) {
        return g.weight(name, st.floats(name, n), n);
    }
}
