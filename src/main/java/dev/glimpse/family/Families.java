package dev.glimpse.family;

import dev.glimpse.card.ModelCard;
import dev.glimpse.engine.ModelFamily;
import dev.glimpse.engine.VisionCache;
import dev.glimpse.family.chameleon.ChameleonFamily;
import dev.glimpse.family.kimivl.KimiVlFamily;
import dev.glimpse.runtime.OrtRuntime;

import java.nio.file.Path;

/** The one place that maps a card's family name to its implementation (a {@link dev.glimpse.engine.ServedModel.FamilyLoader}). */
public final class Families {
    private Families() {}

    public static ModelFamily load(ModelCard card, OrtRuntime runtime, Path graphCacheDir, VisionCache visionCache) {
        return switch (card.family()) {
            case ModelCard.KIMI_VL -> new KimiVlFamily(card, runtime, graphCacheDir, visionCache);
            case ModelCard.CHAMELEON -> new ChameleonFamily(card, runtime, graphCacheDir, visionCache);
            default -> throw new IllegalArgumentException("model family '" + card.family() + "' is not supported; valid: "
                    + ModelCard.FAMILIES);
        };
    }
}
