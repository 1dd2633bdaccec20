package ai.musicgenti.cli;

import ai.musicgenti.app.Report;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** A run as one HTML file that opens offline. */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = "Write one self-contained HTML file of a run: charts, the evaluation table, players for the evaluation clips.")
final class ReportCommand implements Callable<Integer> {
    @Parameters(paramLabel = "RUN", description = "The run folder (runs/<run>).")
    Path run;

    @Option(names = "--out", description = "The HTML file (default: <RUN>/report.html).")
    Path out;

    @Override
    public Integer call() throws Exception {
        Path target = out != null ? out : run.resolve("report.html");
        Report.write(run, target);
        System.out.println(target);
        return 0;
    }
}
