package dev.glimpse.engine;

import dev.glimpse.error.GlimpseException;

import java.util.List;

/**
 * How one request samples. Validated at construction, so an invalid value never reaches the engine.
 *
 * @param temperature 0 means greedy
 * @param topP        nucleus mass in (0, 1]
 * @param topK        0 means no top-k cut
 * @param maxTokens   upper bound on generated tokens (> 0)
 * @param seed        null for a fresh random seed; the same seed and request give the same output
 * @param stop        stop strings (at most 4, none empty); the text ends before the first match
 */
public record SamplingParams(double temperature, double topP, int topK, int maxTokens, Long seed, List<String> stop) {

    public static final int MAX_STOP_STRINGS = 4;

    public SamplingParams {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw GlimpseException.invalid("invalid_value", "temperature", "temperature must be >= 0, got " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw GlimpseException.invalid("invalid_value", "top_p", "top_p must be in (0, 1], got " + topP);
        }
        if (topK < 0) throw GlimpseException.invalid("invalid_value", "top_k", "top_k must be >= 0, got " + topK);
        if (maxTokens <= 0) {
            throw GlimpseException.invalid("invalid_value", "max_tokens", "max_tokens must be > 0, got " + maxTokens);
        }
        stop = stop == null ? List.of() : List.copyOf(stop);
        if (stop.size() > MAX_STOP_STRINGS) {
            throw GlimpseException.invalid("invalid_value", "stop", "at most " + MAX_STOP_STRINGS + " stop strings, got " + stop.size());
        }
        if (stop.stream().anyMatch(String::isEmpty)) {
            throw GlimpseException.invalid("invalid_value", "stop", "stop strings must not be empty");
        }
    }

    public boolean greedy() {
        return temperature == 0;
    }

    public SamplingParams withMaxTokens(int n) {
        return new SamplingParams(temperature, topP, topK, n, seed, stop);
    }

    public SamplingParams withSeed(Long s) {
        return new SamplingParams(temperature, topP, topK, maxTokens, s, stop);
    }
}
