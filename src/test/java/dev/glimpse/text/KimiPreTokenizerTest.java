package dev.glimpse.text;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

class KimiPreTokenizerTest {

    private static final String UPPERISH = "[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}&&[^\\p{IsHan}]]";
    private static final String LOWERISH = "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}&&[^\\p{IsHan}]]";
    private static final Set<Integer> WHITE_SPACE = Set.of(0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680,
            0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A,
            0x2028, 0x2029, 0x202F, 0x205F, 0x3000);

    static List<String> split(String text) {
        List<String> pieces = new ArrayList<>();
        Matcher m = KimiPreTokenizer.PATTERN.matcher(text);
        while (m.find()) {
            pieces.add(m.group());
        }
        return pieces;
    }

    /**
     * The character classes, checked on every code point against what the original regex means: Script=Han, the general
     * categories, the && intersection, and Unicode White_Space for \s.
     */
    @Test
    void characterClassesMeanWhatTheOriginalMeans() {
        assertThat(KimiPreTokenizer.REGEX).contains(UPPERISH).contains(LOWERISH).contains("[\\p{IsHan}]+");
        int flags = KimiPreTokenizer.PATTERN.flags();
        Matcher han = Pattern.compile("[\\p{IsHan}]", flags).matcher("");
        Matcher upper = Pattern.compile(UPPERISH, flags).matcher("");
        Matcher lower = Pattern.compile(LOWERISH, flags).matcher("");
        Matcher space = Pattern.compile("\\s", flags).matcher("");
        for (int cp = 0; cp <= Character.MAX_CODE_POINT; cp++) {
            if (cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE) {
                continue;
            }
            String s = Character.toString(cp);
            int type = Character.getType(cp);
            boolean isHan = Character.UnicodeScript.of(cp) == Character.UnicodeScript.HAN;
            boolean mark = type == Character.NON_SPACING_MARK || type == Character.ENCLOSING_MARK
                    || type == Character.COMBINING_SPACING_MARK;
            boolean lmLoM = type == Character.MODIFIER_LETTER || type == Character.OTHER_LETTER || mark;
            boolean upperExpected = !isHan && (lmLoM || type == Character.UPPERCASE_LETTER || type == Character.TITLECASE_LETTER);
            boolean lowerExpected = !isHan && (lmLoM || type == Character.LOWERCASE_LETTER);
            if (han.reset(s).matches() != isHan || upper.reset(s).matches() != upperExpected
                    || lower.reset(s).matches() != lowerExpected || space.reset(s).matches() != WHITE_SPACE.contains(cp)) {
                throw new AssertionError(String.format("U+%04X: han %s upper %s lower %s space %s", cp,
                        han.reset(s).matches(), upper.reset(s).matches(), lower.reset(s).matches(), space.reset(s).matches()));
            }
        }
    }

    @Test
    void splitsLikeKimi() {
        assertThat(split("Hello world")).containsExactly("Hello", " world");
        assertThat(split("Hello, world!")).containsExactly("Hello", ",", " world", "!");
        // Contractions stay on their word; case-insensitively.
        assertThat(split("don't I'm THEY'LL")).containsExactly("don't", " I'm", " THEY'LL");
        assertThat(split("it 's")).containsExactly("it", " '", "s");
        assertThat(split("HELLOworld helloWORLD")).containsExactly("HELLOworld", " hello", "WORLD");
        // Digits in runs of at most three, never with a leading space.
        assertThat(split("12345 $100")).containsExactly("123", "45", " $", "100");
        // Han runs are their own pieces, apart from other letters.
        assertThat(split("中文abc 你好")).containsExactly("中文", "abc", " ", "你好");
        assertThat(split("x  \n\n  y")).containsExactly("x", "  \n\n", " ", " y");
        assertThat(split("foo.\nbar")).containsExactly("foo", ".\n", "bar");
        assertThat(split("😀😀 ok")).containsExactly("😀😀", " ok");
        assertThat(split("cafe\u0301 ok")).containsExactly("cafe\u0301", " ok");
    }

    /** Without UNICODE_CHARACTER_CLASS these would split differently from Rust's Unicode \s and (?i). */
    @Test
    void whitespaceAndCaseAreUnicode() {
        assertThat(split("a\u3000\u3000b")).containsExactly("a", "\u3000", "\u3000b");
        assertThat(split("a\u00A0\u00A0\u00A0")).containsExactly("a", "\u00A0\u00A0\u00A0");
        assertThat(split("a'ſ")).containsExactly("a'ſ");
    }

    @Test
    void piecesCoverTheWholeText() {
        Random rnd = new Random(5);
        for (int i = 0; i < 2000; i++) {
            String s = TextSamples.random(rnd, 100);
            assertThat(String.join("", split(s))).isEqualTo(s);
        }
    }
}
