package ai.musicgenti.cli;

import ai.musicgenti.app.AppServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Callable;

/** Serves the web app until Ctrl-C; a training run in progress saves before the server ends. */
@Command(name = "app", mixinStandardHelpOptions = true,
        description = "Serve the web app: prepare, train, watch, generate and listen in a browser.")
final class AppCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--data", defaultValue = "data", description = "Clips and prepared datasets (default: ${DEFAULT-VALUE}).")
    Path data;

    @Option(names = "--models", defaultValue = "models", description = "Concepts files (default: ${DEFAULT-VALUE}).")
    Path models;

    @Option(names = "--runs", defaultValue = "runs", description = "Run folders and generated clips (default: ${DEFAULT-VALUE}).")
    Path runs;

    @Option(names = "--port", defaultValue = "7860", description = "Port (0 = any free one) (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on; anything but loopback needs --token (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--clap", description = "CLAP checkpoint for evaluations during training: hub id or local folder (default: laion/larger_clap_music).")
    String clap;

    @Option(names = "--token", description = "A secret of 16+ characters every request must carry (Authorization: Bearer, or the cookie the printed address sets).")
    String token;

    @Override
    public Integer call() throws Exception {
        AppServer server = AppServer.start(AppServer.Settings.builder().data(data).models(models).runs(runs).host(host).port(port)
                .token(token).model(modelOptions.choice()).clap(clap).build());
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }));
        System.out.println("musicgen-ti app: " + server.url());
        if (token != null) System.out.println("every request needs the token (Authorization: Bearer <token>); the address above sets it as a cookie");
        System.out.flush();
        stopped.await();
        return 0;
    }
}
