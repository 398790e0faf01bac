package dev.glimpse.image;

/** The encodings Glimpse accepts; anything else is refused by {@link ImageHeader#read(byte[])}. */
public enum ImageFormat {
    PNG, JPEG, WEBP, BMP, GIF
}
