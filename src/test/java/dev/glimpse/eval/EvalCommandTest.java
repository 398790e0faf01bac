package dev.glimpse.eval;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** The eval subcommand as a user runs it: options, the drawing eval end to end on the random-weight Chameleon card. */
class EvalCommandTest {

    @TempDir
    Path tmp;

    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    final ByteArrayOutputStream err = new ByteArrayOutputStream();

    int run(String... args) throws Exception {
        return EvalCommand.main(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @Test
    void aMistypedOptionIsNamedAboveTheUsage() throws Exception {
        assertEquals(2, run("--stirde", "2"));
        String e = err.toString(StandardCharsets.UTF_8);
        assertTrue(e.startsWith("eval: unknown option --stirde"), e);
        assertTrue(e.contains("usage: java -jar glimpse.jar eval"), e);
        assertEquals(2, run("--stride", "0"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--stride must be a positive integer, got '0'"));
    }

    @Test
    void generateDrawsEachPromptScoresItAndSavesThePictures() throws Exception {
        Path prompts = tmp.resolve("prompts.jsonl");
        Files.writeString(prompts, """
                {"prompt": "Draw a red circle.", "shapes": ["red circle"]}
                {"prompt": "Draw a blue square and a green triangle.", "shapes": ["blue square", "green triangle"]}
                """);
        Path saved = tmp.resolve("drawn");
        assertEquals(0, run("--model-dir", "src/test/resources/model-cards", "--model", "chameleon-random", "--data-dir",
                "target/test-data", "--generate", "--prompts", prompts.toString(), "--save", saved.toString(),
                "--temperature", "0.7"), err.toString(StandardCharsets.UTF_8));
        String o = out.toString(StandardCharsets.UTF_8);
        assertTrue(o.contains("chameleon-random on " + prompts + ", temperature 0.7 top_p 0.9"), o);
        // Random weights draw noise: nothing matches, and the report says so per number of shapes.
        assertTrue(o.contains("generation: 0/2 = 0.0% of prompts"), o);
        assertTrue(o.contains("1 shape: 0/1") && o.contains("2 shapes: 0/1"), o);
        assertTrue(Files.isRegularFile(saved.resolve("gen_000.png")) && Files.isRegularFile(saved.resolve("gen_001.png")));
    }
}
