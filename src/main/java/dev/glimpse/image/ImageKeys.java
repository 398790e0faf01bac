package dev.glimpse.image;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Content keys for the vision cache. */
public final class ImageKeys {
    private ImageKeys() {}

    /**
     * SHA-256 over the decoded RGB pixels, their size and a description of every preprocessing parameter: the same picture
     * sent as PNG or as another encoding of the same pixels hits, and a change of patch size, token limit, resolution or
     * normalisation misses.
     */
    public static String key(DecodedImage img, String preprocessing) {
        MessageDigest md = sha256();
        md.update(ByteBuffer.allocate(8).putInt(img.width()).putInt(img.height()).array());
        md.update(img.rgb());
        md.update(preprocessing.getBytes(StandardCharsets.UTF_8));
        return HexFormat.of().formatHex(md.digest());
    }

    /**
     * SHA-256 of an upload's encoded bytes (PNG, JPEG, ...), before any decoding: the fast path of the vision cache for a
     * file sent again. Byte-identical files only; another encoding of the same pixels is found by {@link #key} instead.
     */
    public static String encodedKey(byte[] encoded) {
        return HexFormat.of().formatHex(sha256().digest(encoded));
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
