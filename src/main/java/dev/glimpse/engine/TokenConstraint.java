package dev.glimpse.engine;

/**
 * Which tokens a request may sample at each step (a logits processor), applied by the engine before sampling. A family
 * uses it to keep text answers out of its image-token range and image generation inside it; the engine knows neither.
 */
@FunctionalInterface
public interface TokenConstraint {

    TokenConstraint NONE = (logits, step) -> {};

    /**
     * Sets the logits of disallowed tokens to negative infinity, in place.
     *
     * @param logits (vocab) for the position being sampled; a private copy of this sequence
     * @param step   tokens generated so far by this request
     */
    void apply(float[] logits, int step);

    /** Every id in {@code banned} masked at every step. */
    static TokenConstraint ban(long[] banned) {
        return (logits, step) -> {
            for (long id : banned) logits[(int) id] = Float.NEGATIVE_INFINITY;
        };
    }

    /** Every id outside {@code allowed} (ids in [0, vocabSize)) masked at every step. */
    static TokenConstraint only(long[] allowed, int vocabSize) {
        boolean[] ok = new boolean[vocabSize];
        for (long id : allowed) ok[(int) id] = true;
        return (logits, step) -> {
            for (int i = 0; i < logits.length; i++) if (!ok[i]) logits[i] = Float.NEGATIVE_INFINITY;
        };
    }
}
