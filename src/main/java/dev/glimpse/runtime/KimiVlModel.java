package dev.glimpse.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.glimpse.convert.kimivl.KimiVlConfig;
import dev.glimpse.convert.kimivl.KimiVlConverter;
import dev.glimpse.convert.kimivl.VisionGraphInputs;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.glimpse.convert.kimivl.KimiVlDecoderGraph.*;
import static dev.glimpse.convert.kimivl.KimiVlVisionGraph.*;

/**
 * The three ONNX Runtime sessions of a Kimi-VL model (app tier: this object owns and closes them). Only this package touches
 * OnnxTensor; callers see float arrays and {@link KvCache}.
 */
public final class KimiVlModel implements AutoCloseable {

    private static final String FAMILY = "Kimi-VL";

    private final OrtRuntime runtime;
    private final KimiVlConfig config;
    private final OrtSession vision;
    private final OrtSession embed;
    private final CachedDecoder decoder;

    public KimiVlModel(OrtRuntime runtime, KimiVlConfig config, Path graphDir) {
        this.runtime = runtime;
        this.config = config;
        List<String> past = new ArrayList<>();
        List<String> present = new ArrayList<>();
        for (int i = 0; i < config.text().numLayers(); i++) {
            past.add(pastName(i));
            present.add(presentName(i));
        }
        OrtSession v = null, e = null, d = null;
        try {
            v = runtime.open(graphDir.resolve(KimiVlConverter.VISION));
            e = runtime.open(graphDir.resolve(KimiVlConverter.EMBED));
            d = runtime.open(graphDir.resolve(KimiVlConverter.DECODER));
            CachedDecoder.requireNames(v, graphDir.resolve(KimiVlConverter.VISION), FAMILY,
                    Set.of(PIXEL_VALUES, POS_INDEX, POS_WEIGHT, PATCH_POS, IMAGE_INDEX, MERGE_INDEX), Set.of(IMAGE_FEATURES));
            CachedDecoder.requireNames(e, graphDir.resolve(KimiVlConverter.EMBED), FAMILY, Set.of(INPUT_IDS), Set.of(INPUTS_EMBEDS));
            this.decoder = new CachedDecoder(runtime.env(), d, graphDir.resolve(KimiVlConverter.DECODER), FAMILY, INPUTS_EMBEDS,
                    new CacheLayout(past, present, 0, config.text().latentDim()));
        } catch (RuntimeException ex) {
            CachedDecoder.closeQuietly(v);
            CachedDecoder.closeQuietly(e);
            CachedDecoder.closeQuietly(d);
            throw ex;
        }
        this.vision = v;
        this.embed = e;
    }

    public KimiVlConfig config() {
        return config;
    }

    /**
     * Runs the vision graph on several images packed into one sequence.
     *
     * @param pixelValues (L, 3, p, p) concatenated over images
     * @param gridsHw     (h, w) in patches per image
     * @return image features (sum of tokens per image, text_hidden), row-major
     */
    public float[] encodeImages(float[] pixelValues, List<int[]> gridsHw) {
        VisionGraphInputs vi = VisionGraphInputs.of(gridsHw, config.vision());
        int p = config.vision().patchSize();
        long l = vi.patches();
        var env = runtime.env();
        Map<String, OnnxTensor> in = new HashMap<>();
        try {
            in.put(PIXEL_VALUES, Tensors.floats(env, pixelValues, l, 3, p, p));
            in.put(POS_INDEX, Tensors.longs(env, vi.posIndex(), l, 16));
            in.put(POS_WEIGHT, Tensors.floats(env, vi.posWeight(), l, 16));
            in.put(PATCH_POS, Tensors.longs(env, vi.patchPos(), l, 2));
            in.put(IMAGE_INDEX, Tensors.longs(env, vi.imageIndex(), l));
            in.put(MERGE_INDEX, Tensors.longs(env, vi.mergeIndex(), l));
            try (OrtSession.Result r = vision.run(in)) {
                return Tensors.toFloats((OnnxTensor) r.get(0));
            }
        } catch (OrtException e) {
            throw new IllegalStateException("vision graph failed: " + e.getMessage(), e);
        } finally {
            in.values().forEach(OnnxTensor::close);
        }
    }

    /** Token embeddings (S, hidden) for one sequence. */
    public float[] embed(long[] ids) {
        try (OnnxTensor t = Tensors.longs(runtime.env(), ids, 1, ids.length);
             OrtSession.Result r = embed.run(Map.of(INPUT_IDS, t))) {
            return Tensors.toFloats((OnnxTensor) r.get(0));
        } catch (OrtException e) {
            throw new IllegalStateException("embed graph failed: " + e.getMessage(), e);
        }
    }

    /** Embeddings (B, hidden) of one new token per sequence, for a batched decode step. */
    public float[] embedLastTokens(long[] ids) {
        try (OnnxTensor t = Tensors.longs(runtime.env(), ids, ids.length, 1);
             OrtSession.Result r = embed.run(Map.of(INPUT_IDS, t))) {
            return Tensors.toFloats((OnnxTensor) r.get(0));
        } catch (OrtException e) {
            throw new IllegalStateException("embed graph failed: " + e.getMessage(), e);
        }
    }

    public BatchCache newBatchCache() {
        return new BatchCache(runtime.env(), decoder.layout());
    }

    /** Bytes of cache one token costs across all layers (fp32 latent + rope key). */
    public long bytesPerToken() {
        return decoder.layout().bytesPerToken();
    }

    /**
     * One decode step for every row of {@code cache}: row r is fed embeds[r] at position length(r).
     *
     * @param embeds (B, hidden)
     * @return logits (B, vocab), row-major
     */
    public float[] decodeBatch(BatchCache cache, float[] embeds) {
        int hidden = config.text().hidden();
        return decoder.decodeBatch(cache, (env, rows, positions) -> Tensors.floats(env, embeds, rows, positions, hidden));
    }

    public KvCache newCache() {
        return new KvCache(decoder.layout());
    }

    /**
     * One decoder pass over {@code seqLen} new positions of one sequence (prefill: the prompt; decode: one token), appending
     * to {@code cache}.
     *
     * @param embeds     (seqLen, hidden) input embeddings
     * @param keepLogits how many trailing positions to return logits for
     * @return logits (keepLogits, vocab), row-major
     */
    public float[] step(KvCache cache, float[] embeds, int seqLen, int keepLogits) {
        int hidden = config.text().hidden();
        return decoder.step(cache, (env, rows, positions) -> Tensors.floats(env, embeds, rows, positions, hidden), seqLen, keepLogits);
    }

    @Override
    public void close() throws OrtException {
        vision.close();
        embed.close();
        decoder.close();
    }
}
