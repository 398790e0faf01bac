package dev.glimpse.engine;

/**
 * Receives text as it is generated (on the engine thread). Return false when the client has gone away: the engine then
 * cancels the sequence at the next step boundary and frees its cache.
 */
@FunctionalInterface
public interface TokenSink {
    boolean onText(String delta);

    TokenSink NONE = delta -> true;
}
