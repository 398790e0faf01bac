package dev.glimpse.family.chameleon;

import dev.glimpse.convert.chameleon.ChameleonVocab;
import dev.glimpse.engine.PreparedImage;
import dev.glimpse.engine.Sequence;
import dev.glimpse.engine.VisionCache;
import dev.glimpse.family.BatchedRunner;
import dev.glimpse.runtime.ChameleonModel;
import dev.glimpse.runtime.KvCache;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@link ModelRunner} over the Chameleon graphs. At admission every image not in the vision cache goes through the VQ-GAN
 * encoder (all of a step's misses in one batched call) and its codes become vocabulary ids, which replace the image's
 * placeholder positions in the prompt; from there an image is just tokens. Each sequence prefills into a private K/V
 * cache, then becomes a row of the shared batch cache ({@link BatchedRunner}).
 */
final class ChameleonRunner extends BatchedRunner {

    private final ChameleonModel model;
    private final ChameleonVocab vocab;
    private final VisionCache visionCache;
    private final long placeholder;
    private static final class PrefillState implements BatchedRunner.PrefillState {
        long[] ids; // the prompt with image tokens in place; dropped once prefill is done
        KvCache cache;

        @Override
        public KvCache cache() {
            return cache;
        }
    }

    ChameleonRunner(ChameleonModel model, ChameleonVocab vocab, VisionCache visionCache, long placeholder) {
        super(model.newBatchCache());
        this.model = model;
        this.vocab = vocab;
        this.visionCache = visionCache;
        this.placeholder = placeholder;
    }

    @Override
    public long bytesPerToken() {
        return model.bytesPerToken();
    }

    @Override
    public void prepare(List<Sequence> admitted) {
        Map<String, long[]> found = new HashMap<>();
        Map<String, PreparedImage> missing = visionCache.resolve(admitted, long[].class, found);
        if (!missing.isEmpty()) {
            int per = ((ChameleonImage) missing.values().iterator().next()).pixels().length;
            float[] packed = new float[per * missing.size()];
            int i = 0;
            for (PreparedImage img : missing.values()) {
                System.arraycopy(((ChameleonImage) img).pixels(), 0, packed, per * i++, per);
            }
            long[] codes = model.encodeImages(packed, missing.size());
            int tokens = codes.length / missing.size();
            i = 0;
            for (String k : missing.keySet()) {
                long[] ids = new long[tokens];
                for (int t = 0; t < tokens; t++) ids[t] = vocab.idOfCode((int) codes[i * tokens + t]);
                i++;
                visionCache.put(k, ids);
                found.put(k, ids);
            }
        }
        for (Sequence s : admitted) {
            long[] ids = s.request().promptIds().clone();
            List<PreparedImage> images = s.request().images();
            int image = 0;
            int t = 0;
            for (int p = 0; p < ids.length; p++) {
                if (ids[p] != placeholder) continue;
                if (image >= images.size()) throw new IllegalStateException("more image positions than images in " + s.request().id());
                long[] imageIds = found.get(images.get(image).key());
                ids[p] = imageIds[t++];
                if (t == imageIds.length) {
                    image++;
                    t = 0;
                }
            }
            if (image != images.size() || t != 0) {
                throw new IllegalStateException("image positions and image tokens disagree in " + s.request().id());
            }
            PrefillState st = new PrefillState();
            st.ids = ids;
            st.cache = model.newCache();
            s.runnerState(st);
        }
    }

    @Override
    public float[] prefill(Sequence s, int from, int to) {
        PrefillState st = (PrefillState) s.runnerState();
        float[] logits = countPrefill(st.cache, () -> model.step(st.cache, Arrays.copyOfRange(st.ids, from, to), 1));
        if (to < s.promptLength()) return null;
        st.ids = null;
        return logits;
    }

    @Override
    public float[][] decode(List<Sequence> order) {
        return split(model.decodeBatch(batchCache(), lastTokens(order)), order);
    }
}
