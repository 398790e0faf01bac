package dev.glimpse.convert.kimivl;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.glimpse.convert.GraphBuilder;
import dev.glimpse.convert.SafeTensors;
import dev.glimpse.convert.Weights;

import java.util.Map;

/**
 * MoonViT + patch merger + projector as one ONNX graph over a packed sequence of patches from several images.
 *
 * <p>Everything that depends only on the grid sizes (bicubic taps of the position table, patch coordinates for 2D RoPE,
 * which image a patch belongs to, the 2x2 merge order) is computed on the host by {@link VisionGraphInputs} and fed as small
 * index tensors, so the graph has no per-image loops and runs any mix of image sizes in one call.
 *
 * <pre>
 * inputs:  pixel_values (L, 3, p, p) f32   pos_index (L, 16) i64   pos_weight (L, 16) f32
 *          patch_pos (L, 2) i64 [row, col]  image_index (L) i64     merge_index (L) i64
 * output:  image_features (L / (mh*mw), text_hidden) f32
 * </pre>
 */
public final class KimiVlVisionGraph {

    public static final String PIXEL_VALUES = "pixel_values";
    public static final String POS_INDEX = "pos_index";
    public static final String POS_WEIGHT = "pos_weight";
    public static final String PATCH_POS = "patch_pos";
    public static final String IMAGE_INDEX = "image_index";
    public static final String MERGE_INDEX = "merge_index";
    public static final String IMAGE_FEATURES = "image_features";

    private static final float LN_EPS = 1e-5f;

    private KimiVlVisionGraph() {}

