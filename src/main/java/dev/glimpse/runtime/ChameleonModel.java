package dev.glimpse.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.glimpse.convert.chameleon.ChameleonConfig;
import dev.glimpse.convert.chameleon.ChameleonConverter;

import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.glimpse.convert.chameleon.ChameleonDecoderGraph.*;

/**
 * The ONNX Runtime sessions of a Chameleon model (this object owns and closes them): VQ-GAN encoder (pixels -> codes),
 * decoder (ids -> logits with a K/V cache) and, for checkpoints that can draw, the VQ-GAN decoder (codes -> pixels).
 * Only this package touches OnnxTensor; callers see arrays, {@link KvCache} and {@link BatchCache}.
 */
public final class ChameleonModel implements AutoCloseable {

    static final String PIXEL_VALUES = "pixel_values";
    static final String CODES = "codes";
    static final String PIXELS = "pixels";

    private final OrtRuntime runtime;
    private final ChameleonConfig config;
    private final OrtSession vqEncoder;
    private final OrtSession vqDecoder; // null: the checkpoint cannot draw
    private final OrtSession decoder;
    private final CacheLayout cacheLayout;

    public ChameleonModel(OrtRuntime runtime, ChameleonConfig config, Path graphDir) {
        this.runtime = runtime;
        this.config = config;
        List<OrtSession> opened = new ArrayList<>();
        try {
            OrtSession enc = open(opened, graphDir.resolve(ChameleonConverter.VQ_ENCODER));
            Path vqDec = graphDir.resolve(ChameleonConverter.VQ_DECODER);
            OrtSession dec = Files.exists(vqDec) ? open(opened, vqDec) : null;
            OrtSession lm = open(opened, graphDir.resolve(ChameleonConverter.DECODER));
            List<String> past = new ArrayList<>();
            List<String> present = new ArrayList<>();
            for (int i = 0; i < config.text().numLayers(); i++) {
                past.add(pastKey(i));
                past.add(pastValue(i));
                present.add(presentKey(i));
                present.add(presentValue(i));
            }
            requireNames(enc, graphDir.resolve(ChameleonConverter.VQ_ENCODER), Set.of(PIXEL_VALUES), Set.of(CODES));
            if (dec != null) requireNames(dec, vqDec, Set.of(CODES), Set.of(PIXELS));
            Set<String> in = new java.util.HashSet<>(Set.of(INPUT_IDS, ATTENTION_MASK, POSITION_IDS, NUM_LOGITS_TO_KEEP));
            in.addAll(past);
            Set<String> out = new java.util.HashSet<>(present);
            out.add(LOGITS);
            requireNames(lm, graphDir.resolve(ChameleonConverter.DECODER), in, out);
            this.vqEncoder = enc;
            this.vqDecoder = dec;
            this.decoder = lm;
            this.cacheLayout = new CacheLayout(past, present, config.text().numKvHeads(), config.text().headDim());
        } catch (RuntimeException e) {
            for (OrtSession s : opened) closeQuietly(s);
            throw e;
        }
    }

    private OrtSession open(List<OrtSession> opened, Path file) {
        OrtSession s = runtime.open(file);
        opened.add(s);
        return s;
    }

    private static void requireNames(OrtSession s, Path file, Set<String> inputs, Set<String> outputs) {
        if (!s.getInputNames().containsAll(inputs) || !s.getOutputNames().containsAll(outputs)) {
            throw new IllegalStateException(file + " does not match the Chameleon graph contract: expected inputs " + inputs
                    + " and outputs " + outputs + ", the graph has inputs " + s.getInputNames() + " and outputs " + s.getOutputNames());
        }
    }

    public ChameleonConfig config() {
        return config;
    }

    public boolean canDraw() {
        return vqDecoder != null;
    }

    /**
     * VQ-GAN encoder on a batch of images.
     *
     * @param pixelValues (n, 3, R, R) preprocessed images, concatenated
     * @return codes (n, g*g), row-major per image
     */
    public long[] encodeImages(float[] pixelValues, int n) {
        int r = config.vq().resolution();
        try (OnnxTensor t = Tensors.floats(runtime.env(), pixelValues, n, config.vq().inChannels(), r, r);
             OrtSession.Result res = vqEncoder.run(Map.of(PIXEL_VALUES, t))) {
            LongBuffer b = ((OnnxTensor) res.get(CODES).orElseThrow()).getLongBuffer();
            long[] out = new long[b.remaining()];
            b.get(out);
            return out;
        } catch (OrtException e) {
            throw new IllegalStateException("VQ encoder graph failed: " + e.getMessage(), e);
        }
    }

