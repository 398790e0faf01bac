package dev.glimpse.runtime;

import java.util.List;

/**
 * The KV-cache tensors a decoder graph reads and writes, so one cache implementation serves every family. Each tensor is
 * (B, T, dim) when {@code heads} is 0 (the Kimi-VL MLA latent, one tensor per layer) or (B, heads, T, dim) otherwise
 * (Chameleon: a key and a value tensor per layer). The graph takes {@code pastNames[i]} and returns the same tensor one
 * step longer as {@code presentNames[i]}.
 */
public record CacheLayout(List<String> pastNames, List<String> presentNames, int heads, int dim) {

    public CacheLayout {
        pastNames = List.copyOf(pastNames);
        presentNames = List.copyOf(presentNames);
        if (pastNames.size() != presentNames.size()) throw new IllegalArgumentException("one present name per past name");
        if (heads < 0 || dim <= 0) throw new IllegalArgumentException("heads >= 0 and dim > 0");
    }

    public int tensors() {
        return pastNames.size();
    }

    /** Head blocks per row: 1 for the (B, T, dim) layout. */
    int blocks() {
        return Math.max(1, heads);
    }

    long[] shape(int rows, int width) {
        return heads == 0 ? new long[] {rows, width, dim} : new long[] {rows, heads, width, dim};
    }

    /** Bytes one token costs across all tensors (fp32). */
    public long bytesPerToken() {
        return (long) tensors() * blocks() * dim * Float.BYTES;
    }
}
