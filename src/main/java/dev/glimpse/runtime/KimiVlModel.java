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

    private final OrtRuntime runtime;
    private final KimiVlConfig config;
    private final OrtSession vision;
    private final OrtSession embed;
    private final OrtSession decoder;
    private final CacheLayout cacheLayout;

    public KimiVlModel(OrtRuntime runtime, KimiVlConfig config, Path graphDir) {
        this.runtime = runtime;
        this.config = config;
        OrtSession v = null, e = null, d = null;
        try {
            v = runtime.open(graphDir.resolve(KimiVlConverter.VISION));
            e = runtime.open(graphDir.resolve(KimiVlConverter.EMBED));
            d = runtime.open(graphDir.resolve(KimiVlConverter.DECODER));
            requireNames(v, graphDir.resolve(KimiVlConverter.VISION),
                    Set.of(PIXEL_VALUES, POS_INDEX, POS_WEIGHT, PATCH_POS, IMAGE_INDEX, MERGE_INDEX), Set.of(IMAGE_FEATURES));
            requireNames(e, graphDir.resolve(KimiVlConverter.EMBED), Set.of(INPUT_IDS), Set.of(INPUTS_EMBEDS));
            Set<String> dIn = new java.util.HashSet<>(Set.of(INPUTS_EMBEDS, ATTENTION_MASK, POSITION_IDS, NUM_LOGITS_TO_KEEP));
            Set<String> dOut = new java.util.HashSet<>(Set.of(LOGITS));
            for (int i = 0; i < config.text().numLayers(); i++) {
                dIn.add(pastName(i));
                dOut.add(presentName(i));
            }
            requireNames(d, graphDir.resolve(KimiVlConverter.DECODER), dIn, dOut);
        } catch (RuntimeException ex) {
            closeQuietly(v);
            closeQuietly(e);
            closeQuietly(d);
            throw ex;
        }
        this.vision = v;
        this.embed = e;
        this.decoder = d;
        List<String> past = new ArrayList<>();
        List<String> present = new ArrayList<>();
        for (int i = 0; i < config.text().numLayers(); i++) {
            past.add(pastName(i));
            present.add(presentName(i));
        }
        this.cacheLayout = new CacheLayout(past, present, 0, config.text().latentDim());
    }

    /** The model contract, checked at start-up: a graph that lacks a name fails naming what it has. */
    private static void requireNames(OrtSession s, Path file, Set<String> inputs, Set<String> outputs) {
        if (!s.getInputNames().containsAll(inputs) || !s.getOutputNames().containsAll(outputs)) {
            throw new IllegalStateException(file + " does not match the Kimi-VL graph contract: expected inputs " + inputs
                    + " and outputs " + outputs + ", the graph has inputs " + s.getInputNames() + " and outputs " + s.getOutputNames());
        }
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
        return new BatchCache(runtime.env(), cacheLayout);
    }

    /** Bytes of cache one token costs across all layers (fp32 latent + rope key). */
    public long bytesPerToken() {
        return cacheLayout.bytesPerToken();
    }

    /**
     * One decode step for every row of {@code cache}: row r is fed embeds[r] at position length(r).
     *
     * @param embeds (B, hidden)
     * @return logits (B, vocab), row-major
     */
    public float[] decodeBatch(BatchCache cache, float[] embeds) {
        int b = cache.rows();
        int hidden = config.text().hidden();
        long[] pos = cache.nextPositions();
        var env = runtime.env();
        List<OnnxTensor> owned = new ArrayList<>();
        Map<String, OnnxTensor> in = new HashMap<>();
        try {
            in.put(INPUTS_EMBEDS, own(owned, Tensors.floats(env, embeds, b, 1, hidden)));
            in.put(ATTENTION_MASK, own(owned, Tensors.longs(env, cache.stepMask(), b, cache.width() + 1)));
            in.put(POSITION_IDS, own(owned, Tensors.longs(env, pos, b, 1)));
            in.put(NUM_LOGITS_TO_KEEP, own(owned, Tensors.longs(env, new long[]{1}, 1)));
            for (int i = 0; i < cacheLayout.tensors(); i++) in.put(cacheLayout.pastNames().get(i), cache.past(i));
            return runDecoder(in, cache::advance);
        } catch (OrtException e) {
            throw new IllegalStateException("decoder graph failed: " + e.getMessage(), e);
        } finally {
            owned.forEach(OnnxTensor::close);
        }
    }

    public KvCache newCache() {
        return new KvCache(cacheLayout);
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
        int past = cache.length();
        int total = past + seqLen;
        long[] mask = new long[total];
        java.util.Arrays.fill(mask, 1L);
        long[] pos = new long[seqLen];
        for (int i = 0; i < seqLen; i++) pos[i] = past + i;
        var env = runtime.env();
        List<OnnxTensor> owned = new ArrayList<>();
        Map<String, OnnxTensor> in = new HashMap<>();
        try {
            in.put(INPUTS_EMBEDS, own(owned, Tensors.floats(env, embeds, 1, seqLen, hidden)));
            in.put(ATTENTION_MASK, own(owned, Tensors.longs(env, mask, 1, total)));
            in.put(POSITION_IDS, own(owned, Tensors.longs(env, pos, 1, seqLen)));
            in.put(NUM_LOGITS_TO_KEEP, own(owned, Tensors.longs(env, new long[]{keepLogits}, 1)));
            for (int i = 0; i < cacheLayout.tensors(); i++) {
                in.put(cacheLayout.pastNames().get(i), cache.past(env, i, owned));
            }
            return runDecoder(in, r -> cache.advance(r, total));
        } catch (OrtException e) {
            throw new IllegalStateException("decoder graph failed: " + e.getMessage(), e);
        } finally {
            owned.forEach(OnnxTensor::close);
        }
    }

    /**
     * Runs the decoder and hands its Result to {@code adopt}, which takes ownership: the present.* tensors feed the next
     * step as past_key_values.* without a host copy. Returns a heap copy of the logits.
     */
    private float[] runDecoder(Map<String, OnnxTensor> in, java.util.function.Consumer<OrtSession.Result> adopt) throws OrtException {
        OrtSession.Result r = decoder.run(in);
        float[] logits;
        try {
            logits = Tensors.toFloats((OnnxTensor) r.get(LOGITS).orElseThrow());
        } catch (RuntimeException e) {
            r.close();
            throw e;
        }
        adopt.accept(r);
        return logits;
    }

    private static OnnxTensor own(List<OnnxTensor> owned, OnnxTensor t) {
        owned.add(t);
        return t;
    }

    private static void closeQuietly(OrtSession s) {
        if (s == null) return;
        try {
            s.close();
        } catch (OrtException ignored) {
            // closing during a failed start-up; the original error is what matters
        }
    }

    @Override
    public void close() throws OrtException {
        vision.close();
        embed.close();
        decoder.close();
    }
}
