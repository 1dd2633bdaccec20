package ai.musicgenti.sweep;

import ai.musicgenti.core.AtomicFiles;
import ai.musicgenti.core.BadInputException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A sweep as one Slurm job array: task i runs trial i ({@code run-trial} with {@code $SLURM_ARRAY_TASK_ID}), so the
 * cluster's own scheduler queues, places and retries them. Status comes from {@code squeue} (queued and running
 * tasks) and {@code sacct} (finished ones, where the cluster keeps accounting).
 *
 * @param extra further {@code #SBATCH} options as given ({@code --mem=16G}, {@code --account=x}, ...)
 */
public record Slurm(String partition, String time, Integer gpusPerTask, List<String> extra) {
    private static final Pattern TASK = Pattern.compile("\\d+_(\\d+)");

    /** The sbatch script, {@code --array=0-(n-1)}; {@code command} runs one trial. */
    public String script(SweepFolder folder, SweepRunner.TrialCommand command) {
        StringBuilder s = new StringBuilder("#!/bin/bash\n");
        s.append("# sweep ").append(folder.id()).append(": one array task per trial; written by musicgen-ti sweep --slurm\n");
        s.append("#SBATCH --job-name=").append(("sweep-" + folder.id()).replaceAll("[^A-Za-z0-9._-]", "_")).append('\n');
        s.append("#SBATCH --array=0-").append(folder.trials() - 1).append('\n');
        s.append("#SBATCH --output=").append(folder.slurmDir().toAbsolutePath().resolve("%A_%a.out")).append('\n');
        s.append("#SBATCH --ntasks=1\n");
        if (partition != null) s.append("#SBATCH --partition=").append(partition).append('\n');
        if (time != null) s.append("#SBATCH --time=").append(time).append('\n');
        if (gpusPerTask != null) s.append("#SBATCH --gpus-per-task=").append(gpusPerTask).append('\n');
        for (String option : extra) s.append("#SBATCH ").append(option).append('\n');
        s.append("set -euo pipefail\n");
        List<String> words = command.of("$SLURM_ARRAY_TASK_ID", null);
        List<String> quoted = new ArrayList<>();
        for (String w : words) quoted.add(w.equals("$SLURM_ARRAY_TASK_ID") ? "\"$SLURM_ARRAY_TASK_ID\"" : shellQuote(w));
        s.append("exec ").append(String.join(" ", quoted)).append('\n');
        return s.toString();
    }

    /** Writes the script to {@code slurm/sweep.sbatch}, submits it, records and returns the job id. */
    public String submit(SweepFolder folder, SweepRunner.TrialCommand command) throws IOException, InterruptedException {
        Path file = folder.slurmDir().resolve("sweep.sbatch");
        AtomicFiles.writeBytes(file, script(folder, command).getBytes(StandardCharsets.UTF_8));
        Result r = run(List.of("sbatch", "--parsable", file.toAbsolutePath().toString()));
        if (r == null) throw new BadInputException("--slurm: sbatch not found; run on a Slurm login node, or drop --slurm (the script is in " + file + ")");
        if (r.code != 0) throw new BadInputException("--slurm: sbatch refused the job: " + firstLine(r.out) + " (script: " + file + ")");
        String id = r.out.strip().split(";")[0];
        if (!id.matches("\\d+")) throw new BadInputException("--slurm: sbatch answered '" + firstLine(r.out) + "', not a job id (script: " + file + ")");
        folder.recordSlurmJob(id);
        return id;
    }

    /** The scheduler's state of each task of the job it knows about: squeue for live tasks, sacct (when it answers) for ended ones. */
    public static Map<Integer, String> states(String jobId) throws IOException, InterruptedException {
        Map<Integer, String> states = new LinkedHashMap<>();
        Result acct = run(List.of("sacct", "-n", "-P", "-X", "-j", jobId, "-o", "JobID,State"));
        if (acct != null && acct.code == 0) parse(acct.out, "\\|", states);
        Result queue = run(List.of("squeue", "-h", "-r", "-j", jobId, "-o", "%i %T"));
        if (queue != null && queue.code == 0) parse(queue.out, " ", states);
        return states;
    }

    private static void parse(String out, String separator, Map<Integer, String> states) {
        for (String line : out.strip().split("\n")) {
            String[] f = line.strip().split(separator);
            if (f.length < 2) continue;
            Matcher m = TASK.matcher(f[0]);
            if (m.matches()) states.put(Integer.parseInt(m.group(1)), f[1].split(" ")[0]);
        }
    }

    /** Splits {@code --sbatch "--mem=16G --account='my lab'"} into options as a shell would (quotes, no expansion). */
    public static List<String> splitOptions(String text) {
        List<String> out = new ArrayList<>();
        if (text == null) return out;
        StringBuilder cur = new StringBuilder();
        char quote = 0;
        boolean any = false;
        for (char c : text.toCharArray()) {
            if (quote != 0) {
                if (c == quote) quote = 0;
                else cur.append(c);
            } else if (c == '\'' || c == '"') {
                quote = c;
                any = true;
            } else if (Character.isWhitespace(c)) {
                if (any || cur.length() > 0) out.add(cur.toString());
                cur.setLength(0);
                any = false;
            } else {
                cur.append(c);
            }
        }
        if (quote != 0) throw new BadInputException("--sbatch: unclosed quote in " + text + "; close it");
        if (any || cur.length() > 0) out.add(cur.toString());
        return out;
    }

    static String shellQuote(String s) {
        return s.matches("[A-Za-z0-9_./:=@%+,-]+") ? s : "'" + s.replace("'", "'\\''") + "'";
    }

    private record Result(int code, String out) {
    }

    /** Runs a scheduler command; null when it is not installed. */
    private static Result run(List<String> cmd) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException notFound) {
            return null;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(cmd.get(0) + " did not answer within 60 s");
        }
        return new Result(p.exitValue(), out);
    }

    private static String firstLine(String s) {
        return s.strip().lines().findFirst().orElse("(no output)");
    }
}
