package ai.musicgenti.cli;

import ai.musicgenti.golden.Golden;
import ai.musicgenti.sweep.SweepFolder;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A real Slurm submission: a 2-trial sweep as a job array on the cluster sinfo answers for (scripts/slurm-local.sh
 * starts a one-node one on this machine). Skipped, with the reason, where there is no cluster.
 */
@Tag("slurm")
class SweepSlurmTest {
    @BeforeAll
    static void needsACluster() throws Exception {
        String why;
        try {
            Process p = new ProcessBuilder("sinfo", "-h", "-o", "%t").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).strip();
            boolean done = p.waitFor(30, TimeUnit.SECONDS);
            why = !done ? "sinfo did not answer" : p.exitValue() != 0 ? "sinfo failed: " + out
                    : out.matches("(?s).*\\b(idle|mix|alloc)\\b.*") ? null : "no node up (sinfo: " + out + ")";
        } catch (java.io.IOException e) {
            why = "sinfo not installed";
        }
        if (why != null) System.err.println("SweepSlurmTest skipped: " + why + "; run scripts/slurm-local.sh to start a one-node cluster");
        assumeTrue(why == null, "no Slurm cluster: " + why + "; run scripts/slurm-local.sh");
    }

    @Test
    void aTwoTrialSweepRunsAsAJobArray(@TempDir Path dir) throws Exception {
        Path model = Golden.firstOfKind("musicgen_generate").dir();
        Path dataset = TrainCommandTest.preparedDataset(dir, model);
        String yaml = "method: grid\nmetric: {name: val_ce, goal: minimize}\nparameters:\n  concepts: {value: [a, b]}\n"
                + "  tokens: {values: [1, 2]}\n  epochs: {value: 1}\n  music_len: {value: 16}\n";
        Path sweepDir = SweepCommandTest.sweep(dir, dataset, model, yaml, "--slurm", "--time", "00:10:00");
        SweepFolder folder = SweepFolder.open(sweepDir);
        assertTrue(folder.slurmJob() != null && folder.slurmJob().matches("\\d+"), "the job id is recorded");
        assertTrue(Files.readString(folder.slurmDir().resolve("sweep.sbatch")).contains("#SBATCH --array=0-1"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        JsonNode status = SweepCommandTest.status(sweepDir);
        while (System.nanoTime() < deadline && !ended(status)) {
            Thread.sleep(1000);
            status = SweepCommandTest.status(sweepDir);
        }
        assertTrue(ended(status), "both trials ended within 300 s: " + status);
        SweepCommandTest.assertRanked(status, 2, true);
        for (int i = 0; i < 2; i++) {
            assertEquals(1, folder.state(i).attempts());
            assertTrue(Files.exists(folder.runDir(i).resolve("checkpoint.safetensors")));
        }
        try (var outs = Files.list(folder.slurmDir())) {
            assertEquals(2, outs.filter(f -> f.toString().endsWith(".out")).count(), "one output file per array task");
        }
    }

    private static boolean ended(JsonNode status) {
        for (JsonNode row : status.get("trials")) {
            if (!row.get("state").asText().equals("finished") && !row.get("state").asText().equals("failed")) return false;
        }
        return true;
    }
}
