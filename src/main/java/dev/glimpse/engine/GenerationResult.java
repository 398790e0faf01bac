package dev.glimpse.engine;

/** The outcome of one request: full text, why it ended, token counts, and where the time went. */
public record GenerationResult(String text, FinishReason finishReason, int promptTokens, int completionTokens,
                               long visionMillis, long prefillMillis, long decodeMillis) {}
