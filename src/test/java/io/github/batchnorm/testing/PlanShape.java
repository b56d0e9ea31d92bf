package io.github.batchnorm.testing;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.catalyst.expressions.Alias;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.NamedExpression;
import org.apache.spark.sql.catalyst.expressions.objects.StaticInvoke;
import org.apache.spark.sql.execution.InputAdapter;
import org.apache.spark.sql.execution.ObjectConsumerExec;
import org.apache.spark.sql.execution.ObjectProducerExec;
import org.apache.spark.sql.execution.ProjectExec;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.execution.WholeStageCodegenExec;
import org.apache.spark.sql.execution.adaptive.AdaptiveSparkPlanExec;
import org.apache.spark.sql.execution.adaptive.QueryStageExec;

/**
 * The structure of an executed plan, for the claims "plain Spark SQL, no UDF" and "compiled by whole-stage code
 * generation". Plain SQL: each named output column is computed by an {@code Alias} in a {@link ProjectExec}, and nowhere
 * in the plan is there
 * <ul>
 *   <li>a node that runs user code on objects: {@code MapPartitionsExec}, {@code MapElementsExec} and every other node
 *       that consumes or produces JVM objects ({@link ObjectConsumerExec}, {@link ObjectProducerExec}); a Python or R
 *       node; or a scan of an RDD, whose partitions can hold any computation;</li>
 *   <li>an expression that calls user code: {@code ScalaUDF}, {@code PythonUDF} or any other UDF, UDAF or UDTF, or an
 *       object expression ({@code Invoke}, {@code NewInstance}, ...) other than a {@link StaticInvoke} of one of Spark's
 *       own classes, which is how Spark itself implements several built-in functions.</li>
 * </ul>
 * Compiled: in addition, that projection sits inside a {@link WholeStageCodegenExec} (not below one of its
 * {@code InputAdapter}s). Adaptive plans are read in their final form, query stages included.
 */
public final class PlanShape {
    private static final String OBJECT_EXPRESSIONS = "org.apache.spark.sql.catalyst.expressions.objects.";

    private PlanShape() {
    }

    /** Fails, describing the plan, unless {@code dataset} computes {@code outputColumns} as compiled plain SQL. */
    public static void assertCompiledSql(Dataset<?> dataset, String... outputColumns) {
        fail(dataset, problems(dataset, true, outputColumns));
    }

    /**
     * Fails, describing the plan, unless {@code dataset} computes {@code outputColumns} as plain SQL: in a projection, with
     * no user code anywhere, whether or not whole-stage code generation compiles the projection.
     */
    public static void assertPlainSql(Dataset<?> dataset, String... outputColumns) {
        fail(dataset, problems(dataset, false, outputColumns));
    }

    /**
     * What keeps {@code dataset} from computing {@code outputColumns} as plain SQL (compiled by whole-stage code
     * generation, if {@code compiled}); empty if nothing.
     */
    public static List<String> problems(Dataset<?> dataset, boolean compiled, String... outputColumns) {
        Walk walk = new Walk();
        walk.visit(executedPlan(dataset), false);
        List<String> problems = new ArrayList<>(walk.problems);
        for (String column : outputColumns) {
            if (walk.compiledAliases.contains(column) || (!compiled && walk.interpretedAliases.contains(column))) {
                continue;
            }
            problems.add(walk.interpretedAliases.contains(column)
                    ? "column '" + column + "' is computed by a projection outside whole-stage code generation"
                    : "column '" + column + "' is not computed by a projection");
        }
        return problems;
    }

    private static void fail(Dataset<?> dataset, List<String> problems) {
        if (!problems.isEmpty()) {
            throw new AssertionError(String.join("; ", problems) + " in the plan:\n" + executedPlan(dataset));
        }
    }

    private static SparkPlan executedPlan(Dataset<?> dataset) {
        SparkPlan plan = dataset.queryExecution().executedPlan();
        return plan instanceof AdaptiveSparkPlanExec adaptive ? adaptive.finalPhysicalPlan() : plan;
    }

    private static final class Walk {
        final Set<String> problems = new LinkedHashSet<>();
        final List<String> compiledAliases = new ArrayList<>();
        final List<String> interpretedAliases = new ArrayList<>();

        void visit(SparkPlan node, boolean inCodegen) {
            if (node instanceof AdaptiveSparkPlanExec adaptive) {
                visit(adaptive.finalPhysicalPlan(), inCodegen);
                return;
            }
            if (node instanceof QueryStageExec stage) {
                visit(stage.plan(), false);
                return;
            }
            checkNode(node);
            for (Expression expression : SparkLineTesting.asJava(node.expressions())) {
                checkExpression(expression, node);
            }
            if (node instanceof ProjectExec project) {
                for (NamedExpression named : SparkLineTesting.asJava(project.projectList())) {
                    if (named instanceof Alias) {
                        (inCodegen ? compiledAliases : interpretedAliases).add(named.name());
                    }
                }
            }
            boolean childrenInCodegen = node instanceof WholeStageCodegenExec || (inCodegen && !(node instanceof InputAdapter));
            for (SparkPlan child : SparkLineTesting.asJava(node.children())) {
                visit(child, childrenInCodegen);
            }
        }

        private void checkNode(SparkPlan node) {
            String name = node.getClass().getSimpleName();
            String packageName = node.getClass().getPackageName();
            if (node instanceof ObjectConsumerExec || node instanceof ObjectProducerExec) {
                problems.add("node " + name + " runs code on JVM objects");
            } else if (packageName.endsWith(".python") || packageName.endsWith(".r") || name.contains("Python")
                    || name.contains("Pandas") || name.contains("Arrow")) {
                problems.add("node " + name + " runs code outside the JVM");
            } else if (name.contains("RDDScan")) {
                problems.add("node " + name + " scans an RDD, whose partitions can hold any computation");
            }
        }

        private void checkExpression(Expression expression, SparkPlan node) {
            String className = expression.getClass().getName();
            String name = expression.getClass().getSimpleName();
            if (name.contains("UDF") || name.contains("UDAF") || name.contains("UDTF")) {
                problems.add("expression " + name + " in " + node.nodeName() + " calls a user-defined function");
                return;
            }
            if (className.startsWith(OBJECT_EXPRESSIONS) && !sparksOwnStaticInvoke(expression)) {
                problems.add("object expression " + name + " in " + node.nodeName() + " calls JVM code");
                return;
            }
            for (Expression child : SparkLineTesting.asJava(expression.children())) {
                checkExpression(child, node);
            }
        }

        private static boolean sparksOwnStaticInvoke(Expression expression) {
            return expression instanceof StaticInvoke invoke
                    && invoke.staticObject().getName().startsWith("org.apache.spark.");
        }
    }
}
