package dev.glimpse.engine;

import dev.glimpse.image.PixelPatches;
import dev.glimpse.runtime.BatchCache;
import dev.glimpse.runtime.KimiVlModel;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@link ModelRunner} over the Kimi-VL ONNX graphs. Per sequence: prompt embeddings (image features merged) and a private
 * prefill cache; once prefilled, the sequence becomes a row of the shared {@link BatchCache}.
 */
public final class KimiVlRunner implements ModelRunner, AutoCloseable {

    private final KimiVlModel model;
    private final VisionCache visionCache;
    private final BatchCache batch;
    /** Sequences in batch-row order. */
    private final List<Sequence> rows = new ArrayList<>();
    private long prefillBytes;

    /** Per-sequence data while prefilling. */
    private static final class PrefillState {
        float[] embeds; // (prompt, hidden); dropped once prefill is done
        KimiVlModel.KvCache cache;
    }

    public KimiVlRunner(KimiVlModel model, VisionCache visionCache) {
        this.model = model;
        this.visionCache = visionCache;
        this.batch = model.newBatchCache();
    }

    @Override
    public long bytesPerToken() {
        return model.bytesPerToken();
    }

    @Override
    public void prepare(List<Sequence> admitted) {
        int hidden = model.config().text().hidden();
        // 1. Vision: every image not in the cache, across all admitted requests, in one packed encoder call.
        Map<String, PixelPatches> missing = new LinkedHashMap<>();
        Map<String, float[]> found = new java.util.HashMap<>();
        for (Sequence s : admitted) {
            List<String> keys = s.request.imageKeys();
            for (int i = 0; i < keys.size(); i++) {
                String k = keys.get(i);
                if (found.containsKey(k) || missing.containsKey(k)) continue;
                float[] f = visionCache.get(k);
                if (f != null) found.put(k, f);
                else missing.put(k, s.request.images().get(i));
            }
        }
        if (!missing.isEmpty()) {
            List<PixelPatches> images = new ArrayList<>(missing.values());
            float[] all = encode(images);
            int off = 0;
            int i = 0;
            for (String k : missing.keySet()) {
                int n = images.get(i++).tokens() * hidden;
                float[] f = java.util.Arrays.copyOfRange(all, off, off + n);
                off += n;
                visionCache.put(k, f);
                found.put(k, f);
            }
        }
        // 2. Prompt embeddings with image features at the placeholders, in image order.
        long placeholder = model.config().mediaPlaceholderTokenId();
        for (Sequence s : admitted) {
            long[] ids = s.request.promptIds();
            float[] embeds = model.embed(ids);
            List<String> keys = s.request.imageKeys();
            int image = 0;
            int row = 0;
            float[] feats = keys.isEmpty() ? null : found.get(keys.get(0));
            for (int p = 0; p < ids.length; p++) {
                if (ids[p] != placeholder) continue;
                while (feats != null && row * hidden >= feats.length) {
                    image++;
                    row = 0;
                    feats = image < keys.size() ? found.get(keys.get(image)) : null;
                }
                if (feats == null) throw new IllegalStateException("more image placeholders than image features in " + s.request.id());
                System.arraycopy(feats, row * hidden, embeds, p * hidden, hidden);
                row++;
            }
            if (feats != null && (row * hidden != feats.length || image != keys.size() - 1)) {
                throw new IllegalStateException("image placeholders and image features disagree in " + s.request.id());
            }
            PrefillState st = new PrefillState();
            st.embeds = embeds;
            st.cache = model.newCache();
            s.runnerState = st;
        }
    }

    private float[] encode(List<PixelPatches> images) {
        int total = 0;
        for (PixelPatches p : images) total += p.pixelValues().length;
        float[] packed = new float[total];
        List<int[]> grids = new ArrayList<>();
        int off = 0;
        for (PixelPatches p : images) {
            System.arraycopy(p.pixelValues(), 0, packed, off, p.pixelValues().length);
            off += p.pixelValues().length;
            grids.add(new int[]{p.gridH(), p.gridW()});
        }
        return model.encodeImages(packed, grids);
    }

    @Override
    public float[] prefill(Sequence s, int from, int to) {
        PrefillState st = (PrefillState) s.runnerState;
        int hidden = model.config().text().hidden();
        float[] chunk = java.util.Arrays.copyOfRange(st.embeds, from * hidden, to * hidden);
        long before = st.cache.bytes();
        float[] logits = model.step(st.cache, chunk, to - from, 1);
        prefillBytes += st.cache.bytes() - before;
        if (to < s.promptLength()) return null;
        st.embeds = null;
        return logits;
    }

    @Override
    public void join(Sequence s) {
        PrefillState st = (PrefillState) s.runnerState;
        batch.join(st.cache);
        prefillBytes -= st.cache.bytes();
        st.cache.close();
        s.runnerState = null;
        rows.add(s);
    }

    @Override
    public void leave(List<Sequence> gone) {
        List<Integer> drop = new ArrayList<>();
        for (Sequence s : gone) {
            if (s.runnerState instanceof PrefillState st) {
                if (st.cache != null) {
                    prefillBytes -= st.cache.bytes();
                    st.cache.close();
                }
                s.runnerState = null;
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

    @Override
    public float[][] decode(List<Sequence> order) {
        if (order.size() != rows.size()) {
            throw new IllegalStateException("decode batch of " + order.size() + " but " + rows.size() + " rows in the cache");
        }
        long[] last = new long[rows.size()];
        for (int r = 0; r < rows.size(); r++) last[r] = rows.get(r).lastToken;
        float[] logits = model.decodeBatch(batch, model.embedLastTokens(last));
        int vocab = logits.length / rows.size();
        Map<Sequence, Integer> rowOf = new IdentityHashMap<>();
        for (int r = 0; r < rows.size(); r++) rowOf.put(rows.get(r), r);
        float[][] out = new float[order.size()][];
        for (int i = 0; i < order.size(); i++) {
            Integer r = rowOf.get(order.get(i));
            if (r == null) throw new IllegalStateException("sequence " + order.get(i).request.id() + " is not in the batch");
            out[i] = java.util.Arrays.copyOfRange(logits, r * vocab, (r + 1) * vocab);
        }
        return out;
    }

    @Override
    public long cacheBytesInUse() {
        return batch.bytes() + prefillBytes;
    }

    @Override
    public void close() {
        batch.close();
    }
}
