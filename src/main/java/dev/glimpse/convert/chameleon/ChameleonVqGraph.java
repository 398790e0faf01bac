package dev.glimpse.convert.chameleon;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.glimpse.convert.GraphBuilder;
import dev.glimpse.convert.SafeTensors;
import dev.glimpse.convert.Weights;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The Chameleon VQ-GAN as two ONNX graphs, built from the checkpoint's {@code model.vqmodel.*} tensors:
 * <ul>
 *   <li>encoder: pixel_values (B, 3, R, R) -> codes (B, g*g) int64, row-major: conv_in, levels of ResnetBlocks (+ attention
 *       where the level's resolution is in attn_resolutions) with a pad(0,1,0,1) + 3x3 stride-2 downsample between levels,
 *       mid (res, attn, res), GroupNorm + swish, conv_out, quant_conv, then the nearest codebook entry
 *       (argmin of |z|^2 + |e|^2 - 2 z.e, as Hugging Face computes it);</li>
 *   <li>decoder (Meta's VQGAN decoder, which Anole generates with): codes (B, g*g) -> pixels (B, 3, R, R) in about
 *       [-1, 1], unclamped: codebook lookup, post_quant_conv, conv_in, mid, levels from the lowest resolution up with
 *       num_res_blocks + 1 blocks and a nearest x2 + 3x3 conv upsample, GroupNorm + swish, conv_out.</li>
 * </ul>
 * GroupNorm (32 groups, eps 1e-6) is InstanceNormalization over (B, 32, C/32 * H * W) followed by the per-channel affine.
 */
public final class ChameleonVqGraph {

    static final String PREFIX = "model.vqmodel.";
    static final int GROUPS = 32;
    static final float GN_EPS = 1e-6f;

    private final GraphBuilder g;
    private final SafeTensors w;
    private final ChameleonConfig.Vq cfg;
    private final Map<Integer, String[]> instanceNormParams = new HashMap<>();

    private ChameleonVqGraph(String name, SafeTensors weights, ChameleonConfig.Vq cfg) {
        this.g = new GraphBuilder(name);
        this.w = weights;
        this.cfg = cfg;
    }

    public static ModelProto encoder(ChameleonConfig.Vq cfg, SafeTensors weights) {
        return encoderGraph(cfg, weights).build(false, null);
    }

    public static ModelProto decoder(ChameleonConfig.Vq cfg, SafeTensors weights) {
        return decoderGraph(cfg, weights).build(false, null);
    }

    public static GraphBuilder encoderGraph(ChameleonConfig.Vq cfg, SafeTensors weights) {
        return new ChameleonVqGraph("chameleon_vq_encoder", weights, cfg).buildEncoder();
    }

    public static GraphBuilder decoderGraph(ChameleonConfig.Vq cfg, SafeTensors weights) {
        return new ChameleonVqGraph("chameleon_vq_decoder", weights, cfg).buildDecoder();
    }

    /** Whether the checkpoint has the VQ-GAN decoder (Anole-style checkpoints that generate images; HF's Chameleon has none). */
    public static boolean hasDecoder(SafeTensors weights) {
        return weights.entries().containsKey(PREFIX + "decoder.conv_in.weight");
    }

    private GraphBuilder buildEncoder() {
        int r = cfg.resolution();
        int grid = cfg.gridSide();
        String x = g.input("pixel_values", TensorProto.DataType.FLOAT, "batch", cfg.inChannels(), r, r);
        String p = "encoder.";
        int ch = cfg.baseChannels();
        List<Integer> mult = cfg.channelMultiplier();
        String h = conv(x, p + "conv_in", 1, 1);
        int res = r;
        int cin = ch;
        for (int i = 0; i < mult.size(); i++) {
            int cout = ch * mult.get(i);
            boolean attn = cfg.attnResolutions().contains(res);
            for (int j = 0; j < cfg.numResBlocks(); j++) {
                h = resnet(h, p + "down." + i + ".block." + j + ".", j == 0 ? cin : cout, cout);
                if (attn) h = attention(h, p + "down." + i + ".attn." + j + ".", cout);
            }
            if (i != mult.size() - 1) {
                // pad right and bottom by one, then 3x3 stride 2 without padding
                h = g.op("Pad", h, g.ints(0, 0, 0, 0, 0, 0, 1, 1));
                h = conv(h, p + "down." + i + ".downsample.conv", 2, 0);
                res /= 2;
            }
            cin = cout;
        }
        h = mid(h, p + "mid.", cin);
        h = conv(swish(groupNorm(h, p + "norm_out", cin)), p + "conv_out", 1, 1);
        String z = conv(h, "quant_conv", 1, 0);                                   // (B, E, g, g)
        // Nearest codebook entry per position, rows row-major over (y, x).
        int e = cfg.embedDim();
        String zf = g.reshape(g.transpose(z, 0, 2, 3, 1), -1, e);                 // (B*g*g, E)
        float[] book = w.floats(PREFIX + "quantize.embedding.weight", cfg.numEmbeddings(), e);
        String bookT = g.weight("codebook_t", Weights.transpose(book, cfg.numEmbeddings(), e), e, cfg.numEmbeddings());
        float[] norms = new float[cfg.numEmbeddings()];
        for (int k = 0; k < norms.length; k++) {
            double s = 0;
            for (int d = 0; d < e; d++) s += (double) book[k * e + d] * book[k * e + d];
            norms[k] = (float) s;
        }
        String zz = g.op("ReduceSum", Map.of("keepdims", 1L), g.mul(zf, zf), g.ints(1));   // (N, 1)
        String dist = g.sub(g.add(zz, g.weight("codebook_sq", norms, 1, cfg.numEmbeddings())),
                g.mul(g.scalar(2f), g.matmul(zf, bookT)));                                  // (N, K)
        String codes = g.op("ArgMin", Map.of("axis", 1L, "keepdims", 0L), dist);
        g.output("codes", g.reshape(codes, -1, (long) grid * grid), TensorProto.DataType.INT64, "batch", grid * grid);
        return g;
    }

    private GraphBuilder buildDecoder() {
        int grid = cfg.gridSide();
        int e = cfg.embedDim();
        String codes = g.input("codes", TensorProto.DataType.INT64, "batch", grid * grid);
        String book = g.weight("codebook", w.floats(PREFIX + "quantize.embedding.weight", cfg.numEmbeddings(), e), cfg.numEmbeddings(), e);
        String q = g.op("Gather", Map.of("axis", 0L), book, codes);                      // (B, g*g, E)
        q = g.transpose(g.reshape(q, -1, grid, grid, e), 0, 3, 1, 2);                   // (B, E, g, g)
        String h = conv(q, "post_quant_conv", 1, 0);
        String p = "decoder.";
        int ch = cfg.baseChannels();
        List<Integer> mult = cfg.channelMultiplier();
        int c = ch * mult.get(mult.size() - 1);
        int res = grid;
        h = conv(h, p + "conv_in", 1, 1);
        h = mid(h, p + "mid.", c);
        for (int i = mult.size() - 1; i >= 0; i--) {
            int cout = ch * mult.get(i);
            boolean attn = cfg.attnResolutions().contains(res);
            for (int j = 0; j <= cfg.numResBlocks(); j++) {
                h = resnet(h, p + "up." + i + ".block." + j + ".", j == 0 ? c : cout, cout);
                if (attn) h = attention(h, p + "up." + i + ".attn." + j + ".", cout);
            }
            c = cout;
            if (i != 0) {
                h = g.op("Resize", Map.of("mode", "nearest", "coordinate_transformation_mode", "asymmetric",
                        "nearest_mode", "floor"), h, "", g.weight(g.fresh("scales"), new float[] {1, 1, 2, 2}, 4));
                h = conv(h, p + "up." + i + ".upsample.conv", 1, 1);
                res *= 2;
            }
        }
        h = conv(swish(groupNorm(h, p + "norm_out", c)), p + "conv_out", 1, 1);
        g.output("pixels", h, TensorProto.DataType.FLOAT, "batch", cfg.outChannels(), cfg.resolution(), cfg.resolution());
        return g;
    }

    // ---------------------------------------------------------------------------------------------------------- blocks

    private String resnet(String x, String p, int cin, int cout) {
        String h = conv(swish(groupNorm(x, p + "norm1", cin)), p + "conv1", 1, 1);
        h = conv(swish(groupNorm(h, p + "norm2", cout)), p + "conv2", 1, 1);
        String skip = cin == cout ? x : conv(x, p + "nin_shortcut", 1, 0);
        return g.add(skip, h);
    }

    /** Single-head self-attention over the H*W positions (1x1 convs, scale C^-0.5), residual. */
    private String attention(String x, String p, int c) {
        String h = groupNorm(x, p + "norm", c);
        String shape = g.op("Shape", x);
        String flat = g.concat(0, g.slice(shape, 0, 2, 0, 1), g.ints(-1));               // (B, C, H*W)
        String q = g.transpose(g.op("Reshape", conv(h, p + "q", 1, 0), flat), 0, 2, 1);   // (B, HW, C)
        String k = g.op("Reshape", conv(h, p + "k", 1, 0), flat);                          // (B, C, HW)
        String v = g.op("Reshape", conv(h, p + "v", 1, 0), flat);                          // (B, C, HW)
        String att = g.softmax(g.mul(g.matmul(q, k), g.scalar((float) Math.pow(c, -0.5))), -1);   // (B, HWq, HWk)
        String out = g.matmul(v, g.transpose(att, 0, 2, 1));                               // (B, C, HWq)
        return g.add(x, conv(g.op("Reshape", out, shape), p + "proj_out", 1, 0));
    }

    private String mid(String x, String p, int c) {
        return resnet(attention(resnet(x, p + "block_1.", c, c), p + "attn_1.", c), p + "block_2.", c, c);
    }

    private String conv(String x, String name, int stride, int pad) {
        SafeTensors.Entry e = w.entry(PREFIX + name + ".weight");
        long[] s = e.shape();
        String weight = g.weight(name + ".weight", SafeTensors.toFloats(e), s);
        String bias = g.weight(name + ".bias", w.floats(PREFIX + name + ".bias", s[0]), s[0]);
        return g.op("Conv", Map.of("kernel_shape", new long[] {s[2], s[3]}, "strides", new long[] {stride, stride},
                "pads", new long[] {pad, pad, pad, pad}), x, weight, bias);
    }

    private String groupNorm(String x, String name, int c) {
        if (c % GROUPS != 0) throw new IllegalArgumentException(name + ": " + c + " channels are not divisible into 32 groups");
        String[] unit = instanceNormParams.computeIfAbsent(GROUPS, k -> new String[] {
                g.weight(g.fresh("gn_ones"), ones(k), k), g.weight(g.fresh("gn_zeros"), new float[k], k)});
        String shape = g.op("Shape", x);
        String grouped = g.op("Reshape", x, g.concat(0, g.slice(shape, 0, 1, 0, 1), g.ints(GROUPS, -1)));
        String n = g.op("InstanceNormalization", Map.of("epsilon", GN_EPS), grouped, unit[0], unit[1]);
        String back = g.op("Reshape", n, shape);
        String gamma = g.weight(name + ".weight", w.floats(PREFIX + name + ".weight", c), 1, c, 1, 1);
        String beta = g.weight(name + ".bias", w.floats(PREFIX + name + ".bias", c), 1, c, 1, 1);
        return g.add(g.mul(back, gamma), beta);
    }

    private String swish(String x) {
        return g.silu(x);
    }

    private static float[] ones(int n) {
        float[] f = new float[n];
        java.util.Arrays.fill(f, 1f);
        return f;
    }
}
