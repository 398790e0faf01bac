package dev.glimpse.engine;

/**
 * The outcome of one request: full text, why it ended, token counts, where the time went, and the generated ids (the
 * stop token included when one ended it), which image generation turns into pixels.
 */
public record GenerationResult(String text, FinishReason finishReason, int promptTokens, int completionTokens,
                               long visionMillis, long prefillMillis, long decodeMillis, int[] tokenIds) {}
