package dev.glimpse.image;

import dev.glimpse.error.GlimpseException;

/**
 * Upper bounds on what a client may send as one image. They are checked against the encoded size and against the
 * dimensions the header claims, before any pixel is decoded, so a small file claiming a huge canvas (a decompression
 * bomb) is refused without allocating its pixels.
 *
 * @param maxBytes  largest encoded image, in bytes
 * @param maxPixels largest width * height
 * @param maxSide   largest width or height
 */
public record ImageLimits(long maxBytes, long maxPixels, int maxSide) {

    /** 20 MiB, 40 megapixels, 16384 per side. */
    public static final ImageLimits DEFAULT = new ImageLimits(20L << 20, 40_000_000L, 16_384);

    public ImageLimits {
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("maxBytes must be > 0, got " + maxBytes);
        }
        if (maxPixels <= 0) {
            throw new IllegalArgumentException("maxPixels must be > 0, got " + maxPixels);
        }
        if (maxSide <= 0) {
            throw new IllegalArgumentException("maxSide must be > 0, got " + maxSide);
        }
        // width*height*3 bytes of RGB must fit one Java array.
        if (maxPixels > Integer.MAX_VALUE / 3) {
            throw new IllegalArgumentException("maxPixels must be <= " + Integer.MAX_VALUE / 3 + ", got " + maxPixels);
        }
    }

    /** 413 if the encoded image is larger than {@link #maxBytes}. */
    public void requireBytesWithin(long length) {
        if (length > maxBytes) {
            throw GlimpseException.tooLarge("image_too_large", "messages",
                    "image is " + length + " bytes, the limit is " + maxBytes);
        }
    }

    /** 413 if width x height exceeds {@link #maxSide} or {@link #maxPixels}. */
    public void requireDimensionsWithin(long width, long height) {
        if (width > maxSide || height > maxSide) {
            throw GlimpseException.tooLarge("image_too_large", "messages",
                    "image is " + width + "x" + height + ", the largest side allowed is " + maxSide);
        }
        if (width * height > maxPixels) {
            throw GlimpseException.tooLarge("image_too_large", "messages",
                    "image is " + width + "x" + height + " = " + width * height + " pixels, the limit is " + maxPixels);
        }
    }
}
