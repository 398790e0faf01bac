package dev.glimpse.text;

import dev.glimpse.error.GlimpseException;

/** Text content. It is always ordinary text: special-token names in it are not special. */
public record TextPart(String text) implements ContentPart {

    public TextPart {
        if (text == null) {
            throw GlimpseException.invalid("invalid_content", "content", "a text part has no text");
        }
    }
}
