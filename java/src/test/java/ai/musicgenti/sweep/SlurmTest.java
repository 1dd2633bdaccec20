package ai.musicgenti.sweep;

import ai.musicgenti.core.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The generated job array script; the real submission is SweepSlurmTest's. */
class SlurmTest {
    @Test
    void theScriptRunsOneTrialPerArrayTask(@TempDir Path dir) throws Exception {
        SweepFolder folder = SweepFolder.create(dir.resolve("s"), "s", "method: grid\nparameters:\n  tokens: {values: [1, 2, 3]}\n", "s.yaml", "/d", "m");
        Slurm slurm = new Slurm("gpu", "04:00:00", 1, Slurm.splitOptions("--mem=16G --comment='my sweep'"));
        String script = slurm.script(folder, (index, device) -> List.of("/opt/java", "-cp", "/a b/x.jar", "Main", "sweep", "run-trial", "/runs/s", index));
        List<String> lines = script.lines().toList();
        assertEquals("#!/bin/bash", lines.get(0));
        assertTrue(lines.contains("#SBATCH --array=0-2"), script);
        assertTrue(lines.contains("#SBATCH --partition=gpu"), script);
        assertTrue(lines.contains("#SBATCH --time=04:00:00"), script);
        assertTrue(lines.contains("#SBATCH --gpus-per-task=1"), script);
        assertTrue(lines.contains("#SBATCH --mem=16G"), script);
        assertTrue(lines.contains("#SBATCH --comment=my sweep"), script);
        assertTrue(lines.contains("#SBATCH --output=" + folder.slurmDir().toAbsolutePath() + "/%A_%a.out"), script);
        assertEquals("exec /opt/java -cp '/a b/x.jar' Main sweep run-trial /runs/s \"$SLURM_ARRAY_TASK_ID\"", lines.get(lines.size() - 1));
        String plain = new Slurm(null, null, null, List.of()).script(folder, (index, device) -> List.of("x", index));
        assertTrue(!plain.contains("--partition") && !plain.contains("--time") && !plain.contains("--gpus"), plain);
    }

    @Test
    void sbatchOptionsSplitLikeAShell() {
        assertEquals(List.of("--mem=1G", "--account=a b", "-N", "1"), Slurm.splitOptions(" --mem=1G --account=\"a b\"  -N 1"));
        assertEquals(List.of(), Slurm.splitOptions(null));
        assertThrows(BadInputException.class, () -> Slurm.splitOptions("--x='y"));
    }
}
