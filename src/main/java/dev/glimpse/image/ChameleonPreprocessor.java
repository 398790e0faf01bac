package dev.glimpse.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * Chameleon's image processor (Hugging Face ChameleonImageProcessor), exactly: the image is decoded with alpha
 * composited on white the way its blend_rgba does it ({@link ImageDecoder.Alpha#TRUNCATE_FLOAT64}); the shortest edge
 * is resized to {@code shortest_edge} with the long edge truncated ({@code int(short_edge * long / short)}) using
 * Pillow's Lanczos ({@link PilResample}); a centred crop_size square is cut at ((W - R) / 2, (H - R) / 2); then
 * {@code x * rescale_factor} in float64 rounded to float32, and {@code (x - mean) / std} in float32. HF's defaults
 * (0.0078, mean = std = 1) give x * 0.0078 - 1, so white is 0.989, not 1.
 *
 * <p>The other resize HF's processor offers, {@code size: {height: R, width: R}} with {@code do_center_crop: false},
 * squashes the whole image to R x R instead (the bundled tiny-chameleon uses it, so that a 448x56 image keeps all its
 * shapes).
 *
 * @param resolution side of the square the VQ-GAN encodes (size.shortest_edge = crop_size, or size.height = size.width)
 * @param squash     resize to exactly R x R (no crop) instead of shortest edge + centre crop
 */
public record ChameleonPreprocessor(int resolution, boolean squash, double rescaleFactor, float[] mean, float[] std) {

    public ChameleonPreprocessor(int resolution, double rescaleFactor, float[] mean, float[] std) {
        this(resolution, false, rescaleFactor, mean, std);
    }

    public static ChameleonPreprocessor load(Path checkpointDir) {
        JsonNode c;
        try {
            c = new ObjectMapper().readTree(checkpointDir.resolve("preprocessor_config.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + checkpointDir.resolve("preprocessor_config.json"), e);
        }
        if (c.path("resample").asInt(1) != 1) {
            throw new IllegalArgumentException("preprocessor_config.json: only resample 1 (Lanczos) is supported");
        }
        JsonNode size = c.path("size");
        boolean crop = c.path("do_center_crop").asBoolean(true);
        int r;
        boolean squash;
        if (size.has("shortest_edge")) {
            r = size.path("shortest_edge").asInt(0);
            squash = false;
            if (r <= 0 || !crop || c.path("crop_size").path("height").asInt() != r || c.path("crop_size").path("width").asInt() != r) {
                throw new IllegalArgumentException("preprocessor_config.json: with size.shortest_edge, do_center_crop must be "
                        + "true and crop_size must equal it");
            }
        } else {
            r = size.path("height").asInt(0);
            squash = true;
            if (r <= 0 || size.path("width").asInt() != r || crop) {
                throw new IllegalArgumentException("preprocessor_config.json: size must be {shortest_edge} or a square "
                        + "{height, width} with do_center_crop false");
            }
        }
        return new ChameleonPreprocessor(r, squash, c.path("rescale_factor").asDouble(0.0078), floats(c.path("image_mean")),
                floats(c.path("image_std")));
    }

    /** (width, height) after resizing (shortest edge to the resolution, as Hugging Face computes it, or the square). */
    public int[] resizedSize(int w, int h) {
        if (squash) return new int[] {resolution, resolution};
        if (w <= h) return new int[] {resolution, (int) ((double) resolution * h / w)};
        return new int[] {(int) ((double) resolution * w / h), resolution};
    }

    /** Decoded image (alpha already on white, {@link ImageDecoder.Alpha#TRUNCATE_FLOAT64}) -> pixel_values (3, R, R). */
    public float[] process(DecodedImage image) {
        int[] size = resizedSize(image.width(), image.height());
        int left = (size[0] - resolution) / 2;
        int top = (size[1] - resolution) / 2;
        // only the centre crop is computed (bit-identical to resizing the whole image and cropping)
        DecodedImage cropped = PilResample.resizeWindow(image, size[0], size[1], PilResample.Filter.LANCZOS, left, top,
                resolution, resolution);
        byte[] rgb = cropped.rgb();
        int plane = resolution * resolution;
        float[] out = new float[3 * plane];
        for (int y = 0; y < resolution; y++) {
            for (int x = 0; x < resolution; x++) {
                int i = (y * resolution + x) * 3;
                for (int c = 0; c < 3; c++) {
                    float v = (float) ((rgb[i + c] & 0xFF) * rescaleFactor);
                    out[c * plane + y * resolution + x] = (v - mean[c]) / std[c];
                }
            }
        }
        return out;
    }

    /** Every parameter that changes pixel_values, for cache keys. */
    public String describe() {
        return "chameleon(r=" + resolution + ",squash=" + squash + ",rescale=" + rescaleFactor + ",mean="
                + java.util.Arrays.toString(mean) + ",std=" + java.util.Arrays.toString(std) + ")";
    }

    private static float[] floats(JsonNode arr) {
        if (!arr.isArray() || arr.size() != 3) throw new IllegalArgumentException("preprocessor_config.json: image_mean and image_std need 3 values");
        return new float[] {(float) arr.get(0).asDouble(), (float) arr.get(1).asDouble(), (float) arr.get(2).asDouble()};
    }
}
