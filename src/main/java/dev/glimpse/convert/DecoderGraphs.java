package dev.glimpse.convert;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;

import java.util.Map;

/** Pieces every family's decoder graph builds the same way (so a KV-cache layout means the same to every runner). */
public final class DecoderGraphs {

    private DecoderGraphs() {}

    /**
     * Additive attention bias (B, 1, S, T) from attention_mask (B, T = past + S): key j is visible to query i iff
     * j <= past + i and attention_mask[b, j] = 1. A large finite negative (not -inf) keeps fully-masked padding rows
     * finite instead of NaN.
     *
     * @param seqSource any input whose axis 1 is the new positions S (input ids or embeddings)
     */
    public static String attentionBias(GraphBuilder g, String mask, String seqSource) {
        String total = g.op("Gather", Map.of("axis", 0L), g.op("Shape", mask), g.intScalar(1));
        String seq = g.op("Gather", Map.of("axis", 0L), g.op("Shape", seqSource), g.intScalar(1));
        String one = g.intScalar(1);
        String qPos = g.op("Range", g.sub(total, seq), total, one);                          // (S)
        String kPos = g.op("Range", g.intScalar(0), total, one);                             // (T)
        String causal = g.op("LessOrEqual", g.unsqueeze(kPos, 0), g.unsqueeze(qPos, 1));     // (S, T)
        String valid = g.unsqueeze(g.cast(mask, DataType.BOOL), 1, 2);                       // (B, 1, 1, T)
        String allowed = g.op("And", g.unsqueeze(causal, 0, 1), valid);                      // (B, 1, S, T)
        return g.op("Where", allowed, g.scalar(0f), g.scalar(-1e9f));
    }

    /** RoPE inverse frequencies theta^(-2i/dim), i < dim/2, computed in fp32 as the PyTorch references do. */
    public static float[] ropeInvFreq(double theta, int dim) {
        float[] inv = new float[dim / 2];
        for (int i = 0; i < inv.length; i++) inv[i] = (float) (1.0 / Math.pow(theta, (float) (2 * i) / (float) dim));
        return inv;
    }
}
