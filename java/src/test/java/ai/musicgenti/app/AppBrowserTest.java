package ai.musicgenti.app;

import ai.musicgenti.audio.Wav;
import ai.musicgenti.cli.TrainCommandTest;
import ai.musicgenti.pipeline.ModelChoice;
import ai.musicgenti.golden.Golden;
import ai.musicgenti.sweep.LeaderboardTest;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The page in a real browser: Debian's chromium driven headless through chromium-driver. Skipped, with the reason
 * printed, where they are not installed ({@code apt-get install chromium chromium-driver}).
 */
@Tag("browser")
class AppBrowserTest {
    static final Path CHROMIUM = Path.of(System.getenv().getOrDefault("CHROMIUM", "/usr/bin/chromium"));
    static final Path DRIVER = Path.of(System.getenv().getOrDefault("CHROMEDRIVER", "/usr/bin/chromedriver"));
    static final Path SHOTS = Path.of("target", "screenshots");

    /** Headless chromium with its console kept; skips the test, saying why, where it is not installed. */
    private static WebDriver browser() {
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(DRIVER)) {
            String reason = "AppBrowserTest skipped: " + CHROMIUM + " or " + DRIVER + " missing; apt-get install chromium chromium-driver";
            System.out.println(reason);
            Assumptions.abort(reason);
        }
        org.openqa.selenium.logging.LoggingPreferences logs = new org.openqa.selenium.logging.LoggingPreferences();
        logs.enable(org.openqa.selenium.logging.LogType.BROWSER, java.util.logging.Level.ALL);
        ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM.toFile())
                .addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,2400", "--autoplay-policy=no-user-gesture-required");
        options.setCapability("goog:loggingPrefs", logs);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(DRIVER.toFile()).usingAnyFreePort().build();
        return new ChromeDriver(service, options);
    }

    /** A sweep's leaderboard on the page, by keyboard: best first, and a trial opens in the Runs view; fits a phone. */
    @Test
    void showsASweepLeaderboardAndOpensATrialsRun(@TempDir Path dir) throws Exception {
        LeaderboardTest.sweep(dir.resolve("runs/sweeps"), "val_ce", "minimize",
                Arrays.asList(List.of(LeaderboardTest.epoch(1, 6.0)), List.of(LeaderboardTest.epoch(1, 5.0), LeaderboardTest.epoch(2, 3.0)), null));
        try (AppServer server = AppServer.start(AppServer.Settings.builder().data(dir.resolve("data")).models(dir.resolve("models"))
                .runs(dir.resolve("runs")).port(0).build())) {
            WebDriver browser = browser();
            try {
                WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(60));
                browser.get("http://127.0.0.1:" + server.port() + "/");
                WebElement open = wait.until(b -> b.findElements(By.cssSelector("#sweeps-list button")).stream().findFirst().orElse(null));
                assertEquals("s", open.getText());
                open.sendKeys(Keys.ENTER);
                wait.until(b -> b.findElements(By.cssSelector("#sweep-detail tbody tr")).size() == 3);
                List<String> trials = browser.findElements(By.cssSelector("#sweep-detail tbody tr td:nth-child(2)")).stream().map(WebElement::getText).toList();
                assertEquals(List.of("trial-001", "trial-000", "trial-002"), trials);
                assertTrue(browser.findElement(By.cssSelector("#sweep-detail thead")).getText().contains("val_ce"));
                assertTrue(browser.findElements(By.cssSelector("#sweep-detail tbody tr:nth-child(3) button")).isEmpty(), "a trial without a run has no link");
                browser.findElement(By.cssSelector("#sweep-detail tbody tr:first-child button")).sendKeys(Keys.ENTER);
                wait.until(b -> b.findElements(By.id("run-detail-h")).stream().anyMatch(e -> e.getText().equals("Run trial-001 (sweep s)")));
                assertEquals("run-detail-h", ((JavascriptExecutor) browser).executeScript("return document.activeElement.id"), "the keyboard follows to the run");
                browser.manage().window().setSize(new org.openqa.selenium.Dimension(390, 1600));
                shot(browser, "app-sweep-phone.png");
                Long overflow = (Long) ((JavascriptExecutor) browser).executeScript(
                        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;");
                assertTrue(overflow <= 0, "the page fits a phone's width; overflow " + overflow + " px");
            } catch (RuntimeException | AssertionError e) {
                browser.manage().logs().get(org.openqa.selenium.logging.LogType.BROWSER).forEach(l -> System.out.println("browser console: " + l));
                shot(browser, "app-sweep-failure.png");
                throw e;
            } finally {
                browser.quit();
            }
        }
    }

    @Test
    void trainsStopsAndGeneratesFromThePage(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("data");
        Files.createDirectories(data);
        TrainCommandTest.clips(data);
        try (AppServer server = AppServer.start(AppServer.Settings.builder().data(data).models(dir.resolve("models")).runs(dir.resolve("runs"))
                .port(0).model(ModelChoice.defaults().withModel(Golden.firstOfKind("musicgen_generate").dir().toString())).build())) {
            AppClient client = new AppClient(server.port(), Map.of());
            String prep = AppClient.ok(client.post("/api/prepare", Map.of("clips", "clips", "dataset", "my-ds", "fragment_seconds", 0.4,
                    "val_fraction", 0.25)), 202).path("id").asText();
            assertEquals("done", client.awaitJob(prep, 120).path("state").asText());

            WebDriver browser = browser();
            try {
                WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(120));
                browser.get("http://127.0.0.1:" + server.port() + "/");
                wait.until(b -> b.findElement(By.id("status")).getText().startsWith("connected"));
                wait.until(b -> !b.findElements(By.cssSelector("#train-concepts input[type=checkbox]")).isEmpty());
                assertEquals("prepared/my-ds", new Select(browser.findElement(By.id("train-dataset"))).getFirstSelectedOption().getText());

                browser.findElement(By.cssSelector("#train-concepts input[value=a]")).click();
                fill(browser, "#train-form input[name=epochs]", "1000");
                fill(browser, "#train-form input[name=music_len]", "16");
                fill(browser, "#train-form input[name=tokens]", "2");
                fill(browser, "#train-form input[name=run]", "web");
                browser.findElement(By.id("train-start")).click();

                wait.until(b -> b.findElement(By.id("train-status")).getText().contains("running, epoch"));
                int first = wait.until(b -> points(b) > 0 ? points(b) : null);
                wait.until(b -> points(b) > first);
                shot(browser, "app-train.png");

                browser.findElement(By.id("train-stop")).click();
                wait.until(b -> b.findElement(By.id("train-status")).getText().contains("cancelled"));
                assertTrue(Files.exists(dir.resolve("runs/web/checkpoint.safetensors")));

                browser.findElement(By.id("gen-refresh")).click();
                // the list is redrawn when the run's end arrives: tick the box in the list as it is now
                wait.until(b -> {
                    try {
                        List<WebElement> file = b.findElements(By.cssSelector("#gen-files input[value='my-ds/web.safetensors']"));
                        if (file.isEmpty()) return false;
                        if (!file.get(0).isSelected()) file.get(0).click();
                        return file.get(0).isSelected();
                    } catch (org.openqa.selenium.StaleElementReferenceException redrawn) {
                        return false;
                    }
                });
                wait.until(b -> !b.findElements(By.cssSelector("#gen-concepts input[value=a]:checked")).isEmpty());
                fill(browser, "#gen-form input[name=duration]", "0.3");
                fill(browser, "#gen-form input[name=seed]", "5");
                browser.findElement(By.id("gen-start")).click();
                WebElement audio = wait.until(b -> b.findElements(By.cssSelector("#gen-results audio")).stream().findFirst().orElse(null));
                // playable: the browser decoded the WAV's header (metadata) without a media error
                wait.until(b -> (Boolean) ((JavascriptExecutor) b).executeScript(
                        "const a = arguments[0]; return a.readyState >= 1 && !a.error && a.duration > 0.2;", audio));
                String src = audio.getAttribute("src");
                shot(browser, "app-generate.png");

                AppClient.Reply wav = client.send(client.request(src.substring(src.indexOf("/api/"))).GET().build());
                assertEquals(200, wav.status());
                Path copy = dir.resolve("played.wav");
                Files.write(copy, wav.raw().body());
                assertEquals(15 * 640, Wav.read(copy).frames());

                ((JavascriptExecutor) browser).executeScript("window.scrollTo(0, 0)");
                browser.manage().window().setSize(new org.openqa.selenium.Dimension(390, 1600));
                shot(browser, "app-phone.png");
                Long overflow = (Long) ((JavascriptExecutor) browser).executeScript(
                        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;");
                assertTrue(overflow <= 0, "the page fits a phone's width; overflow " + overflow + " px");
            } catch (RuntimeException | AssertionError e) {
                // what the page said about it: its console, and how it looked
                browser.manage().logs().get(org.openqa.selenium.logging.LogType.BROWSER).forEach(l -> System.out.println("browser console: " + l));
                shot(browser, "app-failure.png");
                throw e;
            } finally {
                browser.quit();
            }
        }
    }

    /** Points on the live loss chart, read in one script: the chart is redrawn as events arrive. */
    private static int points(WebDriver b) {
        Object n = ((JavascriptExecutor) b).executeScript(
                "const s = document.querySelector('#loss-chart svg.chart'); return s ? Number(s.getAttribute('data-points')) : 0;");
        return ((Number) n).intValue();
    }

    private static void fill(WebDriver b, String css, String value) {
        WebElement e = b.findElement(By.cssSelector(css));
        e.clear();
        e.sendKeys(value);
    }

    private static void shot(WebDriver b, String name) throws Exception {
        Files.createDirectories(SHOTS);
        File f = ((TakesScreenshot) b).getScreenshotAs(OutputType.FILE);
        Files.copy(f.toPath(), SHOTS.resolve(name), StandardCopyOption.REPLACE_EXISTING);
    }
}
