package dev.glimpse.family.chameleon;

import dev.glimpse.engine.PreparedImage;

/** A Chameleon image ready for the VQ-GAN encoder: pixel_values (3, R, R), its cache key and its token count (g*g). */
record ChameleonImage(float[] pixels, String key, int tokens) implements PreparedImage {}
