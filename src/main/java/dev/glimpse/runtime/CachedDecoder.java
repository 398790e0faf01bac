package dev.glimpse.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A decoder graph with a KV cache, in the contract both families' graphs share: one token input (ids or embeddings,
 * (B, S, ...)), attention_mask (B, P+S), position_ids (B, S), num_logits_to_keep (1), the layout's past tensors in, logits
 * (B, K, vocab) and the present tensors out. Steps one sequence ({@link KvCache}) or the decode batch ({@link BatchCache});
 * the present outputs are adopted by the cache without a host copy. Owns its session.
 */
final class CachedDecoder implements AutoCloseable {

    static final String ATTENTION_MASK = "attention_mask";
    static final String POSITION_IDS = "position_ids";
    static final String NUM_LOGITS_TO_KEEP = "num_logits_to_keep";
    static final String LOGITS = "logits";

    /** Builds the token input for a step (B rows of S positions); the step closes it. */
    @FunctionalInterface
    interface TokenInput {
        OnnxTensor create(OrtEnvironment env, int rows, int positions);
    }

    private final OrtEnvironment env;
    private final OrtSession session;
    private final String tokenInputName;
    private final CacheLayout layout;

    CachedDecoder(OrtEnvironment env, OrtSession session, Path file, String family, String tokenInputName, CacheLayout layout) {
        Set<String> in = new HashSet<>(Set.of(tokenInputName, ATTENTION_MASK, POSITION_IDS, NUM_LOGITS_TO_KEEP));
        in.addAll(layout.pastNames());
        Set<String> out = new HashSet<>(layout.presentNames());
        out.add(LOGITS);
        requireNames(session, file, family, in, out);
        this.env = env;
        this.session = session;
        this.tokenInputName = tokenInputName;
        this.layout = layout;
    }

    /** The model contract, checked at start-up: a graph that lacks a name fails naming what it has. */
    static void requireNames(OrtSession s, Path file, String family, Set<String> inputs, Set<String> outputs) {
        if (!s.getInputNames().containsAll(inputs) || !s.getOutputNames().containsAll(outputs)) {
            throw new IllegalStateException(file + " does not match the " + family + " graph contract: expected inputs " + inputs
                    + " and outputs " + outputs + ", the graph has inputs " + s.getInputNames() + " and outputs " + s.getOutputNames());
        }
    }

    static void closeQuietly(OrtSession s) {
        if (s == null) return;
        try {
            s.close();
        } catch (OrtException ignored) {
            // closing during a failed start-up; the original error is what matters
        }
    }

    CacheLayout layout() {
        return layout;
    }

    /**
     * One pass over {@code seqLen} new positions of one sequence, appending to {@code cache}.
     *
     * @return logits (keepLogits, vocab), row-major
     */
    float[] step(KvCache cache, TokenInput tokens, int seqLen, int keepLogits) {
        int past = cache.length();
        int total = past + seqLen;
        long[] mask = new long[total];
        Arrays.fill(mask, 1L);
        long[] pos = new long[seqLen];
        for (int i = 0; i < seqLen; i++) pos[i] = past + i;
        List<OnnxTensor> owned = new ArrayList<>();
        try {
            Map<String, OnnxTensor> in = inputs(owned, tokens.create(env, 1, seqLen), Tensors.longs(env, mask, 1, total),
                    Tensors.longs(env, pos, 1, seqLen), keepLogits);
            for (int i = 0; i < layout.tensors(); i++) in.put(layout.pastNames().get(i), cache.past(env, i, owned));
            return run(in, r -> cache.advance(r, total));
        } finally {
            owned.forEach(OnnxTensor::close);
        }
    }

    /**
     * One decode step for every row of {@code cache}: row r is fed its token at position length(r).
     *
     * @return logits (B, vocab), row-major
     */
    float[] decodeBatch(BatchCache cache, TokenInput tokens) {
        int b = cache.rows();
        List<OnnxTensor> owned = new ArrayList<>();
        try {
            Map<String, OnnxTensor> in = inputs(owned, tokens.create(env, b, 1),
                    Tensors.longs(env, cache.stepMask(), b, cache.width() + 1), Tensors.longs(env, cache.nextPositions(), b, 1), 1);
            for (int i = 0; i < layout.tensors(); i++) in.put(layout.pastNames().get(i), cache.past(i));
            return run(in, cache::advance);
        } finally {
            owned.forEach(OnnxTensor::close);
        }
    }

    private Map<String, OnnxTensor> inputs(List<OnnxTensor> owned, OnnxTensor tokens, OnnxTensor mask, OnnxTensor positions,
                                           int keepLogits) {
        owned.add(tokens);
        owned.add(mask);
        owned.add(positions);
        OnnxTensor keep = Tensors.longs(env, new long[] {keepLogits}, 1);
        owned.add(keep);
        Map<String, OnnxTensor> in = new HashMap<>();
        in.put(tokenInputName, tokens);
        in.put(ATTENTION_MASK, mask);
        in.put(POSITION_IDS, positions);
        in.put(NUM_LOGITS_TO_KEEP, keep);
        return in;
    }

    /** Runs the graph and hands its Result to {@code adopt}, which takes ownership; returns a heap copy of the logits. */
    private float[] run(Map<String, OnnxTensor> in, Consumer<OrtSession.Result> adopt) {
        OrtSession.Result r;
        try {
            r = session.run(in);
        } catch (OrtException e) {
            throw new IllegalStateException("decoder graph failed: " + e.getMessage(), e);
        }
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

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
