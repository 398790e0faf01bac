package dev.glimpse.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;

import static dev.glimpse.convert.kimivl.KimiVlDecoderGraph.presentName;

/**
 * The MLA latent cache of the decode batch: per layer one (B, T, D) tensor, rows left-padded so every row's newest token
 * sits in column T-1 (D = kv_lora_rank + rope). Row r holds {@code lengths[r]} real tokens in columns [T - len, T); the
 * attention mask hides the padding.
 *
 * <p>Per decode step the decoder's present.* outputs become the next past_key_values.* directly (no host copy). The cache is
 * rebuilt on the host only when the batch changes: a sequence joins (its prefill cache is appended as a new row) or
 * leaves (rows dropped, shared left padding trimmed).
 */
public final class BatchCache implements AutoCloseable {

    private final OrtEnvironment env;
    private final int layers;
    private final int dim;
    /** Current per-layer tensors and whoever owns them: a decoder Result, or tensors we built. */
    private List<OnnxTensor> tensors = List.of();
    private AutoCloseable owner;
    private final List<Integer> lengths = new ArrayList<>();
    private int width;

    BatchCache(OrtEnvironment env, int layers, int dim) {
        this.env = env;
        this.layers = layers;
        this.dim = dim;
    }

    public int rows() {
        return lengths.size();
    }

    /** Columns per row (T), padding included. */
    public int width() {
        return width;
    }

    public int length(int row) {
        return lengths.get(row);
    }

    /** Bytes held, padding included. */
    public long bytes() {
        return (long) rows() * width * dim * layers * Float.BYTES;
    }

    OnnxTensor past(int layer) {
        return tensors.get(layer);
    }

    /** Adopts the outputs of a decoder run that appended one column to every row. */
    void advance(OrtSession.Result r) {
        List<OnnxTensor> next = new ArrayList<>(layers);
        for (int i = 0; i < layers; i++) next.add((OnnxTensor) r.get(presentName(i)).orElseThrow());
        closeOwner();
        tensors = next;
        owner = r;
        width += 1;
        for (int i = 0; i < lengths.size(); i++) lengths.set(i, lengths.get(i) + 1);
    }

    /** Appends a sequence whose prefill cache is complete as the last row. */
    public void join(KimiVlModel.KvCache seq) {
        int len = seq.length();
        int newWidth = Math.max(width, len);
        int oldRows = rows();
        List<float[]> rebuilt = new ArrayList<>(layers);
        for (int l = 0; l < layers; l++) {
            float[] out = new float[(oldRows + 1) * newWidth * dim];
            if (oldRows > 0) {
                FloatBuffer src = tensors.get(l).getFloatBuffer();
                int shift = newWidth - width; // extra left padding for existing rows
                for (int r = 0; r < oldRows; r++) {
                    src.get(r * width * dim, out, (r * newWidth + shift) * dim, width * dim);
                }
            }
            FloatBuffer s = seq.tensor(l).getFloatBuffer();
            s.get(0, out, (oldRows * newWidth + newWidth - len) * dim, len * dim);
            rebuilt.add(out);
        }
        lengths.add(len);
        replace(rebuilt, oldRows + 1, newWidth);
    }

    /** Drops the given rows (ascending indices) and trims left padding no remaining row needs. */
    public void remove(List<Integer> rowsToDrop) {
        if (rowsToDrop.isEmpty()) return;
        List<Integer> keep = new ArrayList<>();
        for (int r = 0; r < rows(); r++) if (!rowsToDrop.contains(r)) keep.add(r);
        int newWidth = 0;
        for (int r : keep) newWidth = Math.max(newWidth, lengths.get(r));
        List<float[]> rebuilt = new ArrayList<>(layers);
        for (int l = 0; l < layers && !keep.isEmpty(); l++) {
            FloatBuffer src = tensors.get(l).getFloatBuffer();
            float[] out = new float[keep.size() * newWidth * dim];
            for (int i = 0; i < keep.size(); i++) {
                int r = keep.get(i);
                src.get((r * width + width - newWidth) * dim, out, i * newWidth * dim, newWidth * dim);
            }
            rebuilt.add(out);
        }
        List<Integer> newLengths = new ArrayList<>();
        for (int r : keep) newLengths.add(lengths.get(r));
        lengths.clear();
        lengths.addAll(newLengths);
        if (keep.isEmpty()) {
            closeOwner();
            tensors = List.of();
            width = 0;
        } else {
            replace(rebuilt, keep.size(), newWidth);
        }
    }

    /** attention_mask (B, T + 1) for a step that appends one column: 1 on each row's real tokens and the new one. */
    long[] stepMask() {
        int t = width + 1;
        long[] mask = new long[rows() * t];
        for (int r = 0; r < rows(); r++) {
            for (int c = t - (lengths.get(r) + 1); c < t; c++) mask[r * t + c] = 1;
        }
        return mask;
    }

    private void replace(List<float[]> data, int rows, int newWidth) {
        List<OnnxTensor> built = new ArrayList<>(layers);
        for (float[] d : data) built.add(Tensors.floats(env, d, rows, newWidth, dim));
        closeOwner();
        tensors = built;
        owner = () -> built.forEach(OnnxTensor::close);
        width = newWidth;
    }

    private void closeOwner() {
        if (owner == null) return;
        try {
            owner.close();
        } catch (Exception e) {
            throw new IllegalStateException("cannot free KV cache", e);
        }
        owner = null;
    }

    @Override
    public void close() {
        closeOwner();
        tensors = List.of();
        lengths.clear();
        width = 0;
    }
}
