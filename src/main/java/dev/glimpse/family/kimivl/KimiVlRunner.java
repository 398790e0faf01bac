package dev.glimpse.family.kimivl;

import dev.glimpse.engine.PreparedImage;
import dev.glimpse.engine.Sequence;
import dev.glimpse.engine.VisionCache;
import dev.glimpse.family.BatchedRunner;
import dev.glimpse.image.PixelPatches;
import dev.glimpse.runtime.KimiVlModel;
import dev.glimpse.runtime.KvCache;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@link ModelRunner} over the Kimi-VL ONNX graphs. Per sequence: prompt embeddings (image features merged) and a private
 * prefill cache; once prefilled, the sequence becomes a row of the shared batch cache ({@link BatchedRunner}).
 */
final class KimiVlRunner extends BatchedRunner {

    private final KimiVlModel model;
    private final VisionCache visionCache;
    /** Per-sequence data while prefilling. */
    private static final class PrefillState implements BatchedRunner.PrefillState {
        float[] embeds; // (prompt, hidden); dropped once prefill is done
        KvCache cache;

        @Override
        public KvCache cache() {
            return cache;
        }
    }

    KimiVlRunner(KimiVlModel model, VisionCache visionCache) {
        super(model.newBatchCache());
        this.model = model;
        this.visionCache = visionCache;
    }

    @Override
    public long bytesPerToken() {
        return model.bytesPerToken();
    }

    @Override
    public void prepare(List<Sequence> admitted) {
        int hidden = model.config().text().hidden();
        // 1. Vision: every image not in the cache, across all admitted requests, in one packed encoder call.
        Map<String, float[]> found = new java.util.HashMap<>();
        Map<String, PreparedImage> missing = visionCache.resolve(admitted, float[].class, found);
        if (!missing.isEmpty()) {
            List<PixelPatches> images = new ArrayList<>(missing.size());
            for (PreparedImage image : missing.values()) images.add(((KimiVlImage) image).patches());
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
            long[] ids = s.request().promptIds();
            float[] embeds = model.embed(ids);
            List<String> keys = s.request().images().stream().map(PreparedImage::key).toList();
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
                if (feats == null) throw new IllegalStateException("more image placeholders than image features in " + s.request().id());
                System.arraycopy(feats, row * hidden, embeds, p * hidden, hidden);
                row++;
            }
            if (feats != null && (row * hidden != feats.length || image != keys.size() - 1)) {
                throw new IllegalStateException("image placeholders and image features disagree in " + s.request().id());
            }
            PrefillState st = new PrefillState();
            st.embeds = embeds;
            st.cache = model.newCache();
            s.runnerState(st);
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
        PrefillState st = (PrefillState) s.runnerState();
        int hidden = model.config().text().hidden();
        float[] chunk = java.util.Arrays.copyOfRange(st.embeds, from * hidden, to * hidden);
        float[] logits = countPrefill(st.cache, () -> model.step(st.cache, chunk, to - from, 1));
        if (to < s.promptLength()) return null;
        st.embeds = null;
        return logits;
    }

    @Override
    public float[][] decode(List<Sequence> order) {
        long[] last = lastTokens(order);
        return split(model.decodeBatch(batchCache(), model.embedLastTokens(last)), order);
    }
}
