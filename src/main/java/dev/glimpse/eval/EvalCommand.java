package dev.glimpse.eval;

import dev.glimpse.card.ModelCard;
import dev.glimpse.card.ModelCardLoader;
import dev.glimpse.cli.CommandLineOptions;
import dev.glimpse.engine.SamplingParams;
import dev.glimpse.engine.ServedModel;
import dev.glimpse.family.Families;
import dev.glimpse.runtime.OrtRuntime;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code java -jar glimpse.jar eval}: a model card scored through the serving path, without the server.
 * <ul>
 *   <li>{@code eval --model NAME [--set DIR] [--stride N]}: exact-match accuracy per task on a held-out ShapesWorld set
 *   ({@code <card>/eval/} unless --set is given; --stride N takes every Nth image);</li>
 *   <li>{@code eval --model NAME --generate [--prompts FILE] [--seed N] [--save DIR] [--temperature T] [--top-p P]}:
 *   drawing accuracy on held-out prompts ({@code <card>/eval/generation.jsonl} unless --prompts is given), sampled with
 *   the card's default_image_sampling unless overridden, scored by the ShapesWorld scene checker.</li>
 * </ul>
 */
public final class EvalCommand {

    static final String USAGE = """
            usage: java -jar glimpse.jar eval [--model NAME] [--model-dir DIR] [--data-dir DIR] [--set DIR] [--stride N]
                   java -jar glimpse.jar eval [--model NAME] [--model-dir DIR] [--data-dir DIR] --generate [--prompts FILE]
                                              [--seed N] [--save DIR] [--temperature T] [--top-p P]
            """;

    private EvalCommand() {}

    public static int main(String[] args, PrintStream out, PrintStream err) throws Exception {
        Map<String, String> declared = new LinkedHashMap<>();
        declared.put("--model", "tiny-kimi-vl");
        declared.put("--model-dir", "model-cards");
        declared.put("--data-dir", "data");
        declared.put("--stride", "1");
        declared.put("--seed", "1");
        for (String optional : List.of("--set", "--prompts", "--save", "--temperature", "--top-p")) declared.put(optional, null);
        CommandLineOptions o;
        int stride;
        long seed;
        try {
            o = CommandLineOptions.parse(args, declared, Set.of("--generate"));
            stride = o.positiveInt("--stride");
            seed = o.longValue("--seed");
        } catch (IllegalArgumentException e) {
            if (!e.getMessage().isEmpty()) err.println("eval: " + e.getMessage());
            err.print(USAGE);
            return 2;
        }
        Path cardDir = Path.of(o.get("--model-dir")).resolve(o.get("--model"));
        ModelCard card = ModelCardLoader.load(cardDir);
        try (ServedModel model = ServedModel.standalone(card, Families::load, new OrtRuntime("cpu", 0),
                Path.of(o.get("--data-dir")).resolve("graphs"))) {
            long t0 = System.nanoTime();
            if (o.flag("--generate")) {
                Path prompts = o.has("--prompts") ? Path.of(o.get("--prompts")) : cardDir.resolve("eval/generation.jsonl");
                ModelCard.ImageSampling d = card.imageDefaults();
                SamplingParams sampling = new SamplingParams(o.has("--temperature") ? o.number("--temperature") : d.temperature(),
                        o.has("--top-p") ? o.number("--top-p") : d.topP(), d.topK(), 1, null, List.of());
                GenerationEval.Report report = GenerationEval.run(model, GenerationEval.load(prompts), sampling, seed,
                        o.has("--save") ? Path.of(o.get("--save")) : null, out);
                out.printf("%s on %s, temperature %s top_p %s (%.1f s)%n", card.name(), prompts, sampling.temperature(),
                        sampling.topP(), (System.nanoTime() - t0) / 1e9);
                report.print(out);
                report.misses().stream().limit(10).forEach(f -> out.println("  miss: " + f));
                return 0;
            }
            Path set = o.has("--set") ? Path.of(o.get("--set")) : cardDir.resolve("eval");
            ShapesWorldEval.Report report = ShapesWorldEval.run(model, set, stride, out);
            out.printf("%s on %s (%.1f s)%n", card.name(), set, (System.nanoTime() - t0) / 1e9);
            report.print(out);
            report.failures().stream().limit(10).forEach(f -> out.println("  miss: " + f));
        }
        return 0;
    }
}
