package dev.glimpse.text;

import dev.glimpse.error.GlimpseException;

import java.util.List;

/** One chat turn: a role ("system", "user", "assistant") and its content, text and images in order. */
public record ChatMessage(String role, List<ContentPart> parts) {

    public ChatMessage {
        if (role == null) {
            throw GlimpseException.invalid("invalid_role", "role", "a message has no role");
        }
        if (parts == null) {
            throw GlimpseException.invalid("invalid_content", "content", "a message has no content");
        }
        parts = List.copyOf(parts); // also rejects null parts
    }

    /** A text-only message. */
    public static ChatMessage text(String role, String text) {
        return new ChatMessage(role, List.of(new TextPart(text)));
    }
}
