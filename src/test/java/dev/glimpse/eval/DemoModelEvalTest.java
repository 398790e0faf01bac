package dev.glimpse.eval;

import dev.glimpse.card.ModelCard;
import dev.glimpse.card.ModelCardLoader;
import dev.glimpse.engine.ServedModel;
import dev.glimpse.runtime.OrtRuntime;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bundled demo checkpoint sees: a slice of its committed held-out ShapesWorld set (every 2nd image, all its questions,
 * extreme aspect ratios included) through the full serving path (decode, preprocess, template, engine, greedy), with
 * per-task exact-match floors at the committed checkpoint's measured accuracy minus a little slack (see
 * model-cards/tiny-kimi-vl/README.md), so a serving change that costs answers fails here. Colour (1 in 7) and count
 * (1 in 4) are far above chance; shape and leftmost are near it and only guard against broken output.
 */
class DemoModelEvalTest {

    static final Path CARD = Path.of("model-cards/tiny-kimi-vl");
    static final int STRIDE = 2;

    /**
     * Per task: the accuracy this slice (every 2nd image: ~270 questions) must reach. The committed checkpoint (step 800
     * of the second run, see the model card) measured colour 22/38, count 34/43, count_kind 20/38, ocr 23/40,
     * leftmost 7/41, shape 12/34, caption 0/38 here; the floors leave about two answers of slack. The targets
     * (95/95/90/85/85/85/60%) are not met yet, so they are not what this asserts. Caption has no floor: no caption is
     * exactly right yet (0%), and a floor of 0 could not fail.
     */
    static final Map<String, Double> FLOORS = Map.of(
            "colour", 0.50, "count", 0.72, "count_kind", 0.45, "ocr", 0.50, "leftmost", 0.10, "shape", 0.28);

    @Test
    void theDemoModelAnswersHeldOutShapesWorldQuestions() {
        ModelCard card = ModelCardLoader.load(CARD);
        try (ServedModel model = ServedModel.standalone(card, dev.glimpse.family.Families::load, new OrtRuntime("cpu", 0), Path.of("target/test-data/graphs"))) {
            ShapesWorldEval.Report r = ShapesWorldEval.run(model, CARD.resolve("eval"), STRIDE, null);
            r.print(System.out);
            StringBuilder misses = new StringBuilder();
            for (Map.Entry<String, Double> f : FLOORS.entrySet()) {
                double acc = r.accuracy(f.getKey());
                if (!(acc >= f.getValue())) {
                    misses.append(String.format("%s %.3f < %.3f; ", f.getKey(), acc, f.getValue()));
                }
            }
            assertTrue(misses.isEmpty(), "below the floor: " + misses + " first misses: " + r.failures());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
