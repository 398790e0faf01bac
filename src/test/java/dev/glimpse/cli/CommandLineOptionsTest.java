package dev.glimpse.cli;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class CommandLineOptionsTest {

    static final Map<String, String> DECLARED = new HashMap<>(Map.of("--model", "tiny-kimi-vl", "--runs", "5"));

    static {
        DECLARED.put("--save", null);
    }

    static CommandLineOptions parse(String... args) {
        return CommandLineOptions.parse(args, DECLARED, Set.of("--generate"));
    }

    static String error(String... args) {
        return assertThrows(IllegalArgumentException.class, () -> {
            CommandLineOptions o = parse(args);
            o.positiveInt("--runs");
            o.required("--save");
        }).getMessage();
    }

    @Test
    void valuesDefaultsAndFlags() {
        CommandLineOptions o = parse("--runs", "9", "--generate", "--save", "out");
        assertEquals(9, o.positiveInt("--runs"));
        assertEquals("tiny-kimi-vl", o.get("--model"));
        assertEquals("out", o.required("--save"));
        assertTrue(o.flag("--generate"));
        CommandLineOptions none = parse();
        assertFalse(none.has("--save"));
        assertFalse(none.flag("--generate"));
        assertEquals(5, none.positiveInt("--runs"));
    }

    @Test
    void mistakesAreNamed() {
        assertEquals("unknown option --rnus", error("--rnus", "3"));
        assertEquals("--runs needs a value", error("--runs"));
        assertEquals("--runs must be a positive integer, got '0'", error("--runs", "0"));
        assertEquals("--runs must be an integer, got 'many'", error("--runs", "many"));
        assertEquals("--save is required", error("--runs", "2"));
        assertEquals("", error("--help"), "help is usage only");
        assertThrows(IllegalStateException.class, () -> parse().get("--undeclared"));
    }
}
