package dev.glimpse.text;

import java.util.regex.Pattern;

/**
 * Kimi's pre-tokenizer: the regex that cuts text into pieces before byte-pair encoding (model-families 1.6).
 *
 * <p>The original is a Rust fancy-regex (tiktoken). Two translations keep java.util.regex equivalent to it:
 * <ul>
 *   <li>{@code \p{Han}} is written {@code \p{IsHan}}: Java reads a bare {@code Han} as nothing valid; {@code IsHan} is the
 *       Script property, which is also what the Rust regex crate resolves a bare script name to (not Script_Extensions).</li>
 *   <li>{@link Pattern#UNICODE_CHARACTER_CLASS}: Rust's {@code \s} is Unicode White_Space and its {@code (?i)} is
 *       Unicode-aware; without the flag Java's {@code \s} is ASCII only, so a no-break space would split differently.</li>
 * </ul>
 * Java's {@code [A B&&[^C]]} is (A or B) and not C, as in Rust; {@code KimiPreTokenizerTest} checks the classes per code point.
 */
public final class KimiPreTokenizer {

    /** Verbatim from model-families 1.6, with \p{Han} written as \p{IsHan}. */
    public static final String REGEX = String.join("|",
            "[\\p{IsHan}]+",
            "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}&&[^\\p{IsHan}]]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}&&[^\\p{IsHan}]]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
            "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}&&[^\\p{IsHan}]]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}&&[^\\p{IsHan}]]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
            "\\p{N}{1,3}",
            " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*",
            "\\s*[\\r\\n]+",
            "\\s+(?!\\S)",
            "\\s+");

    /** Compiled once; Pattern is immutable and thread-safe (each caller makes its own Matcher). */
    public static final Pattern PATTERN = Pattern.compile(REGEX, Pattern.UNICODE_CHARACTER_CLASS);

    private KimiPreTokenizer() {
    }
}
