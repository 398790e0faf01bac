package dev.glimpse.text;

/**
 * What the engine needs of a tokenizer to stream text: the bytes each generated id stands for. Every family's tokenizer
 * provides it (tiktoken ranks; a byte-level tokenizer.json vocabulary), so the engine knows no tokenizer format.
 */
public interface TokenBytes {

    /** The bytes of one token (not a copy: callers must not modify it); a special token's bytes are its name. */
    byte[] bytesOf(int id);

    /** Control tokens (chat markers, image tokens) whose bytes are not text for the client. */
    boolean isSpecial(int id);
}
