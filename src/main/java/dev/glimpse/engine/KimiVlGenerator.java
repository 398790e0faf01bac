package dev.glimpse.engine;

import dev.glimpse.image.PixelPatches;
import dev.glimpse.runtime.KimiVlModel;
import dev.glimpse.text.IncrementalDetokenizer;
import dev.glimpse.text.TiktokenTokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.BooleanSupplier;

/**
 * Runs one prepared request to completion: vision graph over all its images in one packed call, embeddings with image
 * features written at the placeholders, prefill, then one decoder step per token through the MLA cache. Not thread-safe;
 * the engine calls it from its single worker thread.
 */
public final class KimiVlGenerator {

    private final KimiVlModel model;
    private final TiktokenTokenizer tokenizer;
    private final Set<Integer> stopTokenIds;
    private final long placeholderId;

    public KimiVlGenerator(KimiVlModel model, TiktokenTokenizer tokenizer, Set<Integer> stopTokenIds) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.stopTokenIds = Set.copyOf(stopTokenIds);
        this.placeholderId = model.config().mediaPlaceholderTokenId();
    }

    public GenerationResult generate(PreparedRequest req, TokenSink sink, BooleanSupplier cancelled) {
        long t0 = System.nanoTime();
        float[] features = encode(req.images());
        long t1 = System.nanoTime();
        int hidden = model.config().text().hidden();
        long[] ids = req.promptIds();
        float[] embeds = model.embed(ids);
        int row = 0;
        int rows = features.length / hidden;
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == placeholderId) {
                if (row >= rows) throw new IllegalStateException("more image placeholders than image features (" + rows + ")");
                System.arraycopy(features, row * hidden, embeds, i * hidden, hidden);
                row++;
            }
        }
        if (row != rows) throw new IllegalStateException("prompt has " + row + " image placeholders for " + rows + " image features");

        Sampler sampler = new Sampler(req.params());
        IncrementalDetokenizer detok = new IncrementalDetokenizer(tokenizer);
        StopStringMatcher stops = new StopStringMatcher(req.params().stop());
        FinishReason reason = FinishReason.LENGTH;
        int generated = 0;
        long t2;
        try (KimiVlModel.KvCache cache = model.newCache()) {
            float[] logits = model.step(cache, embeds, ids.length, 1);
            t2 = System.nanoTime();
            while (true) {
                if (cancelled.getAsBoolean()) {
                    reason = FinishReason.CANCELLED;
                    break;
                }
                int token = sampler.sample(logits);
                generated++;
                if (stopTokenIds.contains(token)) {
                    reason = FinishReason.STOP;
                    break;
                }
                String out = stops.push(detok.push(token));
                if (!out.isEmpty() && !sink.onText(out)) {
                    reason = FinishReason.CANCELLED;
                    break;
                }
                if (stops.stopped()) {
                    reason = FinishReason.STOP;
                    break;
                }
                if (generated >= req.params().maxTokens()) break;
                logits = model.step(cache, model.embed(new long[]{token}), 1, 1);
            }
        }
        if (reason != FinishReason.CANCELLED && !stops.stopped()) {
            String tail = stops.push(detok.flush());
            tail += stops.finish();
            if (!tail.isEmpty()) sink.onText(tail);
        }
        long t3 = System.nanoTime();
        return new GenerationResult(stops.text(), reason, ids.length, generated,
                (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000, (t3 - t2) / 1_000_000);
    }

    private float[] encode(List<PixelPatches> images) {
        if (images.isEmpty()) return new float[0];
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
}
