package ai.musicgenti.hub;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HubConfigTest {
    @TempDir
    Path home;

    @Test
    void defaultsMatchHuggingfaceHub() {
        HubConfig c = HubConfig.fromEnvironment(Map.of(), home);
        assertEquals(home.resolve(".cache/huggingface/hub"), c.cacheDir());
        assertEquals("https://huggingface.co", c.endpoint());
        assertNull(c.token());
        assertFalse(c.offline());
    }

    @Test
    void cacheFolderPrecedence() {
        assertEquals(Path.of("/x/hub"), HubConfig.fromEnvironment(Map.of("HF_HOME", "/x"), home).cacheDir());
        assertEquals(Path.of("/y"), HubConfig.fromEnvironment(Map.of("HF_HOME", "/x", "HF_HUB_CACHE", "/y"), home).cacheDir());
        assertEquals(Path.of("/z/huggingface/hub"), HubConfig.fromEnvironment(Map.of("XDG_CACHE_HOME", "/z"), home).cacheDir());
        assertEquals(home.resolve("hf/hub"), HubConfig.fromEnvironment(Map.of("HF_HOME", "~/hf"), home).cacheDir());
    }

    @Test
    void endpointTokenAndOffline() throws IOException {
        HubConfig c = HubConfig.fromEnvironment(Map.of("HF_ENDPOINT", "https://mirror.example/", "HF_TOKEN", "hf_abc",
                "HF_HUB_OFFLINE", "Yes"), home);
        assertEquals("https://mirror.example", c.endpoint());
        assertEquals("hf_abc", c.token());
        assertTrue(c.offline());
        assertFalse(c.toString().contains("hf_abc"), "the token stays out of logs");
        for (String off : new String[]{"1", "true", "ON"}) {
            assertTrue(HubConfig.fromEnvironment(Map.of("HF_HUB_OFFLINE", off), home).offline(), off);
        }
        assertFalse(HubConfig.fromEnvironment(Map.of("HF_HUB_OFFLINE", "0"), home).offline());

        // huggingface-cli login leaves the token in $HF_HOME/token
        Files.createDirectories(home.resolve("hf"));
        Files.writeString(home.resolve("hf/token"), "hf_saved\n");
        assertEquals("hf_saved", HubConfig.fromEnvironment(Map.of("HF_HOME", home.resolve("hf").toString()), home).token());
    }

    @Test
    void repoIdsAndPaths() {
        assertEquals(new ModelId("facebook/musicgen-small", "main"), ModelId.parse("facebook/musicgen-small").orElseThrow());
        assertEquals(new ModelId("facebook/musicgen-small", "refs/pr/3"), ModelId.parse("facebook/musicgen-small@refs/pr/3").orElseThrow());
        for (String path : new String[]{"./models/x", "/models/x", "../x/y", "models/x/y", "a--b/c", "x", "org/name@../up"}) {
            assertTrue(ModelId.parse(path).isEmpty(), path);
        }
    }
}
