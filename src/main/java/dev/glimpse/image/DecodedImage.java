package dev.glimpse.image;

/**
 * An 8-bit RGB image in memory.
 *
 * @param rgb (height, width, 3) interleaved R,G,B, row-major, no padding; owned by this record and never modified
 *            after construction (callers must not write into it). Equality is by array reference, as for any record
 *            holding an array.
 */
public record DecodedImage(int width, int height, byte[] rgb) {

    public DecodedImage {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        }
        if (rgb == null || (long) rgb.length != (long) width * height * 3) {
            throw new IllegalArgumentException("rgb must hold width*height*3 = " + (long) width * height * 3
                    + " bytes, got " + (rgb == null ? "null" : rgb.length));
        }
    }

    /** Channel c (0 = R, 1 = G, 2 = B) of pixel (x, y), 0..255. */
    public int channel(int x, int y, int c) {
        return rgb[(y * width + x) * 3 + c] & 0xFF;
    }
}
