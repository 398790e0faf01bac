package dev.glimpse.text;

import dev.glimpse.error.GlimpseException;

/**
 * An image's place in the content. {@code index} is the image's position among all images of the request (0, 1, ...):
 * images are referenced in order, and the template checks that, so a part can never be paired with another image's
 * token count.
 */
public record ImagePart(int index) implements ContentPart {

    public ImagePart {
        if (index < 0) {
            throw GlimpseException.invalid("invalid_content", "content", "image index " + index + " is negative");
        }
    }
}
