package ai.musicgenti.cli;

import ai.musicgenti.core.BadInputException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code musicgen-ti} launcher. Exit codes: 0 success, 1 a user error (printed as one line), 2 an internal
 * error. Stack traces only with {@code --verbose}.
 */
@Command(name = "musicgen-ti", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Teach MusicGen new musical concepts by textual inversion, and generate music with them.",
        subcommands = {GenerateCommand.class, PrepareCommand.class, TrainCommand.class, EvalCommand.class, FadCommand.class, ClapScoreCommand.class, InfoCommand.class, BenchCommand.class,
                CommandLine.HelpCommand.class})
public final class Main {
    @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT, description = "Print stack traces of errors.")
    boolean verbose;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    public static int run(String... args) {
        Main main = new Main();
        CommandLine cli = new CommandLine(main);
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            boolean userError = e instanceof BadInputException;
            cmd.getErr().println("musicgen-ti: " + (userError ? "" : "internal error: ") + e.getMessage());
            if (main.verbose) e.printStackTrace(cmd.getErr());
            else if (!userError) cmd.getErr().println("(run again with --verbose for the stack trace)");
            return userError ? 1 : 2;
        });
        cli.setExitCodeExceptionMapper(e -> e instanceof CommandLine.ParameterException ? 1 : 2);
        return cli.execute(args);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[]{"musicgen-ti " + (v != null ? v : "(development build)")};
        }
    }
}
