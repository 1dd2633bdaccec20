package ai.musicgenti.audio;

import ai.musicgenti.core.BadInputException;
import org.bytedeco.ffmpeg.avcodec.AVCodec;
import org.bytedeco.ffmpeg.avcodec.AVCodecContext;
import org.bytedeco.ffmpeg.avcodec.AVCodecParameters;
import org.bytedeco.ffmpeg.avcodec.AVPacket;
import org.bytedeco.ffmpeg.avformat.AVFormatContext;
import org.bytedeco.ffmpeg.avformat.AVStream;
import org.bytedeco.ffmpeg.avutil.AVDictionary;
import org.bytedeco.ffmpeg.avutil.AVFrame;
import org.bytedeco.ffmpeg.swresample.SwrContext;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.PointerScope;

import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Arrays;

import static org.bytedeco.ffmpeg.global.avcodec.*;
import static org.bytedeco.ffmpeg.global.avformat.*;
import static org.bytedeco.ffmpeg.global.avutil.*;
import static org.bytedeco.ffmpeg.global.swresample.*;

/**
 * Reads an audio file of any container and codec this FFmpeg build knows (wav, mp3, flac, ogg/vorbis, opus, m4a/aac,
 * aiff, ...) into float samples at the rate the caller asks for. Every FFmpeg object is freed before a call returns,
 * whether it succeeds or throws, so decoding many files does not grow native memory.
 */
