package io.github.batchnorm.jobs;

import io.github.batchnorm.BatchNormalization;
import java.util.Arrays;
import java.util.ListResourceBundle;

/**
 * The params' own docs as the command line's help texts: an option that sets a param describes itself as
 * {@code ${bundle:param.NAME}}, so its help is the param's doc, default included, and cannot drift from it.
 */
final class ParamDocs extends ListResourceBundle {
    /** The key under which a param's doc is found. */
    static String key(String param) {
        return "param." + param;
    }

    @Override
    protected Object[][] getContents() {
        return Arrays.stream(new BatchNormalization().params())
                .map(param -> new Object[] {key(param.name()), param.doc()})
                .toArray(Object[][]::new);
    }
}
