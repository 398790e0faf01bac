package dev.glimpse.engine;

import dev.glimpse.image.ImageLimits;
import dev.glimpse.text.ChatMessage;
import dev.glimpse.text.TokenBytes;

import java.util.List;

/**
 * Everything family-specific about serving one checkpoint (tokenizer, chat template, image preprocessing, graphs and the
 * runner over them), behind one interface, so {@link ServedModel}, the engine and the API stay family-generic. Owns the
 * model's native resources.
 */
public interface ModelFamily extends AutoCloseable {

    /** Byte content of every token id, for streaming text. */
    TokenBytes tokenBytes();

    /** Id of a special token the card names in stop_tokens; IllegalArgumentException naming it when the vocabulary lacks it. */
    int specialTokenId(String name);

    /**
     * Decodes and preprocesses one image and computes its cache key. Runs on the image workers, concurrently.
     *
     * @throws dev.glimpse.error.GlimpseException (4xx) for an undecodable or oversized image
     */
    PreparedImage prepareImage(byte[] encoded, ImageLimits limits);

    /** The chat prompt with a generation prompt for the assistant, images in order at their places. */
    long[] renderChat(List<ChatMessage> messages, List<PreparedImage> images);

    /** Tokens a text answer may not contain (Chameleon: its image tokens); {@link TokenConstraint#NONE} for most. */
    TokenConstraint textConstraint();

    /** The runner the engine drives; created once, owned by this family. */
    ModelRunner runner();

    /** The drawing side, or null when the model cannot generate images. */
    ImageGenerator imageGenerator();

    /** A short description for the start-up log (graph directory, device). */
    String describe();
}
