package dev.glimpse.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Kimi-VL image preprocessing settings, as in the checkpoint's preprocessor_config.json.
 *
 * @param patchSize    ViT patch side in pixels (14 in Kimi-VL)
 * @param mergeKernelH patch-merger kernel height (2): the padded grid height is a multiple of it
 * @param mergeKernelW patch-merger kernel width (2)
 * @param inTokenLimit largest (W/p)*(H/p) before the image is scaled down (4096 in Kimi-VL-A3B)
 * @param mean         per-channel R,G,B mean, float32 as torchvision uses it; copied, length 3
 * @param std          per-channel R,G,B std, float32, non-zero; copied, length 3
 * @param padInput     true: pad right/bottom with black to the merge grid; false: center-crop down to it
 */
public record KimiVlPreprocessorConfig(int patchSize, int mergeKernelH, int mergeKernelW, int inTokenLimit,
                                       float[] mean, float[] std, boolean padInput) {

    // Defaults of HF's KimiVLImageProcessor class, used for keys missing from the JSON (the real checkpoint sets
    // image_mean = image_std = 0.5 and pad_input = true explicitly).
    private static final int DEFAULT_PATCH = 14;
    private static final int DEFAULT_TOKEN_LIMIT = 4096;
    private static final double[] OPENAI_MEAN = {0.48145466, 0.4578275, 0.40821073};
    private static final double[] OPENAI_STD = {0.26862954, 0.26130258, 0.27577711};

    public KimiVlPreprocessorConfig {
        require(patchSize > 0, "patch_size must be > 0, got " + patchSize);
        require(mergeKernelH > 0 && mergeKernelW > 0,
                "merge_kernel_size must be positive, got [" + mergeKernelH + ", " + mergeKernelW + "]");
        require(inTokenLimit > 0, "in_token_limit must be > 0, got " + inTokenLimit);
        require(mean != null && mean.length == 3, "image_mean must have 3 values");
        require(std != null && std.length == 3, "image_std must have 3 values");
        for (float s : std) {
            require(s != 0f && Float.isFinite(s), "image_std values must be finite and non-zero, got "
                    + Arrays.toString(std));
        }
        for (float m : mean) {
            require(Float.isFinite(m), "image_mean values must be finite, got " + Arrays.toString(mean));
        }
        mean = mean.clone();
        std = std.clone();
    }

    /** The mean array is a copy; callers may not change this config. */
    @Override
    public float[] mean() {
        return mean.clone();
    }

    @Override
    public float[] std() {
        return std.clone();
    }

    /** patch * merge kernel: the padded image is a multiple of this many pixels high / wide. */
    public int alignH() {
        return patchSize * mergeKernelH;
    }

    public int alignW() {
        return patchSize * mergeKernelW;
    }

    /**
     * Reads preprocessor_config.json: patch_size, merge_kernel_size ([h, w]), in_token_limit, image_mean, image_std,
     * pad_input. Missing keys take HF KimiVLImageProcessor's class defaults; unknown keys are ignored.
     */
    public static KimiVlPreprocessorConfig fromJson(Path path) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(path.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path, e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(path + ": expected a JSON object");
        }
        int patch = root.path("patch_size").asInt(DEFAULT_PATCH);
        int mergeH = 2;
        int mergeW = 2;
        JsonNode merge = root.get("merge_kernel_size");
        if (merge != null && !merge.isNull()) {
            require(merge.isArray() && merge.size() == 2, path + ": merge_kernel_size must be [h, w]");
            mergeH = merge.get(0).asInt();
            mergeW = merge.get(1).asInt();
        }
        int limit = root.path("in_token_limit").asInt(DEFAULT_TOKEN_LIMIT);
        float[] mean = floats(root.get("image_mean"), OPENAI_MEAN, path, "image_mean");
        float[] std = floats(root.get("image_std"), OPENAI_STD, path, "image_std");
        boolean pad = root.path("pad_input").asBoolean(false);
        return new KimiVlPreprocessorConfig(patch, mergeH, mergeW, limit, mean, std, pad);
    }

    // JSON numbers are doubles; torchvision turns the Python floats into a float32 tensor: round to nearest float.
    private static float[] floats(JsonNode node, double[] fallback, Path path, String key) {
        double[] values = fallback;
        if (node != null && !node.isNull()) {
            require(node.isArray() && node.size() == 3, path + ": " + key + " must have 3 numbers");
            values = new double[3];
            for (int i = 0; i < 3; i++) {
                require(node.get(i).isNumber(), path + ": " + key + " must have 3 numbers");
                values[i] = node.get(i).asDouble();
            }
        }
        return new float[]{(float) values[0], (float) values[1], (float) values[2]};
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KimiVlPreprocessorConfig c && patchSize == c.patchSize && mergeKernelH == c.mergeKernelH
                && mergeKernelW == c.mergeKernelW && inTokenLimit == c.inTokenLimit && padInput == c.padInput
                && Arrays.equals(mean, c.mean) && Arrays.equals(std, c.std);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Arrays.hashCode(mean) + Arrays.hashCode(std))
                + java.util.Objects.hash(patchSize, mergeKernelH, mergeKernelW, inTokenLimit, padInput);
    }

    @Override
    public String toString() {
        return "KimiVlPreprocessorConfig[patchSize=" + patchSize + ", mergeKernel=" + mergeKernelH + "x" + mergeKernelW
                + ", inTokenLimit=" + inTokenLimit + ", mean=" + Arrays.toString(mean) + ", std="
                + Arrays.toString(std) + ", padInput=" + padInput + "]";
    }
}
