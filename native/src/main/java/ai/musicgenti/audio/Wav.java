package ai.musicgenti.audio;

import ai.musicgenti.core.AtomicFiles;
import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Tensors;
import org.bytedeco.pytorch.Tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * WAV files (RIFF/WAVE). Writes 16-bit PCM or 32-bit IEEE float, optionally normalised first, atomically. Reads PCM
 * 8/16/24/32-bit and IEEE float 32/64-bit, plain or WAVE_FORMAT_EXTENSIBLE, with any number of channels.
 */
public final class Wav {
    private static final int WAVE_FORMAT_PCM = 1;
    private static final int WAVE_FORMAT_IEEE_FLOAT = 3;
    private static final int WAVE_FORMAT_EXTENSIBLE = 0xFFFE;
    // bytes 2..15 of every KSDATAFORMAT_SUBTYPE_* GUID built from a format code: 0000xxxx-0000-0010-8000-00AA00389B71
    private static final byte[] GUID_TAIL = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, (byte) 0x80, 0x00, 0x00,
            (byte) 0xAA, 0x00, 0x38, (byte) 0x9B, 0x71};
    private static final int WRITE_BUFFER = 1 << 20;

    private Wav() {
    }

    public enum Format {
        /** 16-bit PCM: samples clipped to [-1, 1], times 32768, rounded half to even, capped at 32767. */
        PCM16(WAVE_FORMAT_PCM, 16),
        /** 32-bit IEEE float, values kept as they are (also beyond [-1, 1]). */
        FLOAT32(WAVE_FORMAT_IEEE_FLOAT, 32);

        final int code;
        final int bits;

        Format(int code, int bits) {
            this.code = code;
            this.bits = bits;
        }
    }

    /** Gain applied before writing, after audiocraft's {@code audio_write} strategies (one gain for all channels). */
    public enum Normalization {
        NONE,
        /** Peak at {@code peakHeadroomDb} below full scale. */
        PEAK,
        /** RMS of the mono mix at {@code -rmsHeadroomDb} dBFS, then peak-limited. */
        RMS,
        /** BS.1770 integrated loudness at {@code targetLufs}, then peak-limited. */
        LOUDNESS
    }

    /**
     * How to write. {@link #DEFAULT}: PCM16, no normalisation, 1 dB peak headroom, 18 dB RMS headroom, -14 LUFS,
     * audiocraft's defaults ({@code peak_clip_headroom_db=1, rms_headroom_db=18, loudness_headroom_db=14}).
     * "Peak-limited" means the gain is lowered, never beyond what puts the peak at {@code peakHeadroomDb} below full
     * scale, so RMS and LOUDNESS never clip but may end below their target on very peaky audio (audiocraft clips
     * at 0.99 instead). Silence, and for LOUDNESS audio under 400 ms or below the -70 LUFS gate, is left as is.
     */
    public record Options(Format format, Normalization normalization, double peakHeadroomDb, double rmsHeadroomDb,
                          double targetLufs) {
        public static final Options DEFAULT = new Options(Format.PCM16, Normalization.NONE, 1, 18, -14);

        public Options withFormat(Format f) {
            return new Options(f, normalization, peakHeadroomDb, rmsHeadroomDb, targetLufs);
        }

        public Options withNormalization(Normalization n) {
            return new Options(format, n, peakHeadroomDb, rmsHeadroomDb, targetLufs);
        }
    }

    /** Decoded audio: {@code channels[c][n]} in [-1, 1) for PCM. */
    public record Audio(float[][] channels, int sampleRate) {
        public int channelCount() {
            return channels.length;
        }

        public int frames() {
            return channels[0].length;
        }
    }

    public static void write(Path file, float[][] channels, int sampleRate, Format format) {
        write(file, channels, sampleRate, Options.DEFAULT.withFormat(format));
    }

    /** Audio [C,N] (any float dtype, any device). */
    public static void write(Path file, Tensor audio, int sampleRate, Options options) {
        write(file, channels(audio), sampleRate, options);
    }

    /** One row of a batch [B,C,N], as generation returns it. */
    public static void write(Path file, Tensor batch, int row, int sampleRate, Options options) {
        if (batch.dim() != 3) throw new IllegalArgumentException("expected audio [B,C,N], got " + Tensors.shape(batch));
        write(file, channels(batch.select(0, row)), sampleRate, options);
    }

    public static void write(Path file, float[][] channels, int sampleRate, Options options) {
        if (Files.isDirectory(file)) throw new BadInputException(file + " is a folder: give a file name such as out.wav");
        checkAudio(channels, sampleRate);
        float[][] audio = normalize(channels, sampleRate, options);
        int frames = audio[0].length, bytesPerSample = options.format().bits / 8;
        long dataBytes = (long) frames * audio.length * bytesPerSample;
        ByteBuffer header = header(audio.length, sampleRate, options.format(), frames, dataBytes);
        try {
            AtomicFiles.write(file, ch -> {
                writeFully(ch, header);
                writeSamples(ch, audio, options.format());
            });
        } catch (IOException e) {
            throw new BadInputException("cannot write " + file + " (" + reason(e)
                    + "): choose an output folder that exists or can be created, is writable and has space", e);
        }
    }

    /** Audio [C,N] as one array per channel. */
    public static float[][] channels(Tensor audio) {
        if (audio.dim() != 2) throw new IllegalArgumentException("expected audio [C,N], got " + Tensors.shape(audio));
        int c = (int) audio.size(0), n = (int) audio.size(1);
        float[] flat = Tensors.toFloats(audio);
        float[][] out = new float[c][];
        for (int i = 0; i < c; i++) out[i] = Arrays.copyOfRange(flat, i * n, (i + 1) * n);
        return out;
    }

    /** The audio as {@code options.normalization()} leaves it: a scaled copy, or the input itself for NONE. */
    public static float[][] normalize(float[][] channels, int sampleRate, Options options) {
        double ceiling = gainOf(-options.peakHeadroomDb());
        double peak = peak(channels);
        if (peak == 0) return channels;
        double gain = switch (options.normalization()) {
            case NONE -> 1;
            case PEAK -> ceiling / peak;
            case RMS -> Math.min(gainOf(-options.rmsHeadroomDb()) / monoRms(channels), ceiling / peak);
            case LOUDNESS -> {
                double lufs = Loudness.integrated(channels, sampleRate);
                yield Double.isFinite(lufs) ? Math.min(gainOf(options.targetLufs() - lufs), ceiling / peak) : 1;
            }
        };
        if (gain == 1) return channels;
        float[][] out = new float[channels.length][];
        for (int c = 0; c < channels.length; c++) {
            out[c] = new float[channels[c].length];
            for (int i = 0; i < out[c].length; i++) out[c][i] = (float) (channels[c][i] * gain);
        }
        return out;
    }

    private static double gainOf(double db) {
        return Math.pow(10, db / 20);
    }

    private static double peak(float[][] channels) {
        double peak = 0;
        for (float[] ch : channels) for (float x : ch) peak = Math.max(peak, Math.abs(x));
        return peak;
    }

    private static double monoRms(float[][] channels) {
        double sum = 0;
        int frames = channels[0].length;
        for (int i = 0; i < frames; i++) {
            double mono = 0;
            for (float[] ch : channels) mono += ch[i];
            mono /= channels.length;
            sum += mono * mono;
        }
        return Math.sqrt(sum / frames);
    }

    private static void checkAudio(float[][] channels, int sampleRate) {
        if (channels.length == 0 || channels.length > 0xFFFF) {
            throw new IllegalArgumentException("a WAV file has 1 to 65535 channels, not " + channels.length);
        }
        if (sampleRate <= 0) throw new IllegalArgumentException("sample rate " + sampleRate);
        for (float[] ch : channels) {
            if (ch.length != channels[0].length) throw new IllegalArgumentException("channels differ in length");
            // NaN would become silence in PCM without a trace: a bug upstream, not something to write
            for (float x : ch) if (!Float.isFinite(x)) throw new IllegalArgumentException("audio has NaN or infinite samples");
        }
    }

    /**
     * RIFF header up to the data chunk's size. Float data gets a fact chunk (required for non-PCM formats); more
     * than two channels get WAVE_FORMAT_EXTENSIBLE (required by Microsoft beyond stereo), with no speaker mask.
     */
    private static ByteBuffer header(int channels, int sampleRate, Format format, int frames, long dataBytes) {
        boolean extensible = channels > 2, fact = format != Format.PCM16;
        int fmtBytes = extensible ? 40 : fact ? 18 : 16;
        int headerBytes = 12 + (8 + fmtBytes) + (fact ? 12 : 0) + 8;
        // samples are 2 or 4 bytes, so the data chunk never needs a pad byte
        long riffBytes = headerBytes - 8 + dataBytes;
        if (riffBytes > 0xFFFFFFFFL) throw new IllegalArgumentException("audio too long for a WAV file (4 GiB)");
        int blockAlign = channels * format.bits / 8;

        ByteBuffer b = ByteBuffer.allocate(headerBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.put(ascii("RIFF")).putInt((int) riffBytes).put(ascii("WAVE"));
        b.put(ascii("fmt ")).putInt(fmtBytes)
                .putShort((short) (extensible ? WAVE_FORMAT_EXTENSIBLE : format.code)).putShort((short) channels)
                .putInt(sampleRate).putInt(sampleRate * blockAlign).putShort((short) blockAlign).putShort((short) format.bits);
        if (extensible) {
            b.putShort((short) 22).putShort((short) format.bits).putInt(0).putShort((short) format.code).put(GUID_TAIL);
        } else if (fact) {
            b.putShort((short) 0);
        }
        if (fact) b.put(ascii("fact")).putInt(4).putInt(frames);
        b.put(ascii("data")).putInt((int) dataBytes);
        return b.flip();
    }

    private static void writeSamples(FileChannel ch, float[][] audio, Format format) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(WRITE_BUFFER).order(ByteOrder.LITTLE_ENDIAN);
        int frameBytes = audio.length * format.bits / 8;
        for (int i = 0; i < audio[0].length; i++) {
            if (buf.remaining() < frameBytes) writeFully(ch, buf.flip());
            for (float[] c : audio) {
                if (format == Format.PCM16) buf.putShort(toPcm16(c[i]));
                else buf.putFloat(c[i]);
            }
        }
        writeFully(ch, buf.flip());
    }

    // x * 2^15 is the inverse of reading s / 2^15 (torchaudio, soundfile), so a round trip is within 1/32768
    static short toPcm16(float x) {
        double s = Math.rint(Math.max(-1, Math.min(1, x)) * 32768);
        return (short) Math.min(s, Short.MAX_VALUE);
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
        b.clear();
    }

    private static String reason(IOException e) {
        if (e instanceof AccessDeniedException) return "permission denied";
        if (e instanceof FileAlreadyExistsException || e instanceof NotDirectoryException) {
            return "a file stands where a folder should be: " + ((FileSystemException) e).getFile();
        }
        if (e instanceof FileSystemException f && f.getReason() != null) return f.getReason();
        return String.valueOf(e.getMessage());
    }

    public static Audio read(Path file) {
        byte[] bytes;
        try {
            if (Files.size(file) > Integer.MAX_VALUE - 8) {
                throw new BadInputException(file + " is larger than 2 GiB: cut it into shorter files");
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new BadInputException(file + " not found: check the path of the audio file", e);
        } catch (IOException e) {
            throw new BadInputException(file + " cannot be read (" + reason(e) + "): check that it is a readable file", e);
        }
        return new Reader(file, ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN)).read();
    }

    /** The chunk walk of one file, with the file's name at hand for every error. */
    private record Reader(Path file, ByteBuffer b) {
        private static final String CONVERT = "convert it to 16-bit PCM WAV, e.g. ffmpeg -i IN -c:a pcm_s16le OUT.wav";

        Audio read() {
            if (b.limit() < 12 || !tag(0).equals("RIFF") || !tag(8).equals("WAVE")) {
                if (b.limit() == 0) throw bad("is empty", "export or copy it again");
                throw bad("is not a WAV file (no RIFF/WAVE header)", CONVERT);
            }
            // a RIFF size beyond the file means it was cut short; trailing bytes past it are not ours
            long end = Math.min(b.limit(), 8 + Integer.toUnsignedLong(b.getInt(4)));
            Fmt fmt = null;
            long pos = 12;
            while (pos + 8 <= end) {
                String id = tag((int) pos);
                long size = Integer.toUnsignedLong(b.getInt((int) pos + 4));
                int body = (int) pos + 8;
                if (id.equals("fmt ")) {
                    fmt = fmt(body, size);
                } else if (id.equals("data")) {
                    if (fmt == null) throw bad("has its data chunk before the fmt chunk", CONVERT);
                    if (body + size > b.limit()) {
                        throw bad("is truncated: its data chunk declares " + size + " bytes but only "
                                + (b.limit() - body) + " follow", "the file was cut short; export or copy it again");
                    }
                    return samples(fmt, body, (int) size);
                }
                pos = body + size + (size & 1);
            }
            throw bad(fmt == null ? "has no fmt chunk" : "has no data chunk", "the file is truncated or damaged; export it again");
        }

        private record Fmt(int code, int channels, int sampleRate, int bits) {
        }

        private Fmt fmt(int body, long size) {
            if (size < 16 || body + size > b.limit()) throw bad("has a truncated fmt chunk", CONVERT);
            int code = Short.toUnsignedInt(b.getShort(body));
            int channels = Short.toUnsignedInt(b.getShort(body + 2));
            int sampleRate = b.getInt(body + 4);
            int blockAlign = Short.toUnsignedInt(b.getShort(body + 12));
            int bits = Short.toUnsignedInt(b.getShort(body + 14));
            if (code == WAVE_FORMAT_EXTENSIBLE) {
                if (size < 40) throw bad("has a truncated WAVE_FORMAT_EXTENSIBLE header", CONVERT);
                code = Short.toUnsignedInt(b.getShort(body + 24));
                if (!Arrays.equals(GUID_TAIL, 0, GUID_TAIL.length, b.array(), body + 26, body + 40)) {
                    throw bad("has an extensible sub-format that is not PCM or IEEE float", CONVERT);
                }
            }
            boolean supported = code == WAVE_FORMAT_PCM && (bits == 8 || bits == 16 || bits == 24 || bits == 32)
                    || code == WAVE_FORMAT_IEEE_FLOAT && (bits == 32 || bits == 64);
            if (!supported) {
                throw bad(String.format("uses format code 0x%04X with %d bits; only PCM 8/16/24/32-bit and IEEE float"
                        + " 32/64-bit are read", code, bits), CONVERT);
            }
            if (channels == 0 || sampleRate <= 0 || blockAlign != channels * bits / 8) {
                throw bad("has an inconsistent fmt chunk (" + channels + " channels, " + sampleRate + " Hz, block "
                        + blockAlign + " bytes for " + bits + "-bit samples)", CONVERT);
            }
            return new Fmt(code, channels, sampleRate, bits);
        }

        // A trailing partial frame is dropped, as libsndfile does.
        private Audio samples(Fmt fmt, int body, int size) {
            int bytes = fmt.bits() / 8, frames = size / (fmt.channels() * bytes);
            float[][] out = new float[fmt.channels()][frames];
            int p = body;
            for (int i = 0; i < frames; i++) {
                for (int c = 0; c < fmt.channels(); c++, p += bytes) out[c][i] = sample(fmt, p);
            }
            return new Audio(out, fmt.sampleRate());
        }

        private float sample(Fmt fmt, int p) {
            if (fmt.code() == WAVE_FORMAT_IEEE_FLOAT) return fmt.bits() == 32 ? b.getFloat(p) : (float) b.getDouble(p);
            return switch (fmt.bits()) {
                case 8 -> ((b.get(p) & 0xFF) - 128) / 128f; // 8-bit WAV is unsigned
                case 16 -> b.getShort(p) / 32768f;
                case 24 -> ((b.get(p) & 0xFF) | (b.get(p + 1) & 0xFF) << 8 | b.get(p + 2) << 16) / 8388608f;
                default -> (float) (b.getInt(p) / 2147483648.0);
            };
        }

        private String tag(int at) {
            byte[] id = new byte[4];
            b.get(at, id);
            return new String(id, StandardCharsets.ISO_8859_1);
        }

        private BadInputException bad(String what, String fix) {
            return new BadInputException(file + " " + what + ": " + fix);
        }
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
