package dev.glimpse.family.kimivl;

import dev.glimpse.engine.PreparedImage;
import dev.glimpse.image.PixelPatches;

/** A Kimi-VL image ready for the vision tower: its patches and its vision-cache key. */
record KimiVlImage(PixelPatches patches, String key) implements PreparedImage {
    @Override
    public int tokens() {
        return patches.tokens();
    }
}
