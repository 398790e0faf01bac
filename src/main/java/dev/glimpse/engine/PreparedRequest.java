package dev.glimpse.engine;

import dev.glimpse.image.PixelPatches;

import java.util.List;

/**
 * A request after all CPU-side work that does not need the model (image decode + preprocessing, chat template,
 * tokenization, validation), done off the engine thread so the engine only runs graphs.
 *
 * @param promptIds the full prompt with image placeholders expanded
 * @param images    preprocessed images, in placeholder order
 * @param imageKeys vision-cache key of each image (content hash + preprocessing parameters)
 * @param params    sampling, with max_tokens already clamped to the context
 */
public record PreparedRequest(String id, long[] promptIds, List<PixelPatches> images, List<String> imageKeys,
                              SamplingParams params) {
    public PreparedRequest {
        if (images.size() != imageKeys.size()) throw new IllegalArgumentException("one key per image");
    }
}
