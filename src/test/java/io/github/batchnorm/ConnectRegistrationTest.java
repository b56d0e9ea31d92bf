package io.github.batchnorm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.List;
import java.util.ServiceLoader;
import java.util.stream.Collectors;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.Transformer;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Spark Connect's ML service lists every registered stage with {@code ServiceLoader.stream()} (which fails for the whole
 * list if one class lacks a public no-argument constructor), builds estimators through {@code (String uid)} and loads
 * saved stages through a static {@code load(String)}. The Python tests exercise the service itself.
 */
@DisplayName("The stages are registered for Spark Connect's ML service")
class ConnectRegistrationTest {

    private static List<Class<?>> registered(Class<?> service) {
        return ServiceLoader.load(service).stream().map(ServiceLoader.Provider::type).collect(Collectors.toList());
    }

    @Test
    @DisplayName("the estimator and the model are listed, and the listing does not fail")
    void listed() {
        assertTrue(registered(Estimator.class).contains(BatchNormalization.class));
        assertTrue(registered(Transformer.class).contains(BatchNormalizationModel.class));
    }

    @Test
    @DisplayName("the estimator has the uid constructor, and both have the static load, that the service calls")
    void constructorsAndLoad() throws Exception {
        BatchNormalization built = BatchNormalization.class.getConstructor(String.class).newInstance("uid-from-connect");
        assertEquals("uid-from-connect", built.uid());
        for (Class<?> stage : List.of(BatchNormalization.class, BatchNormalizationModel.class)) {
            Method load = stage.getMethod("load", String.class);
            assertTrue(Modifier.isStatic(load.getModifiers()), stage + ".load is static");
            assertEquals(stage, load.getReturnType());
        }
    }

    @Test
    @DisplayName("the model the listing constructs has no features until it is loaded or fitted")
    void emptyModel() {
        assertEquals(0, new BatchNormalizationModel().numFeatures());
    }
}
