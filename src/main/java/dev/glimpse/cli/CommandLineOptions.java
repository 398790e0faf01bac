package dev.glimpse.cli;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

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
        String v = required(name);
        try {
            int n = Integer.parseInt(v.trim());
            if (n > 0) return n;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException(name + " must be a positive integer, got '" + v + "'");
    }

    public int integer(String name) {
        String v = required(name);
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be an integer, got '" + v + "'");
        }
    }

    public long longValue(String name) {
        String v = required(name);
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be an integer, got '" + v + "'");
        }
    }

    public double number(String name) {
        String v = required(name);
        try {
            return Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a number, got '" + v + "'");
        }
    }

    /** A declared name only: asking for an undeclared one is a bug in the command, not in its input. */
    private void check(String name) {
        if (!values.containsKey(name)) throw new IllegalStateException("option " + name + " was not declared");
    }
}