public final class AudioDecoder {
    private static final String FORMATS = "give a wav, mp3, flac, ogg, opus, m4a or aiff file";
    // AVERROR(EAGAIN): errno values differ between platforms and the presets do not export this one.
    private static final int AGAIN = -(Loader.getPlatform().startsWith("macosx") ? 35 : 11);
    // FFmpeg opens the file by its own name, so hand it the bytes Java itself uses for file names (UTF-8 under any
    // UTF-8 locale): then names with spaces or non-ASCII letters reach the very file Java checked.
    private static final Charset FILE_NAMES = Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));
    // swr's windowed-sinc filter; this build has no libsoxr (no --enable-libsoxr), so quality comes from a filter
    // twice as long as the default 32 taps, which narrows the transition band below Nyquist.
    private static final int RESAMPLER_TAPS = 64;

    /** File extensions taken as audio when walking folders (what users' clips come as; FFmpeg reads more). */
    public static final List<String> AUDIO_EXTENSIONS = List.of("wav", "mp3", "flac", "ogg", "m4a", "aac", "opus", "aiff", "aif");

    /** Every audio file below a folder (by extension), sorted. */
    public static List<Path> audioFiles(Path dir) throws java.io.IOException {
        try (java.util.stream.Stream<Path> s = java.nio.file.Files.walk(dir)) {
            return s.filter(java.nio.file.Files::isRegularFile).filter(AudioDecoder::isAudioFile).sorted().toList();
        }
    }

    /** Whether a file's extension names an audio format. */
    public static boolean isAudioFile(Path file) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot > 0 && AUDIO_EXTENSIONS.contains(name.substring(dot + 1).toLowerCase(java.util.Locale.ROOT));
    }

    static {
        // FFmpeg's own log would print over the progress bars, and about damage we skip past anyway; what stops a
        // decode reaches the user as a BadInputException carrying FFmpeg's error text.
        av_log_set_level(AV_LOG_FATAL);
    }

    private AudioDecoder() {
    }

    /** Decoded audio: {@code channels[c][i]} is sample i of channel c, all channels equally long. */
    public record Audio(float[][] channels, int sampleRate, double durationSeconds, Path source) {
        public int frames() {
            return channels[0].length;
        }

        public float peak() {
            float peak = 0;
            for (float[] channel : channels) {
                for (float v : channel) peak = Math.max(peak, Math.abs(v));
            }
            return peak;
        }

        public double rms() {
            double sum = 0;
            for (float[] channel : channels) {
                for (float v : channel) sum += (double) v * v;
            }
            return Math.sqrt(sum / ((double) channels.length * frames()));
        }
    }

    /** What the container says about its audio stream; durationSeconds is NaN where the container does not know. */
    public record Info(String codec, int sampleRate, int channels, double durationSeconds, Path source) {
    }

    /** Receives decoded audio a block at a time: {@code block[c]} is a fresh array per channel, all equally long. */
    @FunctionalInterface
    public interface Sink {
        void accept(float[][] block);
    }

    /** Reads the container's description of its audio stream without decoding it. */
    public static Info probe(Path file) {
        checkReadable(file);
        try (PointerScope scope = new PointerScope(); Input input = new Input(file)) {
            AVCodecParameters p = input.stream.codecpar();
            return new Info(avcodec_get_name(p.codec_id()).getString(), p.sample_rate(), p.ch_layout().nb_channels(),
                    input.durationSeconds(), file);
        }
    }

    /**
     * Decodes the whole file resampled to targetRate; mono averages all channels into one. Damaged data is skipped,
     * so a truncated file gives what decoded before the damage; it is an error only when nothing decodes.
     */
    public static Audio decode(Path file, int targetRate, boolean mono) {
        Accumulator all = new Accumulator();
        stream(file, targetRate, mono, all::append);
        float[][] channels = all.toArrays();
        return new Audio(channels, targetRate, channels[0].length / (double) targetRate, file);
    }

    /** Like {@link #decode} but hands the audio to sink as it decodes, so long files need not fit in memory. */
    public static void stream(Path file, int targetRate, boolean mono, Sink sink) {
        if (targetRate <= 0) throw new IllegalArgumentException("targetRate must be positive, got " + targetRate);
        checkReadable(file);
        try (PointerScope scope = new PointerScope(); Input input = new Input(file);
             Decoding decoding = new Decoding(input, targetRate, mono, sink)) {
            decoding.run();
        }
    }

    private static void checkReadable(Path file) {
        if (!Files.exists(file)) throw new BadInputException("Audio file not found: " + file + "; check the path");
        if (Files.isDirectory(file)) throw bad(file, "is a folder, not an audio file", FORMATS);
        if (!Files.isReadable(file)) throw bad(file, "permission denied", "make the file readable (chmod +r)");
        try {
            if (Files.size(file) == 0) throw bad(file, "is empty (0 bytes)", FORMATS);
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read it (" + e.getMessage() + "); check the file", e);
        }
    }

    private static BadInputException bad(Path file, String problem, String fix) {
        return new BadInputException(file + ": " + problem + "; " + fix);
    }

    private static String describe(int error) {
        byte[] text = new byte[256];
        av_strerror(error, text, text.length);
        int end = 0;
        while (end < text.length && text[end] != 0) end++;
        return new String(text, 0, end, StandardCharsets.UTF_8);
    }

    /** An opened container and its best audio stream. */
    private static final class Input implements AutoCloseable {
        final Path file;
        final AVFormatContext format = new AVFormatContext(null);
        final AVStream stream;

        Input(Path file) {
            this.file = file;
            // "file:" keeps a name containing ':' from being taken for a protocol such as http:.
            int err = avformat_open_input(format, new BytePointer("file:" + file.toAbsolutePath(), FILE_NAMES),
                    null, (AVDictionary) null);
            if (err < 0) throw bad(file, "not an audio file FFmpeg can read (" + describe(err) + ")", FORMATS);
            try {
                err = avformat_find_stream_info(format, (PointerPointer<?>) null);
                if (err < 0) throw bad(file, "cannot read its stream layout (" + describe(err) + ")", FORMATS);
                int index = av_find_best_stream(format, AVMEDIA_TYPE_AUDIO, -1, -1, (PointerPointer<?>) null, 0);
                if (index < 0) {
                    throw bad(file, "has no audio stream (FFmpeg reads it as " + format.iformat().name().getString()
                            + ")", FORMATS);
                }
                stream = format.streams(index);
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }

        double durationSeconds() {
            if (format.duration() != AV_NOPTS_VALUE) return format.duration() / (double) AV_TIME_BASE;
            if (stream.duration() != AV_NOPTS_VALUE) return stream.duration() * av_q2d(stream.time_base());
            return Double.NaN;
        }

        @Override
        public void close() {
            avformat_close_input(format);
        }
    }

    /** One pass of demux, decode and resample over an Input, with the native objects that pass needs. */
    private static final class Decoding implements AutoCloseable {
        private final Input input;
        private final int targetRate;
        private final boolean mono;
        private final Sink sink;
        private final AVCodecContext codec;
        private final AVPacket packet = av_packet_alloc();
        private final AVFrame frame = av_frame_alloc();
        private final SwrContext resampler = new SwrContext(null);
        private int inFormat = -1, inRate = -1, channels = -1;
        private FloatPointer[] planes = new FloatPointer[0];
        private PointerPointer<FloatPointer> planePointers;
        private int planeCapacity;
        private long emitted;
        private int damaged;
        private String readError;

        Decoding(Input input, int targetRate, boolean mono, Sink sink) {
            this.input = input;
            this.targetRate = targetRate;
            this.mono = mono;
            this.sink = sink;
            AVCodecParameters p = input.stream.codecpar();
            AVCodec decoder = avcodec_find_decoder(p.codec_id());
            codec = decoder == null ? null : avcodec_alloc_context3(decoder);
            try {
                if (decoder == null) {
                    throw bad(input.file, "its codec " + avcodec_get_name(p.codec_id()).getString()
                            + " has no decoder in this FFmpeg build", "convert it to wav or flac first");
                }
                int err = avcodec_parameters_to_context(codec, p);
                if (err >= 0) err = avcodec_open2(codec, decoder, (AVDictionary) null);
                if (err < 0) throw bad(input.file, "cannot start its decoder (" + describe(err) + ")", FORMATS);
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }

        void run() {
            int audioIndex = input.stream.index();
            while (true) {
                int err = av_read_frame(input.format, packet);
                if (err < 0) {
                    // A read error past the start usually means a truncated file: keep what decoded so far.
                    if (err != AVERROR_EOF) readError = describe(err);
                    break;
                }
                try {
                    if (packet.stream_index() == audioIndex) {
                        if (avcodec_send_packet(codec, packet) < 0) damaged++;
                        else receiveFrames();
                    }
                } finally {
                    av_packet_unref(packet);
                }
            }
            avcodec_send_packet(codec, null);
            receiveFrames();
            if (!resampler.isNull()) drainResampler();
            if (emitted == 0) {
                if (damaged > 0 || readError != null) {
                    throw bad(input.file, "no audio could be decoded (" + (readError != null ? readError
                            : damaged + " damaged packets") + ")", "the file is corrupt or truncated; export it again");
                }
                throw bad(input.file, "contains no audio samples (zero length)", "give a file with sound in it");
            }
        }

        private void receiveFrames() {
            while (true) {
                int err = avcodec_receive_frame(codec, frame);
                if (err == AGAIN || err == AVERROR_EOF) return;
                if (err < 0) {
                    // The decoder has dropped the bad data; the next packet starts afresh.
                    damaged++;
                    return;
                }
                try {
                    if (frame.nb_samples() > 0) resample(frame);
                } finally {
                    av_frame_unref(frame);
                }
            }
        }

        private void resample(AVFrame f) {
            int frameChannels = f.ch_layout().nb_channels();
            if (channels != -1 && frameChannels != channels) {
                throw bad(input.file, "changes from " + channels + " to " + frameChannels + " channels mid-stream",
                        "convert it to a fixed channel count first (e.g. ffmpeg -i in -ac 2 out.wav)");
            }
            if (f.format() != inFormat || f.sample_rate() != inRate) {
                // Streams may switch rate or sample format midway (chained mp3s); finish the old conversion first.
                if (!resampler.isNull()) drainResampler();
                startResampler(f);
            }
            int capacity = swr_get_out_samples(resampler, f.nb_samples());
            ensureCapacity(capacity);
            emit(swr_convert(resampler, planePointers, capacity, f.extended_data(), f.nb_samples()));
        }

        private void startResampler(AVFrame f) {
            swr_free(resampler);
            channels = f.ch_layout().nb_channels();
            inFormat = f.format();
            inRate = f.sample_rate();
            // Same layout in and out: swr only converts format and rate, mono averaging is done here, exactly.
            int err = swr_alloc_set_opts2(resampler, f.ch_layout(), AV_SAMPLE_FMT_FLTP, targetRate,
                    f.ch_layout(), inFormat, inRate, 0, null);
            if (err >= 0) err = av_opt_set_int(resampler, "filter_size", RESAMPLER_TAPS, 0);
            if (err >= 0) err = swr_init(resampler);
            if (err < 0) {
                throw bad(input.file, "cannot convert its " + channels + " channels at " + inRate + " Hz ("
                        + describe(err) + ")", "convert it to a 2-channel wav first");
            }
        }

        private void drainResampler() {
            while (true) {
                int capacity = Math.max(swr_get_out_samples(resampler, 0), 1);
                ensureCapacity(capacity);
                int got = swr_convert(resampler, planePointers, capacity, (PointerPointer<?>) null, 0);
                if (got <= 0) return;
                emit(got);
            }
        }

        private void ensureCapacity(int frames) {
            if (frames <= planeCapacity && planes.length == channels) return;
            // Outgrown buffers stay with the caller's PointerScope until the call ends; doubling keeps them few.
            planeCapacity = Math.max(frames, 2 * planeCapacity);
            planes = new FloatPointer[channels];
            for (int c = 0; c < channels; c++) planes[c] = new FloatPointer(planeCapacity);
            planePointers = new PointerPointer<>(planes);
        }

        private void emit(int frames) {
            if (frames < 0) throw bad(input.file, "resampling failed (" + describe(frames) + ")", FORMATS);
            if (frames == 0) return;
            float[][] block = new float[channels][frames];
            for (int c = 0; c < channels; c++) planes[c].get(block[c], 0, frames);
            if (mono && channels > 1) {
                float[] mixed = new float[frames];
                for (float[] channel : block) {
                    for (int i = 0; i < frames; i++) mixed[i] += channel[i];
                }
                for (int i = 0; i < frames; i++) mixed[i] /= channels;
                block = new float[][]{mixed};
            }
            emitted += frames;
            sink.accept(block);
        }

        @Override
        public void close() {
            swr_free(resampler);
            av_frame_free(frame);
            av_packet_free(packet);
            avcodec_free_context(codec);
        }
    }

    /** Appends blocks into arrays that double when full, so decoding costs linear copying, not quadratic. */
    private static final class Accumulator {
        private float[][] data;
        private int frames;

        void append(float[][] block) {
            int n = block[0].length;
            if (data == null) data = new float[block.length][Math.max(n, 1 << 16)];
            if (frames + n > data[0].length) {
                int capacity = Math.max(frames + n, 2 * data[0].length);
                for (int c = 0; c < data.length; c++) data[c] = Arrays.copyOf(data[c], capacity);
            }
            for (int c = 0; c < data.length; c++) System.arraycopy(block[c], 0, data[c], frames, n);
            frames += n;
        }

        float[][] toArrays() {
            float[][] out = new float[data.length][];
            for (int c = 0; c < data.length; c++) out[c] = Arrays.copyOf(data[c], frames);
            return out;
        }
    }
}
