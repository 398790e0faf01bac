package dev.glimpse;

import dev.glimpse.card.ModelCard;
import dev.glimpse.card.ModelCardLoader;
import dev.glimpse.engine.EngineConfig;
import dev.glimpse.engine.ServedModel;
import dev.glimpse.family.Families;
import dev.glimpse.image.ImageLimits;
import io.micrometer.core.instrument.MeterRegistry;
import dev.glimpse.runtime.OrtRuntime;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** App-tier owners of native resources: the ORT environment and the served model (closed by Spring on shutdown). */
@Configuration(proxyBeanMethods = false)
public class ServingConfiguration {

    @Bean
    OrtRuntime ortRuntime(GlimpseProperties props) {
        return new OrtRuntime(props.runtime().device(), props.runtime().intraOpThreads(), props.runtime().allowSpinning());
    }

    @Bean
    ModelCard modelCard(GlimpseProperties props) {
        return ModelCardLoader.load(props.modelDir().resolve(props.model()));
    }

    @Bean(destroyMethod = "close")
    ServedModel servedModel(ModelCard card, OrtRuntime runtime, GlimpseProperties props, MeterRegistry metrics) {
        GlimpseProperties.EngineProps e = props.engine();
        GlimpseProperties.Limits l = props.limits();
        EngineConfig engine = new EngineConfig(e.maxNumSeqs(), e.maxBatchedTokens(), l.queueCapacity(), e.kvCacheBytes(),
                e.requestTimeout());
        return new ServedModel(card, Families::load, runtime, props.dataDir().resolve("graphs"), engine,
                new ImageLimits(l.maxImageBytes(), l.maxImagePixels(), l.maxImageSide()), e.visionCacheBytes(), metrics);
    }
}
