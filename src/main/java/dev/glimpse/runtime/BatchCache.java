package dev.glimpse.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The KV cache of the decode batch, for any {@link CacheLayout}: per cache tensor one (B, [heads,] T, dim) tensor, rows
 * left-padded so every row's newest token sits in column T-1. Row r holds {@code lengths[r]} real tokens in columns
 * [T - len, T); the attention mask hides the padding.
 *
 * <p>Per decode step the decoder's present outputs become the next past inputs directly (no host copy). The cache is
 * rebuilt on the host only when the batch changes: a sequence joins (its prefill cache is appended as a new row) or
 * leaves (rows dropped, shared left padding trimmed).
 */
public final class BatchCache implements AutoCloseable {

    private final OrtEnvironment env;
    private final CacheLayout layout;
    /** Current tensors (one per layout entry) and whoever owns them: a decoder Result, or tensors we built. */
    private List<OnnxTensor> tensors = List.of();
    private AutoCloseable owner;
    private final List<Integer> lengths = new ArrayList<>();
    private int width;

    BatchCache(OrtEnvironment env, CacheLayout layout) {
        this.env = env;
        this.layout = layout;
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
        return (long) rows() * width * layout.bytesPerToken();
    }

    OnnxTensor past(int i) {
        return tensors.get(i);
    }

    /** Position of every row's next token: its length. */
    long[] nextPositions() {
        long[] pos = new long[rows()];
        for (int r = 0; r < pos.length; r++) pos[r] = lengths.get(r);
        return pos;
    }

    /** Adopts the outputs of a decoder run that appended one column to every row. */
    void advance(OrtSession.Result r) {
        List<OnnxTensor> next = new ArrayList<>(layout.tensors());
        for (String name : layout.presentNames()) next.add((OnnxTensor) r.get(name).orElseThrow());
        closeOwner();
        tensors = next;
        owner = r;
        width += 1;
        for (int i = 0; i < lengths.size(); i++) lengths.set(i, lengths.get(i) + 1);
    }

    /** Appends a sequence whose prefill cache is complete as the last row. */
    public void join(KvCache seq) {
        int len = seq.length();
        int newWidth = Math.max(width, len);
        int oldRows = rows();
        int blocks = layout.blocks();
        int dim = layout.dim();
        List<float[]> rebuilt = new ArrayList<>(layout.tensors());
        for (int i = 0; i < layout.tensors(); i++) {
            float[] out = new float[(oldRows + 1) * blocks * newWidth * dim];
            if (oldRows > 0) {
                FloatBuffer src = tensors.get(i).getFloatBuffer();
                int shift = newWidth - width; // extra left padding for existing rows
                for (int rb = 0; rb < oldRows * blocks; rb++) {
                    src.get(rb * width * dim, out, (rb * newWidth + shift) * dim, width * dim);
                }
            }
            FloatBuffer s = seq.tensor(i).getFloatBuffer();
            for (int b = 0; b < blocks; b++) {
                s.get(b * len * dim, out, ((oldRows * blocks + b) * newWidth + newWidth - len) * dim, len * dim);
            }
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
        int blocks = layout.blocks();
        int dim = layout.dim();
        List<float[]> rebuilt = new ArrayList<>(layout.tensors());
        for (int t = 0; t < layout.tensors() && !keep.isEmpty(); t++) {
            FloatBuffer src = tensors.get(t).getFloatBuffer();
            float[] out = new float[keep.size() * blocks * newWidth * dim];
            for (int i = 0; i < keep.size(); i++) {
                int r = keep.get(i);
                for (int b = 0; b < blocks; b++) {
                    src.get(((r * blocks + b) * width + width - newWidth) * dim, out, ((i * blocks + b) * newWidth) * dim,
                            newWidth * dim);
                }
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
        List<OnnxTensor> built = new ArrayList<>(layout.tensors());
        for (float[] d : data) built.add(Tensors.floats(env, d, layout.shape(rows, newWidth)));
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
