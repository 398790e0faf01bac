package dev.glimpse.text;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The committed fixture files are exactly what {@link FixtureVocabulary} produces, so they can be regenerated safely. */
class FixtureVocabularyTest {

    @Test
    void committedFilesMatchTheGenerator() throws IOException {
        List<byte[]> vocab = FixtureVocabulary.train(FixtureVocabulary.corpus(), FixtureVocabulary.MERGES);
        assertThat(Files.readString(TextSamples.resource("tiktoken.model")))
                .isEqualTo(FixtureVocabulary.tiktokenModel(vocab));
        assertThat(Files.readString(TextSamples.resource("tokenizer_config.json")))
                .isEqualTo(FixtureVocabulary.tokenizerConfig(vocab.size()));
    }

    @Test
    void everyByteIsATokenAndMergesAreReal() {
        List<byte[]> vocab = FixtureVocabulary.train(FixtureVocabulary.corpus(), FixtureVocabulary.MERGES);
        assertThat(vocab.stream().filter(b -> b.length == 1).count()).isEqualTo(256);
        assertThat(vocab.size()).isEqualTo(256 + FixtureVocabulary.MERGES + FixtureVocabulary.UNREACHABLE.size());
    }
}