    /**
     * VQ-GAN decoder: codes (n, g*g) -> pixels (n, 3, R, R) in about [-1, 1], unclamped.
     *
     * @throws IllegalStateException when the checkpoint has no VQ-GAN decoder
     */
    public float[] decodeCodes(long[] codes, int n) {
        if (vqDecoder == null) throw new IllegalStateException("this checkpoint has no VQ-GAN decoder");
        try (OnnxTensor t = Tensors.longs(runtime.env(), codes, n, codes.length / n);
             OrtSession.Result res = vqDecoder.run(Map.of(CODES, t))) {
            return Tensors.toFloats((OnnxTensor) res.get(PIXELS).orElseThrow());
        } catch (OrtException e) {
            throw new IllegalStateException("VQ decoder graph failed: " + e.getMessage(), e);
        }
    }

    public KvCache newCache() {
        return new KvCache(cacheLayout);
    }

    public BatchCache newBatchCache() {
        return new BatchCache(runtime.env(), cacheLayout);
    }

    /** Bytes of K/V cache one token costs across all layers (fp32). */
    public long bytesPerToken() {
        return cacheLayout.bytesPerToken();
    }

    /**
     * One decoder pass over {@code ids} (new positions of one sequence), appending to {@code cache}.
     *
     * @return logits (keepLogits, vocab) of the last positions, row-major, raw (nothing masked)
     */
    public float[] step(KvCache cache, long[] ids, int keepLogits) {
        int past = cache.length();
        int total = past + ids.length;
        long[] mask = new long[total];
        java.util.Arrays.fill(mask, 1L);
        long[] pos = new long[ids.length];
        for (int i = 0; i < ids.length; i++) pos[i] = past + i;
        var env = runtime.env();
        List<OnnxTensor> owned = new ArrayList<>();
        Map<String, OnnxTensor> in = new HashMap<>();
        try {
            in.put(INPUT_IDS, own(owned, Tensors.longs(env, ids, 1, ids.length)));
            in.put(ATTENTION_MASK, own(owned, Tensors.longs(env, mask, 1, total)));
            in.put(POSITION_IDS, own(owned, Tensors.longs(env, pos, 1, ids.length)));
            in.put(NUM_LOGITS_TO_KEEP, own(owned, Tensors.longs(env, new long[] {keepLogits}, 1)));
            for (int i = 0; i < cacheLayout.tensors(); i++) in.put(cacheLayout.pastNames().get(i), cache.past(env, i, owned));
            return runDecoder(in, r -> cache.advance(r, total));
        } catch (OrtException e) {
            throw new IllegalStateException("decoder graph failed: " + e.getMessage(), e);
        } finally {
            owned.forEach(OnnxTensor::close);
        }
    }

    /**
     * One decode step for every row of {@code cache}: row r is fed {@code lastIds[r]} at position length(r).
     *
     * @return logits (B, vocab), row-major, raw
     */
    public float[] decodeBatch(BatchCache cache, long[] lastIds) {
        int b = cache.rows();
        var env = runtime.env();
        List<OnnxTensor> owned = new ArrayList<>();
        Map<String, OnnxTensor> in = new HashMap<>();
        try {
            in.put(INPUT_IDS, own(owned, Tensors.longs(env, lastIds, b, 1)));
            in.put(ATTENTION_MASK, own(owned, Tensors.longs(env, cache.stepMask(), b, cache.width() + 1)));
            in.put(POSITION_IDS, own(owned, Tensors.longs(env, cache.nextPositions(), b, 1)));
            in.put(NUM_LOGITS_TO_KEEP, own(owned, Tensors.longs(env, new long[] {1}, 1)));
            for (int i = 0; i < cacheLayout.tensors(); i++) in.put(cacheLayout.pastNames().get(i), cache.past(i));
            return runDecoder(in, cache::advance);
        } catch (OrtException e) {
            throw new IllegalStateException("decoder graph failed: " + e.getMessage(), e);
        } finally {
            owned.forEach(OnnxTensor::close);
        }
    }

    /** Runs the decoder and hands its Result to {@code adopt}, which takes ownership; returns a heap copy of the logits. */
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
        try {
            s.close();
        } catch (OrtException ignored) {
            // closing during a failed start-up; the original error is what matters
        }
    }

    @Override
    public void close() throws OrtException {
        vqEncoder.close();
        if (vqDecoder != null) vqDecoder.close();
        decoder.close();
    }
}
