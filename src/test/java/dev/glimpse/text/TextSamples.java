package dev.glimpse.text;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Shared test inputs: the fixture tokenizer and text that covers what the pre-tokenizer and BPE distinguish. */
final class TextSamples {

    private TextSamples() {
    }

    static Path resource(String name) {
        try {
            return Path.of(TextSamples.class.getResource("/text/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static TiktokenTokenizer fixtureTokenizer() {
        return TiktokenTokenizer.load(resource("tiktoken.model"), resource("tokenizer_config.json"));
    }

    static final List<String> FIXED = List.of(
            "",
            "Hello world",
            "The quick brown fox jumps over the lazy dog.",
            "Hello, world! How are you?? ...!!! (yes) [no] {maybe}",
            "12345 and 1234567890 and 3.14159 and 1,000,000",
            "line one\nline two\n\n\nline five\r\nwindows\r\n",
            "multiple   spaces    here     and\ttabs\t\tand trailing   ",
            "   leading spaces",
            "don't can't won't it's I'm you're we've they'll he'd DON'T IT'S O'Neil rock'n'roll",
            "你好，世界！这是一个测试。",
            "中文English混合text123数字",
            "emoji 😀👍🏽 family 👨‍👩‍👧‍👦 flag 🇫🇷 heart ❤️",
            "Café naïve résumé Zürich Ångström crème brûlée",
            "Привет мир Ελληνικά مرحبا שלום こんにちは 안녕하세요",
            "combining: e\u0301 a\u0308 n\u0303",
            "nbsp\u00A0here and ideographic\u3000\u3000space and line\u2028separator",
            "<|im_end|> <|im_user|>user<|im_middle|> [BOS] <|media_pad|>",
            "xyzzy plugh Zork 777 xyzzyxyzzy  plugh",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "abababababababababababababababab",
            "  \n  \n\n   \t  x",
            "public static void main(String[] args) { System.out.println(\"hi\"); }",
            "ſ 's 'S 'ſ KELVIN\u212A",
            "\u0000\u0001\u007F\u0085\u00AD\uFEFF\uFFFD\uFFFF",
            "𝕳𝖊𝖑𝖑𝖔 𠀀𠀁 \uD83D\uDE00");

    /** Random text mixing scripts, whitespace, digits, marks and emoji; surrogate-free (valid Unicode). */
    static String random(Random rnd, int maxCodePoints) {
        int n = rnd.nextInt(maxCodePoints + 1);
        StringBuilder sb = new StringBuilder();
        String[] words = {"the", " the", "image", " image", "assistant", " user", "cat", "Hello", "don't", " it's",
                "你好", "图片", "😀", "xyzzy", " plugh", "777", "12345", "\r\n", "\n\n", "   "};
        for (int i = 0; i < n; i++) {
            int kind = rnd.nextInt(14);
            int cp = switch (kind) {
                case 0 -> 0x20 + rnd.nextInt(0x5F);                       // printable ASCII
                case 1 -> " \n\r\t\u00A0\u3000\u2028\u000B\u000C".charAt(rnd.nextInt(9));
                case 2 -> '0' + rnd.nextInt(10);
                case 3 -> 0x4E00 + rnd.nextInt(0x5200);                   // Han
                case 4 -> 0x3040 + rnd.nextInt(0x60);                     // Hiragana
                case 5 -> 0x0400 + rnd.nextInt(0x100);                    // Cyrillic
                case 6 -> 0x0300 + rnd.nextInt(0x70);                     // combining marks
                case 7 -> 0x1F300 + rnd.nextInt(0x300);                   // emoji
                case 8 -> "\u200D\uFE0F'’\u0660\u00B2ſ".charAt(rnd.nextInt(7));
                case 9 -> 'A' + rnd.nextInt(26);
                case 10 -> 'a' + rnd.nextInt(26);
                case 11 -> {
                    int any;
                    do {
                        any = rnd.nextInt(0x110000);
                    } while (any >= 0xD800 && any <= 0xDFFF);
                    yield any;
                }
                default -> -1;
            };
            if (cp >= 0) {
                sb.appendCodePoint(cp);
            } else {
                sb.append(words[rnd.nextInt(words.length)]);
            }
        }
        return sb.toString();
    }

    /** Long runs of few symbols: many equal-rank pairs, which is where merge-order bugs show. */
    static String repetitive(Random rnd, int length) {
        String[] alphabets = {"a", "ab", "aab", " ", " \n", "e", "的", "😀", "ll", "!?", "1"};
        String alphabet = alphabets[rnd.nextInt(alphabets.length)];
        StringBuilder sb = new StringBuilder();
        List<Integer> cps = new ArrayList<>();
        alphabet.codePoints().forEach(cps::add);
        for (int i = 0; i < length; i++) {
            sb.appendCodePoint(cps.get(rnd.nextInt(cps.size())));
        }
        return sb.toString();
    }
}
