package dev.glimpse.image;

/**
 * One image ready for the MoonViT encoder.
 *
 * @param pixelValues (L, 3, p, p) float32, L = gridH * gridW patches in row-major order over the patch grid; channel
 *                    order R,G,B; already normalised. Owned by this record: the runtime copies it into a tensor.
 * @param gridH       patch rows (H / p); a multiple of mergeH
 * @param gridW       patch columns (W / p); a multiple of mergeW
 */
public record PixelPatches(float[] pixelValues, int gridH, int gridW, int patchSize, int mergeH, int mergeW) {

    public PixelPatches {
        if (gridH <= 0 || gridW <= 0 || patchSize <= 0 || mergeH <= 0 || mergeW <= 0) {
            throw new IllegalArgumentException("grid, patch and merge sizes must be positive");
        }
        if (gridH % mergeH != 0 || gridW % mergeW != 0) {
            throw new IllegalArgumentException("grid " + gridH + "x" + gridW + " is not a multiple of the merge kernel "
                    + mergeH + "x" + mergeW);
        }
        if (pixelValues == null || (long) pixelValues.length != (long) gridH * gridW * 3 * patchSize * patchSize) {
            throw new IllegalArgumentException("pixelValues must hold gridH*gridW*3*p*p values");
        }
    }

    /** L, the number of ViT patches (rows of pixel_values). */
    public int patches() {
        return gridH * gridW;
    }

    /** LLM tokens this image becomes: one per merge window, (gridH * gridW) / (mergeH * mergeW). */
    public int tokens() {
        return gridH * gridW / (mergeH * mergeW);
    }
}
