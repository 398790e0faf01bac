package dev.glimpse.engine;

import dev.glimpse.image.DecodedImage;

import java.util.List;

/**
 * The drawing side of a model that writes images as tokens (Chameleon/Anole): how to prompt it, which tokens it may emit
 * while drawing, and how its tokens become pixels. The engine runs such a request like any other.
 */
public interface ImageGenerator {

    /** Sizes the model draws, as "WxH"; the first is the default. */
    List<String> sizes();

    /** The prompt for a text description, ending where the image tokens start. */
    long[] renderPrompt(String prompt);

    /** Tokens one image takes (the request's max_tokens). */
    int imageTokens();

    /** Only image tokens, at every step. */
    TokenConstraint constraint();

    /** Generated image tokens (exactly {@link #imageTokens()}) -> RGB pixels. Thread-safe. */
    DecodedImage render(int[] tokenIds);
}
