package ai.musicgenti.train;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Safetensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * A dataset folder of code files: {@code <folder>/{train,valid}/<concept>/*.safetensors}, each holding a tensor
 * {@code codes} [K, frames] or [1, K, frames] (what {@code generate --save-codes} writes). The prepared-dataset
 * reader of {@code prepare} implements {@link TrainingData} as well.
 */
public final class CodesFolder implements TrainingData {
    private final String name;
    private final List<String> concepts;
    private final List<Example> train;
    private final List<Example> valid;

    private CodesFolder(String name, List<String> concepts, List<Example> train, List<Example> valid) {
        this.name = name;
        this.concepts = concepts;
        this.train = train;
        this.valid = valid;
    }

    public static CodesFolder open(Path folder) {
        Path trainDir = folder.resolve("train");
        if (!Files.isDirectory(trainDir)) {
            throw new BadInputException("--dataset " + folder + ": no train/ folder; expected train/<concept>/*.safetensors"
                    + " (and valid/<concept>/...) of EnCodec codes");
        }
        List<String> concepts = new ArrayList<>(subfolders(trainDir));
        return new CodesFolder(folder.toAbsolutePath().normalize().getFileName().toString(), concepts,
                read(trainDir, concepts), read(folder.resolve("valid"), concepts));
    }

    private static TreeSet<String> subfolders(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            TreeSet<String> names = new TreeSet<>();
            s.filter(Files::isDirectory).forEach(p -> names.add(p.getFileName().toString()));
            return names;
        } catch (IOException e) {
            throw new BadInputException(dir + ": cannot be listed (" + e.getMessage() + ")");
        }
    }

    private static List<Example> read(Path split, List<String> concepts) {
        List<Example> out = new ArrayList<>();
        if (!Files.isDirectory(split)) return out;
        for (String concept : concepts) {
            Path dir = split.resolve(concept);
            if (!Files.isDirectory(dir)) continue;
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".safetensors")).sorted().toList()) {
                    Tensor codes = Safetensors.readAll(f).get("codes");
                    if (codes == null || codes.dim() < 2 || codes.dim() > 3) {
                        throw new BadInputException(f + ": no 'codes' tensor [K, frames]; write it with generate --save-codes or prepare");
                    }
                    out.add(new Example(concept, (codes.dim() == 3 ? codes.squeeze(0) : codes).to(ScalarType.Long)));
                }
            } catch (IOException e) {
                throw new BadInputException(dir + ": cannot be listed (" + e.getMessage() + ")");
            }
        }
        return out;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<String> concepts() {
        return concepts;
    }

    @Override
    public List<Example> train() {
        return train;
    }

    @Override
    public List<Example> valid() {
        return valid;
    }
}
