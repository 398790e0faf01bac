package dev.glimpse.card;

import java.nio.file.Path;
import java.util.List;

/**
 * A servable model: the machine-readable part of {@code model-cards/<name>/card.json}. The human model card is the
 * README.md beside it.
 *
 * @param name            id clients put in "model"
 * @param family          model family; valid: {@link #FAMILIES}
 * @param checkpoint      checkpoint directory (config.json, *.safetensors, tokenizer files), resolved against the card dir
 * @param graphDtype      dtype of converted graphs; valid: {@link #DTYPES}
 * @param imageTokenLimit patches per image above which images are downscaled (Kimi's in_token_limit)
 * @param maxImages       images per request
 * @param contextLength   prompt + completion tokens per sequence
 * @param defaults        sampling used where the request says nothing
 * @param imageDefaults   image-token sampling of {@code /v1/images/generations} where the request says nothing (models
 *                        that draw)
 * @param stopTokens      special tokens that end generation
 */
public record ModelCard(String name, String family, Path checkpoint, String graphDtype, int imageTokenLimit, int maxImages,
                        int contextLength, DefaultSampling defaults, ImageSampling imageDefaults, List<String> stopTokens,
                        Path cardDir) {

    public static final String KIMI_VL = "kimi-vl";
    public static final String CHAMELEON = "chameleon";
    public static final List<String> FAMILIES = List.of(KIMI_VL, CHAMELEON);
    public static final List<String> DTYPES = dev.glimpse.convert.GraphCache.DTYPES; // what the converters write

    public record DefaultSampling(double temperature, double topP, int topK, int maxTokens) {}

    /** card.json {@code default_image_sampling}; the image's token count is the request's max_tokens. */
    public record ImageSampling(double temperature, double topP, int topK) {
        /** Without the field: temperature 1, nucleus 0.9 (Chameleon's own generation defaults are of this kind). */
        public static final ImageSampling DEFAULT = new ImageSampling(1.0, 0.9, 0);
    }
}
