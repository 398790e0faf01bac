package dev.glimpse.engine;

import java.util.List;

/**
 * A request after all CPU-side work that does not need the model (image decode + preprocessing, chat template,
 * tokenization, validation), done off the engine thread so the engine only runs graphs.
 *
 * @param promptIds  the full prompt; positions an image fills hold the family's image placeholder
 * @param images     preprocessed images, in prompt order
 * @param params     sampling, with max_tokens already clamped to the context
 * @param constraint tokens allowed per step (e.g. no image tokens in a text answer)
 */
public record PreparedRequest(String id, long[] promptIds, List<PreparedImage> images, SamplingParams params,
                              TokenConstraint constraint) {

    public PreparedRequest {
        images = List.copyOf(images);
        if (constraint == null) constraint = TokenConstraint.NONE;
    }

    public PreparedRequest(String id, long[] promptIds, List<PreparedImage> images, SamplingParams params) {
        this(id, promptIds, images, params, TokenConstraint.NONE);
    }
}
