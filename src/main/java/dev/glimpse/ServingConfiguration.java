package dev.glimpse;

import dev.glimpse.card.ModelCard;
import dev.glimpse.card.ModelCardLoader;
import dev.glimpse.engine.ServedModel;
import dev.glimpse.runtime.OrtRuntime;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** App-tier owners of native resources: the ORT environment and the served model (closed by Spring on shutdown). */
@Configuration(proxyBeanMethods = false)
public class ServingConfiguration {

    @Bean
    OrtRuntime ortRuntime(GlimpseProperties props) {
        return new OrtRuntime(props.runtime().device(), props.runtime().intraOpThreads());
    }

    @Bean
    ModelCard modelCard(GlimpseProperties props) {
        return ModelCardLoader.load(props.modelDir().resolve(props.model()));
    }

    @Bean(destroyMethod = "close")
    ServedModel servedModel(ModelCard card, OrtRuntime runtime, GlimpseProperties props) {
        return new ServedModel(card, runtime, props.dataDir().resolve("graphs"), props.limits().queueCapacity());
    }
}
