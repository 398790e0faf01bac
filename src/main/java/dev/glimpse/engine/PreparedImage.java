package dev.glimpse.engine;

/**
 * One image of a request after family-specific preprocessing, done on the image workers. The engine sees only its cache
 * key and how many prompt positions it fills; the family's {@link ModelRunner} knows the concrete type.
 */
public interface PreparedImage {

    /** Vision-cache key: content hash of the decoded pixels plus every preprocessing parameter. */
    String key();

    /** Prompt positions the image fills (placeholders for Kimi-VL features, VQ tokens for Chameleon). */
    int tokens();
}
