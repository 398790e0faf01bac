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

    private static final String FAMILY = "Chameleon";
    static final String PIXEL_VALUES = "pixel_values";
    static final String CODES = "codes";
    static final String PIXELS = "pixels";

    private final OrtRuntime runtime;
    private final ChameleonConfig config;
    private final OrtSession vqEncoder;
    private final OrtSession vqDecoder; // null: the checkpoint cannot draw
    private final CachedDecoder decoder;

    public ChameleonModel(OrtRuntime runtime, ChameleonConfig config, Path graphDir) {
        this.runtime = runtime;
        this.config = config;
        List<String> past = new ArrayList<>();
        List<String> present = new ArrayList<>();
        for (int i = 0; i < config.text().numLayers(); i++) {
            past.add(pastKey(i));
            past.add(pastValue(i));
            present.add(presentKey(i));
            present.add(presentValue(i));
        }
        Path encFile = graphDir.resolve(ChameleonConverter.VQ_ENCODER);
        Path decFile = graphDir.resolve(ChameleonConverter.VQ_DECODER);
        OrtSession enc = null, dec = null, lm = null;
        try {
            enc = runtime.open(encFile);
            dec = Files.exists(decFile) ? runtime.open(decFile) : null;
            lm = runtime.open(graphDir.resolve(ChameleonConverter.DECODER));
            CachedDecoder.requireNames(enc, encFile, FAMILY, Set.of(PIXEL_VALUES), Set.of(CODES));
            if (dec != null) CachedDecoder.requireNames(dec, decFile, FAMILY, Set.of(CODES), Set.of(PIXELS));
            this.decoder = new CachedDecoder(runtime.env(), lm, graphDir.resolve(ChameleonConverter.DECODER), FAMILY, INPUT_IDS,
                    new CacheLayout(past, present, config.text().numKvHeads(), config.text().headDim()));
        } catch (RuntimeException e) {
            CachedDecoder.closeQuietly(enc);
            CachedDecoder.closeQuietly(dec);
            CachedDecoder.closeQuietly(lm);
            throw e;
        }
        this.vqEncoder = enc;
        this.vqDecoder = dec;
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
        return new KvCache(decoder.layout());
    }

    public BatchCache newBatchCache() {
        return new BatchCache(runtime.env(), decoder.layout());
    }

    /** Bytes of K/V cache one token costs across all layers (fp32). */
    public long bytesPerToken() {
        return decoder.layout().bytesPerToken();
    }

    /**
     * One decoder pass over {@code ids} (new positions of one sequence), appending to {@code cache}.
     *
     * @return logits (keepLogits, vocab) of the last positions, row-major, raw (nothing masked)
     */
    public float[] step(KvCache cache, long[] ids, int keepLogits) {
        return decoder.step(cache, (env, rows, positions) -> Tensors.longs(env, ids, rows, positions), ids.length, keepLogits);
    }

    /**
     * One decode step for every row of {@code cache}: row r is fed {@code lastIds[r]} at position length(r).
     *
     * @return logits (B, vocab), row-major, raw
     */
    public float[] decodeBatch(BatchCache cache, long[] lastIds) {
        return decoder.decodeBatch(cache, (env, rows, positions) -> Tensors.longs(env, lastIds, rows, positions));
    }

    @Override
    public void close() throws OrtException {
        vqEncoder.close();
        if (vqDecoder != null) vqDecoder.close();
        decoder.close();
    }
}