    public static GraphBuilder build(KimiVlConfig config, SafeTensors st) {
        KimiVlConfig.Vision v = config.vision();
        int d = v.hidden();
        int p = v.patchSize();
        int heads = v.numHeads();
        int hd = v.headDim();
        int merge = v.mergeH() * v.mergeW();
        int textHidden = config.text().hidden();
        GraphBuilder g = new GraphBuilder("kimivl_vision");
        g.metadata("glimpse.graph", "kimivl.vision");

        String pixels = g.input(PIXEL_VALUES, DataType.FLOAT, "patches", 3, p, p);
        String posIndex = g.input(POS_INDEX, DataType.INT64, "patches", 16);
        String posWeight = g.input(POS_WEIGHT, DataType.FLOAT, "patches", 16);
        String patchPos = g.input(PATCH_POS, DataType.INT64, "patches", 2);
        String imageIndex = g.input(IMAGE_INDEX, DataType.INT64, "patches");
        String mergeIndex = g.input(MERGE_INDEX, DataType.INT64, "patches");

        // Patch embedding: Conv2d(kernel = stride = p) on a p x p patch is a matmul over its (c, y, x)-flattened pixels.
        String flat = g.reshape(pixels, -1, 3L * p * p);
        String wPatch = g.weight("vision.patch_embed.w",
                Weights.transpose(st.floats("vision_tower.patch_embed.proj.weight", d, 3, p, p), d, 3 * p * p), 3L * p * p, d);
        String bPatch = g.weight("vision.patch_embed.b", st.floats("vision_tower.patch_embed.proj.bias", d), d);
        String x = g.linear(flat, wPatch, bPatch); // (L, D)

        // Learned position table (H0*W0, D) resized per image by bicubic taps: sum_k w[l,k] * table[idx[l,k]].
        int tableRows = v.posEmbHeight() * v.posEmbWidth();
        String table = g.weight("vision.pos_emb", st.floats("vision_tower.patch_embed.pos_emb.weight",
                v.posEmbHeight(), v.posEmbWidth(), d), tableRows, d);
        String taps = g.op("Gather", Map.of("axis", 0L), table, posIndex); // (L, 16, D)
        String pos = g.op("ReduceSum", Map.of("keepdims", 0L), g.mul(taps, g.unsqueeze(posWeight, 2)), g.ints(1)); // (L, D)
        x = g.add(x, pos);

        // 2D RoPE angles, one per channel pair: pair 2j uses col * f_j, pair 2j+1 uses row * f_j, f_j = 10000^(-4j/hd).
        float[] freqs = new float[hd / 4];
        for (int j = 0; j < freqs.length; j++) freqs[j] = VisionGraphInputs.ropeFrequency(j, hd);
        String posF = g.cast(patchPos, DataType.FLOAT);                            // (L, 2) [row, col]
        String row = g.slice(posF, 0, 1, 1, 1);                                   // (L, 1)
        String col = g.slice(posF, 1, 2, 1, 1);
        String f = g.weight("vision.rope_freqs", freqs, freqs.length);
        String colAng = g.unsqueeze(g.mul(col, f), 2);                            // (L, hd/4, 1)
        String rowAng = g.unsqueeze(g.mul(row, f), 2);
        String ang = g.reshape(g.concat(2, colAng, rowAng), -1, 1, hd / 2);      // (L, 1, hd/2) broadcast over heads
        String cos = g.op("Cos", ang);
        String sin = g.op("Sin", ang);

        // Block-diagonal attention: patches attend only to patches of their own image.
        String same = g.op("Equal", g.unsqueeze(imageIndex, 1), g.unsqueeze(imageIndex, 0)); // (L, L)
        String bias = g.unsqueeze(g.op("Where", same, g.scalar(0f), g.scalar(-1e9f)), 0, 1); // (1, 1, L, L)

        float scale = (float) (1.0 / Math.sqrt(hd));
        for (int i = 0; i < v.numLayers(); i++) {
            String pre = "vision_tower.encoder.blocks." + i + ".";
            String n0 = g.layerNorm(x, g.weight(pre + "norm0.weight", st.floats(pre + "norm0.weight", d), d),
                    g.weight(pre + "norm0.bias", st.floats(pre + "norm0.bias", d), d), LN_EPS);
            String qkv = g.linear(n0,
                    g.weight(pre + "wqkv.w", Weights.transpose(st.floats(pre + "wqkv.weight", 3L * d, d), 3 * d, d), d, 3L * d),
                    g.weight(pre + "wqkv.b", st.floats(pre + "wqkv.bias", 3L * d), 3L * d));
            String qkv4 = g.reshape(qkv, -1, 3, heads, hd);                      // (L, 3, heads, hd)
            String q = rope(g, g.squeeze(g.slice(qkv4, 0, 1, 1, 1), 1), cos, sin, hd); // (L, heads, hd)
            String k = rope(g, g.squeeze(g.slice(qkv4, 1, 2, 1, 1), 1), cos, sin, hd);
            String val = g.squeeze(g.slice(qkv4, 2, 3, 1, 1), 1);
            // ONNX Runtime's fused MultiHeadAttention over the packed sequence as one batch: (1, L, D) each.
            String attn = g.msOp("MultiHeadAttention", Map.of("num_heads", (long) heads, "scale", scale),
                    g.reshape(q, 1, -1, d), g.reshape(k, 1, -1, d), g.reshape(val, 1, -1, d), "", "", bias);
            String merged = g.reshape(attn, -1, d);                               // (L, D)
            String o = g.linear(merged,
                    g.weight(pre + "wo.w", Weights.transpose(st.floats(pre + "wo.weight", d, d), d, d), d, d),
                    g.weight(pre + "wo.b", st.floats(pre + "wo.bias", d), d));
            x = g.add(x, o);

            String n1 = g.layerNorm(x, g.weight(pre + "norm1.weight", st.floats(pre + "norm1.weight", d), d),
                    g.weight(pre + "norm1.bias", st.floats(pre + "norm1.bias", d), d), LN_EPS);
            int m = v.intermediate();
            String h = g.linear(n1,
                    g.weight(pre + "fc0.w", Weights.transpose(st.floats(pre + "mlp.fc0.weight", m, d), m, d), d, m),
                    g.weight(pre + "fc0.b", st.floats(pre + "mlp.fc0.bias", m), m));
            h = g.linear(g.geluTanh(h),
                    g.weight(pre + "fc1.w", Weights.transpose(st.floats(pre + "mlp.fc1.weight", d, m), d, m), m, d),
                    g.weight(pre + "fc1.b", st.floats(pre + "mlp.fc1.bias", d), d));
            x = g.add(x, h);
        }
        x = g.layerNorm(x,
                g.weight("vision.final_ln.w", st.floats("vision_tower.encoder.final_layernorm.weight", d), d),
                g.weight("vision.final_ln.b", st.floats("vision_tower.encoder.final_layernorm.bias", d), d), LN_EPS);

        // Patch merger: gather each 2x2 block's patches together, then the projector's per-patch LayerNorm.
        String groups = g.reshape(g.op("Gather", Map.of("axis", 0L), x, mergeIndex), -1, merge, d); // (M, 4, D)
        String normed = g.layerNorm(groups,
                g.weight("proj.pre_norm.w", st.floats("multi_modal_projector.pre_norm.weight", d), d),
                g.weight("proj.pre_norm.b", st.floats("multi_modal_projector.pre_norm.bias", d), d), LN_EPS);
        int md = merge * d;
        String y = g.linear(g.reshape(normed, -1, md),
                g.weight("proj.l1.w", Weights.transpose(st.floats("multi_modal_projector.linear_1.weight", md, md), md, md), md, md),
                g.weight("proj.l1.b", st.floats("multi_modal_projector.linear_1.bias", md), md));
        y = g.linear(g.geluErf(y),
                g.weight("proj.l2.w", Weights.transpose(st.floats("multi_modal_projector.linear_2.weight", textHidden, md), textHidden, md), md, textHidden),
                g.weight("proj.l2.b", st.floats("multi_modal_projector.linear_2.bias", textHidden), textHidden));
        g.output(IMAGE_FEATURES, y, DataType.FLOAT, "image_tokens", textHidden);
        return g;
    }

    /**
     * Rotates channel pairs (2i, 2i+1) of x (L, heads, hd) as complex numbers by angle i. The output keeps pairs interleaved
     * so q and k stay in the checkpoint's channel order.
     */
    private static String rope(GraphBuilder g, String x, String cos, String sin, int hd) {
        String pairs = g.reshape(x, 0, 0, hd / 2, 2);                             // (L, heads, hd/2, 2)
        String re = g.squeeze(g.slice(pairs, 0, 1, 3, 1), 3);
        String im = g.squeeze(g.slice(pairs, 1, 2, 3, 1), 3);
        String outRe = g.sub(g.mul(re, cos), g.mul(im, sin));
        String outIm = g.add(g.mul(re, sin), g.mul(im, cos));
        return g.reshape(g.concat(3, g.unsqueeze(outRe, 3), g.unsqueeze(outIm, 3)), 0, 0, hd);
    }
}
