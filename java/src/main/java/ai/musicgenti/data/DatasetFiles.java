package ai.musicgenti.data;

import ai.musicgenti.core.AtomicFiles;
import ai.musicgenti.core.BadInputException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The JSON files of a prepared dataset folder, in snake_case, each written atomically. */
final class DatasetFiles {
    static final String INFO = "dataset.json";
    static final String TRAIN = "metadata_train.json";
    static final String VALID = "metadata_valid.json";
    static final String FRAGMENTS = "fragments";

    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** The body of metadata_train.json and metadata_valid.json. */
    record FragmentList(int version, List<Fragment> fragments) {
    }

    private DatasetFiles() {
    }

    static <T> T read(Path file, Class<T> type) {
        try {
            return JSON.readValue(file.toFile(), type);
        } catch (IOException e) {
            throw new BadInputException(file + ": not a valid prepared-dataset file ("
                    + String.valueOf(e.getMessage()).lines().findFirst().orElse("") + "); run prepare again into a new --dataset folder");
        }
    }

    static List<Fragment> readFragments(Path file) {
        if (!Files.exists(file)) return List.of();
        FragmentList list = read(file, FragmentList.class);
        return list.fragments() == null ? List.of() : list.fragments();
    }

    static void write(Path file, Object value) throws IOException {
        AtomicFiles.writeBytes(file, JSON.writeValueAsBytes(value));
    }
}
