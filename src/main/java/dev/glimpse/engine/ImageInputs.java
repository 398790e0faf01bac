package dev.glimpse.engine;

import dev.glimpse.image.DecodedImage;
import dev.glimpse.image.KimiVlPreprocessorConfig;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Content keys for the vision cache. */
final class ImageInputs {
    private ImageInputs() {}

    /**
     * SHA-256 over the decoded RGB pixels, their size and the preprocessing parameters: the same picture sent as PNG or
     * as another encoding of the same pixels hits, and a change of patch size, token limit or normalisation misses.
     */
    static String key(DecodedImage img, KimiVlPreprocessorConfig pre) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(ByteBuffer.allocate(8).putInt(img.width()).putInt(img.height()).array());
            md.update(img.rgb());
            md.update(pre.toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
