package dev.glimpse.cli;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * {@code --name value} options and bare {@code --flag}s of the jar's subcommands (caption, bench, eval). Every option
 * has to be declared: a typo is an error, not a silently ignored word. Errors are {@link IllegalArgumentException}s whose
 * message the command prints above its usage; {@code -h} / {@code --help} throws one with an empty message (usage only).
 */
public final class CommandLineOptions {

    private final Map<String, String> values;
    private final Set<String> flagsSet;

    private CommandLineOptions(Map<String, String> values, Set<String> flagsSet) {
        this.values = values;
        this.flagsSet = flagsSet;
    }

    /**
     * @param defaults every option that takes a value, with its default; a null default means "no value unless given"
     *                 (see {@link #has} and {@link #required})
     * @param flags    options without a value
     */
    public static CommandLineOptions parse(String[] args, Map<String, String> defaults, Set<String> flags) {
        Map<String, String> values = new LinkedHashMap<>(defaults);
        Set<String> set = new LinkedHashSet<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h") || a.equals("--help")) throw new IllegalArgumentException("");
            if (flags.contains(a)) {
                set.add(a);
            } else if (defaults.containsKey(a)) {
                if (i + 1 >= args.length) throw new IllegalArgumentException(a + " needs a value");
                values.put(a, args[++i]);
            } else {
                throw new IllegalArgumentException("unknown option " + a);
            }
        }
        return new CommandLineOptions(values, set);
    }

    /** The value, or its default (null when it has none and was not given). */
    public String get(String name) {
        check(name);
        return values.get(name);
    }

    public boolean has(String name) {
        return get(name) != null;
    }

    public String required(String name) {
        String v = get(name);
        if (v == null) throw new IllegalArgumentException(name + " is required");
        return v;
    }

    public boolean flag(String name) {
        return flagsSet.contains(name);
    }

    public int positiveInt(String name) {
        int n = parsed(name, Integer::parseInt, "an integer");
        if (n <= 0) throw new IllegalArgumentException(name + " must be a positive integer, got '" + get(name) + "'");
        return n;
    }

    public int integer(String name) {
        return parsed(name, Integer::parseInt, "an integer");
    }

    public long longValue(String name) {
        return parsed(name, Long::parseLong, "an integer");
    }

    public double number(String name) {
        return parsed(name, Double::parseDouble, "a number");
    }

    private <T> T parsed(String name, Function<String, T> parse, String what) {
        String v = required(name);
        try {
            return parse.apply(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be " + what + ", got '" + v + "'");
        }
    }

    /** A declared name only: asking for an undeclared one is a bug in the command, not in its input. */
    private void check(String name) {
        if (!values.containsKey(name)) throw new IllegalStateException("option " + name + " was not declared");
    }
}
