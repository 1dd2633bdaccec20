package ai.musicgenti.cli;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.NativeLog;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Properties;

/**
 * The {@code musicgen-ti} launcher. Exit codes: 0 success, 1 a user error (printed as one line), 2 an internal
 * error. Stack traces, and libtorch's warnings to its developers, only with {@code --verbose}.
 */
@Command(name = "musicgen-ti", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Teach MusicGen new musical concepts by textual inversion, and generate music with them.",
        subcommands = {GenerateCommand.class, AppCommand.class, ReportCommand.class, PrepareCommand.class, TrainCommand.class, SweepCommand.class, EvalCommand.class, FadCommand.class, ClapScoreCommand.class, InfoCommand.class, BenchCommand.class,
                CommandLine.HelpCommand.class})
public final class Main {
    @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT, description = "Print stack traces of errors, and libtorch's own warnings.")
    boolean verbose;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    public static int run(String... args) {
        PrintStream err = System.err;
        LineEnd tracked = new LineEnd(err);
        System.setErr(tracked);
        try {
            return run(tracked, args);
        } finally {
            System.setErr(err);
        }
    }

    private static int run(LineEnd err, String... args) {
        Main main = new Main();
        CommandLine cli = new CommandLine(main);
        cli.setErr(new PrintWriter(err, true));
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            boolean userError = e instanceof BadInputException;
            // a progress line ("\rembedding ...: 3/8 ") would otherwise run into the message
            err.endLine();
            cmd.getErr().println("musicgen-ti: " + (userError ? "" : "internal error: ") + e.getMessage());
            if (main.verbose) e.printStackTrace(cmd.getErr());
            else if (!userError) cmd.getErr().println("(run again with --verbose for the stack trace)");
            return userError ? 1 : 2;
        });
        cli.setExitCodeExceptionMapper(e -> e instanceof CommandLine.ParameterException ? 1 : 2);
        // the usage of a command runs to 40 lines and hides the one that says what was wrong
        cli.setParameterExceptionHandler((e, arguments) -> {
            CommandLine cmd = e.getCommandLine();
            cmd.getErr().println("musicgen-ti: " + e.getMessage() + "; see '" + cmd.getCommandSpec().qualifiedName() + " --help'");
            return 1;
        });
        provideVersion(cli);
        // once the flags are parsed, so that --verbose is known, and before the command touches libtorch
        cli.setExecutionStrategy(parsed -> {
            NativeLog.show(main.verbose);
            return new CommandLine.RunLast().execute(parsed);
        });
        return cli.execute(args);
    }

    /** Every subcommand's -V, down to bench's own subcommands, not only the top command's. */
    private static void provideVersion(CommandLine cmd) {
        cmd.getCommandSpec().versionProvider(new Version());
        for (CommandLine sub : cmd.getSubcommands().values()) provideVersion(sub);
    }

    /** "musicgen-ti VERSION (commit HASH)", from the build information the jar was packed with. */
    static String version() {
        return ai.musicgenti.pipeline.BuildInfo.version();
    }

    /** stderr that knows whether its last line is open, as a progress line redrawn with '\r' leaves it. */
    private static final class LineEnd extends PrintStream {
        private volatile boolean open;

        LineEnd(PrintStream out) {
            super(out, true, StandardCharsets.UTF_8);
        }

        @Override
        public void write(int b) {
            super.write(b);
            open = b != '\n';
        }

        @Override
        public void write(byte[] buf, int off, int len) {
            super.write(buf, off, len);
            if (len > 0) open = buf[off + len - 1] != '\n';
        }

        void endLine() {
            if (open) println();
        }
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[]{version()};
        }
    }
}
