package dev.apfsim.spark;

import dev.apfsim.cli.CampaignCli;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/**
 * {@code spark-submit --class dev.apfsim.spark.SparkMain apfsim-spark.jar sweep|check ...}: the CLI's {@code sweep}
 * and {@code check --rows} with the rows computed on the cluster's executors (docs/campaigns.md). Without a
 * {@code --master} (or {@code spark.master}) it runs embedded on every core of this machine, {@code local[*]}.
 */
public final class SparkMain {
    private SparkMain() {
    }

    public static void main(String[] args) {
        int status;
        SparkSession spark = session();
        try {
            status = run(spark, args);
        } finally {
            spark.stop();
        }
        System.out.flush();
        System.exit(status);
    }

    /** The active session, or a new one ({@code local[*]} unless a master is configured). */
    static SparkSession session() {
        SparkSession.Builder b = SparkSession.builder().appName("apfsim");
        if (!new SparkConf().contains("spark.master")) {
            b = b.master("local[*]");
        }
        SparkSession spark = b.getOrCreate();
        // Spark's INFO lines would bury the campaign's progress and result; its warnings and errors stay
        spark.sparkContext().setLogLevel("WARN");
        return spark;
    }

    /** Runs {@code args} on {@code spark}; returns the exit status as {@code apfsim} would. */
    public static int run(SparkSession spark, String... args) {
        return CampaignCli.execute("apfsim-spark", new SparkEngine(spark), args);
    }
}
