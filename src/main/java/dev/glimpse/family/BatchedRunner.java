package dev.glimpse.family;

import dev.glimpse.engine.ModelRunner;
import dev.glimpse.engine.Sequence;
import dev.glimpse.runtime.BatchCache;
import dev.glimpse.runtime.KvCache;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * What every family's runner shares: which sequence holds which row of the decode {@link BatchCache}, joining and leaving
 * it, and the bytes held by private prefill caches. A subclass prepares prompts, runs prefill chunks through
 * {@link #countPrefill} and decodes with {@link #lastTokens} / {@link #split}. Sequences keep a {@link PrefillState} as their
 * runner state until they join. Engine thread only.
 */
public abstract class BatchedRunner implements ModelRunner, AutoCloseable {

    /** Runner state of a sequence while it prefills: at least its private cache. */
    public interface PrefillState {
        KvCache cache();
    }

    private final BatchCache batch;
    /** Sequences in batch-row order. */
    private final List<Sequence> rows = new ArrayList<>();
    private long prefillBytes;

    protected BatchedRunner(BatchCache batch) {
        this.batch = batch;
    }

    protected BatchCache batchCache() {
        return batch;
    }

    /** Runs one prefill chunk through {@code step}, counting what it adds to the sequence's private cache. */
    protected <T> T countPrefill(KvCache cache, java.util.function.Supplier<T> step) {
        long before = cache.bytes();
        T out = step.get();
        prefillBytes += cache.bytes() - before;
        return out;
    }

    /** Moves a fully prefilled sequence's cache into a new last row; its private cache is freed. */
    @Override
    public final void join(Sequence s) {
        KvCache cache = ((PrefillState) s.runnerState()).cache();
        batch.join(cache);
        prefillBytes -= cache.bytes();
        cache.close();
        s.runnerState(null);
        rows.add(s);
    }

    /** Frees the private caches of sequences still prefilling and drops the rows of those in the batch. */
    @Override
    public final void leave(List<Sequence> gone) {
        List<Integer> drop = new ArrayList<>();
        for (Sequence s : gone) {
            if (s.runnerState() instanceof PrefillState st) {
                if (st.cache() != null) {
                    prefillBytes -= st.cache().bytes();
                    st.cache().close();
                }
                s.runnerState(null);
            }
            int r = indexOf(s);
            if (r >= 0) drop.add(r);
        }
        if (drop.isEmpty()) return;
        drop.sort(null);
        batch.remove(drop);
        for (int i = drop.size() - 1; i >= 0; i--) rows.remove((int) drop.get(i));
    }

    private int indexOf(Sequence s) {
        for (int i = 0; i < rows.size(); i++) if (rows.get(i) == s) return i;
        return -1;
    }

    /** Each row's last sampled token, in row order; checks that {@code order} is exactly the batch. */
    protected long[] lastTokens(List<Sequence> order) {
        if (order.size() != rows.size()) {
            throw new IllegalStateException("decode batch of " + order.size() + " but " + rows.size() + " rows in the cache");
        }
        long[] last = new long[rows.size()];
        for (int r = 0; r < rows.size(); r++) last[r] = rows.get(r).lastToken();
        return last;
    }

    /** Splits (rows, vocab) logits into one private row per sequence of {@code order}. */
    protected float[][] split(float[] logits, List<Sequence> order) {
        int vocab = logits.length / rows.size();
        Map<Sequence, Integer> rowOf = new IdentityHashMap<>();
        for (int r = 0; r < rows.size(); r++) rowOf.put(rows.get(r), r);
        float[][] out = new float[order.size()][];
        for (int i = 0; i < order.size(); i++) {
            Integer r = rowOf.get(order.get(i));
            if (r == null) throw new IllegalStateException("sequence " + order.get(i).request().id() + " is not in the batch");
            out[i] = Arrays.copyOfRange(logits, r * vocab, (r + 1) * vocab);
        }
        return out;
    }

    /** Bytes held by the batch cache (padding included) and by private prefill caches. */
    @Override
    public final long cacheBytesInUse() {
        return batch.bytes() + prefillBytes;
    }

    @Override
    public void close() {
        batch.close();
    }
}
