package ai.musicgenti.data;

/**
 * One prepared fragment: a fixed-length piece of a source clip, its decoded audio (mono float WAV at the codec's
 * rate) and its EnCodec codes. Paths are relative to the dataset folder, with '/' separators.
 *
 * @param id            {@code <concept>/<source hash prefix>-<index>}, unique in the dataset
 * @param source        the clip's path relative to the prepare root, e.g. {@code my-band/live/song 1.mp3}
 * @param sourceSha256  the clip's content hash; a clip is prepared again only when this changes
 * @param offsetSeconds where the fragment starts in the clip
 * @param seconds       the fragment's length, padding included
 * @param frames        codec frames in the codes file
 * @param paddedSamples zero samples appended to the end of the clip's last piece (0 for all others)
 */
public record Fragment(String id, String concept, String source, String sourceSha256, double offsetSeconds,
                       double seconds, String audio, String codes, int frames, int paddedSamples) {
}
