package ai.musicgenti.audio;

import ai.musicgenti.audio.AudioDecoder.Audio;
import ai.musicgenti.audio.AudioDecoder.Info;
import ai.musicgenti.core.BadInputException;
import org.bytedeco.ffmpeg.avcodec.AVCodec;
import org.bytedeco.ffmpeg.avcodec.AVCodecContext;
import org.bytedeco.ffmpeg.avcodec.AVPacket;
import org.bytedeco.ffmpeg.avformat.AVFormatContext;
import org.bytedeco.ffmpeg.avformat.AVIOContext;
import org.bytedeco.ffmpeg.avformat.AVStream;
import org.bytedeco.ffmpeg.avutil.AVDictionary;
import org.bytedeco.ffmpeg.avutil.AVFrame;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.ShortPointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;

import static org.bytedeco.ffmpeg.global.avcodec.*;
import static org.bytedeco.ffmpeg.global.avformat.*;
import static org.bytedeco.ffmpeg.global.avutil.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Fixtures are made here: WAVs written by hand, other formats encoded with FFmpeg itself. */
class AudioDecoderTest {
    private static final int RATE = 32000;
    // Tones are analysed over one second from 0.25 s in, away from the resampler's edge transients; at 32 kHz a whole
    // second holds a whole number of cycles of any integer frequency, so a single DFT bin measures its amplitude.
    private static final int FROM = RATE / 4;

    @TempDir
    Path dir;

    @Test
    void stereoWavBecomesMonoAt32kHzKeepingPitchLengthAndLevel() throws IOException {
        Path wav = dir.resolve("tone.wav");
        writeWav(wav, 44100, tone(440, 0.5, 1.5, 44100), tone(440, 0.25, 1.5, 44100));

        Audio mono = AudioDecoder.decode(wav, RATE, true);
        assertEquals(1, mono.channels().length);
        assertEquals(RATE, mono.sampleRate());
        assertEquals(Math.round(1.5 * RATE), mono.frames(), 4);
        assertEquals(1.5, mono.durationSeconds(), 4.0 / RATE);
        assertEquals(440, frequency(mono.channels()[0]), 0.05);
        assertEquals(0.375, amplitude(mono.channels()[0], 440), 0.003);

        Audio stereo = AudioDecoder.decode(wav, RATE, false);
        assertEquals(2, stereo.channels().length);
        assertEquals(0.5, amplitude(stereo.channels()[0], 440), 0.003);
        assertEquals(0.25, amplitude(stereo.channels()[1], 440), 0.003);
        for (int i = 0; i < mono.frames(); i++) {
            assertEquals((stereo.channels()[0][i] + stereo.channels()[1][i]) / 2, mono.channels()[0][i], 1e-6f);
        }
        assertEquals(0.5, stereo.peak(), 0.01);
        assertEquals(Math.sqrt((0.5 * 0.5 / 2 + 0.25 * 0.25 / 2) / 2), stereo.rms(), 0.003);
    }

    @Test
    void flacRoundTripIsSampleExactAtTheSourceRate() {
        Random random = new Random(7);
        short[][] pcm = new short[2][44100];
        for (int i = 0; i < pcm[0].length; i++) {
            pcm[0][i] = (short) (Math.sin(2 * Math.PI * 440 * i / 44100) * 12000 + random.nextGaussian() * 2000);
            pcm[1][i] = (short) random.nextInt(-32768, 32768);
        }
        Path flac = dir.resolve("exact.flac");
        encode(flac, "flac", AV_SAMPLE_FMT_S16, 44100, asFloats(pcm));

        Audio audio = AudioDecoder.decode(flac, 44100, false);
        float[][] expected = asFloats(pcm);
        assertArrayEquals(expected[0], audio.channels()[0]);
        assertArrayEquals(expected[1], audio.channels()[1]);

        Info info = AudioDecoder.probe(flac);
        assertEquals(new Info("flac", 44100, 2, info.durationSeconds(), flac), info);
        assertEquals(1.0, info.durationSeconds(), 0.001);
    }

    @ParameterizedTest
    @CsvSource({"48000, 440", "48000, 5000", "22050, 440", "22050, 5000"})
    void resamplingKeepsFrequencyAndAmplitude(int sourceRate, int hz) throws IOException {
        Path wav = dir.resolve("tone-" + sourceRate + ".wav");
        writeWav(wav, sourceRate, tone(hz, 0.6, 1.5, sourceRate));
        Audio audio = AudioDecoder.decode(wav, RATE, true);
        assertEquals(Math.round(1.5 * RATE), audio.frames(), 4);
        assertEquals(hz, frequency(audio.channels()[0]), 0.05);
        assertEquals(0.6, amplitude(audio.channels()[0], hz), 0.003);
        assertTrue(amplitude(audio.channels()[0], hz + 7) < 0.003, "energy leaked off the tone's frequency");
    }

    @ParameterizedTest
    @CsvSource({
            "mp3,  libmp3lame, 44100, mp3",
            "ogg,  vorbis,     44100, vorbis",
            "opus, libopus,    48000, opus",
            "m4a,  aac,        44100, aac",
            "aiff, pcm_s16be,  44100, pcm_s16be",
            "flac, flac,       44100, flac"})
    void decodesWhatFfmpegEncodes(String extension, String encoder, int sourceRate, String codec) {
        assumeTrue(avcodec_find_encoder_by_name(encoder) != null, "this FFmpeg build has no " + encoder + " encoder");
        Path file = dir.resolve("tone." + extension);
        float[] left = tone(440, 0.5, 1.5, sourceRate);
        encode(file, encoder, encoderFormat(encoder), sourceRate, new float[][]{left, left});

        Info info = AudioDecoder.probe(file);
        assertEquals(codec, info.codec());
        assertEquals(sourceRate, info.sampleRate());
        assertEquals(2, info.channels());
        assertEquals(1.5, info.durationSeconds(), 0.1);

        Audio audio = AudioDecoder.decode(file, RATE, true);
        // Lossy codecs pad to whole frames; containers that record the padding let FFmpeg trim it.
        assertEquals(1.5 * RATE, audio.frames(), 0.03 * RATE, extension + " length");
        assertEquals(440, frequency(audio.channels()[0]), 0.2, extension + " pitch");
        // libmp3lame's output peaks at 0.475 even decoded at its own rate; the others land within 3 %.
        assertEquals(0.5, amplitude(audio.channels()[0], 440), 0.04, extension + " level");
    }

    @Test
    void truncatedMp3GivesWhatDecodedBeforeTheCut() throws IOException {
        assumeTrue(avcodec_find_encoder_by_name("libmp3lame") != null, "this FFmpeg build has no mp3 encoder");
        Path whole = dir.resolve("whole.mp3");
        float[] tone = tone(440, 0.5, 2.0, 44100);
        encode(whole, "libmp3lame", AV_SAMPLE_FMT_FLTP, 44100, new float[][]{tone});
        byte[] bytes = Files.readAllBytes(whole);

        Path half = dir.resolve("half.mp3");
        Files.write(half, Arrays.copyOf(bytes, bytes.length / 2 + 77));
        Audio audio = AudioDecoder.decode(half, RATE, true);
        assertEquals(1.0, audio.durationSeconds(), 0.2);
        assertEquals(440, frequency(audio.channels()[0]), 0.2);

        Path garbled = dir.resolve("garbled.mp3");
        byte[] damaged = bytes.clone();
        for (int i = bytes.length / 3; i < bytes.length / 3 + 2000; i++) damaged[i] = (byte) (i * 31);
        Files.write(garbled, damaged);
        // The damage sits at 0.67 s; the decoder resyncs after it, losing a few frames around it.
        double seconds = AudioDecoder.decode(garbled, RATE, true).durationSeconds();
        assertTrue(seconds > 1.4 && seconds < 2.05, "decoded " + seconds + " s of 2");
    }

    @Test
    void userErrorsNameTheFileInOneLine() throws IOException {
        assertRejected(dir.resolve("missing.wav"), "not found");
        assertRejected(Files.createDirectory(dir.resolve("folder.wav")), "folder");
        assertRejected(Files.write(dir.resolve("empty.mp3"), new byte[0]), "empty");

        Path text = Files.writeString(dir.resolve("notes.txt"), "These are not the sounds you are looking for.\n".repeat(50));
        assertRejected(text, "");
        assertRejected(Files.copy(text, dir.resolve("lying.mp3")), "");

        Path image = dir.resolve("cover.png");
        ImageIO.write(new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB), "png", image.toFile());
        assertRejected(image, "no audio stream");
        for (Path file : new Path[]{dir.resolve("missing.wav"), text, image}) {
            assertThrows(BadInputException.class, () -> AudioDecoder.probe(file));
        }

        Path silent = dir.resolve("zero.wav");
        writeWav(silent, 44100, new float[0]);
        assertRejected(silent, "no audio");

        assumeTrue(avcodec_find_encoder_by_name("libmp3lame") != null, "this FFmpeg build has no mp3 encoder");
        Path mp3 = dir.resolve("stub-source.mp3");
        encode(mp3, "libmp3lame", AV_SAMPLE_FMT_FLTP, 44100, new float[][]{tone(440, 0.5, 1.0, 44100)});
        Path stub = Files.write(dir.resolve("stub.mp3"), Arrays.copyOf(Files.readAllBytes(mp3), 300));
        assertRejected(stub, "");
    }

    @Test
    void unreadableFileIsRejected() throws IOException {
        Path locked = dir.resolve("locked.wav");
        writeWav(locked, 44100, tone(440, 0.5, 0.1, 44100));
        Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("---------"));
        assumeFalse(Files.isReadable(locked), "running as root: permissions do not stop reading");
        assertRejected(locked, "permission denied");
    }

    @Test
    void spacesAndNonAsciiLettersInNamesWork() throws IOException {
        Path folder = Files.createDirectory(dir.resolve("mes sons à moi"));
        Path file = folder.resolve("chœur 音楽 ♪ #1: été.flac");
        encode(file, "flac", AV_SAMPLE_FMT_S16, 44100, new float[][]{tone(440, 0.5, 0.5, 44100)});
        assertEquals("flac", AudioDecoder.probe(file).codec());
        assertEquals(440, frequency(AudioDecoder.decode(file, RATE, true).channels()[0]), 0.5);
        Path wav = folder.resolve("ünïcødé  two spaces.wav");
        writeWav(wav, 44100, tone(440, 0.5, 0.5, 44100));
        assertEquals(0.5, AudioDecoder.decode(wav, RATE, true).durationSeconds(), 0.001);
    }

    @Test
    void streamingHandsOverTheSameAudioInBlocks() throws IOException {
        Path wav = dir.resolve("blocks.wav");
        writeWav(wav, 44100, tone(440, 0.5, 1.5, 44100), tone(220, 0.5, 1.5, 44100));
        float[][] whole = AudioDecoder.decode(wav, RATE, false).channels();
        int[] blocks = {0};
        float[] left = new float[whole[0].length];
        int[] at = {0};
        AudioDecoder.stream(wav, RATE, false, block -> {
            assertEquals(2, block.length);
            System.arraycopy(block[0], 0, left, at[0], block[0].length);
            at[0] += block[0].length;
            blocks[0]++;
        });
        assertEquals(whole[0].length, at[0]);
        assertArrayEquals(whole[0], left);
        assertTrue(blocks[0] > 1);
    }

    @Test
    void manyDecodesDoNotGrowNativeMemory() throws Exception {
        Path flac = dir.resolve("loop.flac");
        encode(flac, "flac", AV_SAMPLE_FMT_S16, 44100, new float[][]{tone(440, 0.5, 0.5, 44100), tone(440, 0.5, 0.5, 44100)});
        Path image = dir.resolve("loop.png");
        ImageIO.write(new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB), "png", image.toFile());
        // Resident memory here would mostly follow the Java heap, whose pages G1 touches and hands back as it
        // resizes; a JVM of its own with a fixed, pre-touched heap leaves native allocations as what moves.
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xms96m", "-Xmx96m", "-XX:+AlwaysPreTouch", "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0", "-cp", System.getProperty("java.class.path"),
                LeakProbe.class.getName(), flac.toString(), image.toString()).redirectErrorStream(true).start();
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertEquals(0, child.waitFor(), out);
        System.out.println(out);
        String[] last = out.substring(out.lastIndexOf('\n') + 1).split(" ");
        long moreObjects = Long.parseLong(last[0]);
        double mb = Double.parseDouble(last[1]);
        assertTrue(moreObjects < 10, LeakProbe.ROUNDS + " rounds left " + moreObjects + " more live native objects");
        // Leaking one format context (with its 32 KB I/O buffer) per call would add some 50 MB, one resampler
        // (64 taps x 1024 phases, about 0.25 MB) per decode over 100 MB.
        assertTrue(mb < 16, LeakProbe.ROUNDS + " rounds grew resident memory by " + mb + " MB");
    }

    /** Runs decode, probe and a failing decode many times; prints the growth in live native objects and MB. */
    static final class LeakProbe {
        static final int ROUNDS = 500;

        public static void main(String[] args) {
            Path flac = Path.of(args[0]), image = Path.of(args[1]);
            Runnable round = () -> {
                AudioDecoder.decode(flac, RATE, true);
                AudioDecoder.probe(flac);
                try {
                    AudioDecoder.decode(image, RATE, true);
                    throw new AssertionError(image + " decoded");
                } catch (BadInputException expected) {
                    // the error path must free what it opened, too
                }
            };
            // Until the JIT and the allocator settle, memory grows for reasons of their own.
            for (int i = 0; i < 30; i++) {
                long before = Pointer.physicalBytes();
                for (int j = 0; j < 100; j++) round.run();
                if (Pointer.physicalBytes() - before < 500_000) break;
            }
            // No System.gc(): PointerScope frees JavaCPP's allocations as each call ends, without the collector.
            long objects = Pointer.totalCount();
            long resident = Pointer.physicalBytes();
            for (int i = 0; i < ROUNDS; i++) round.run();
            System.out.printf("%d x (decode, probe, failed decode): native objects, resident MB growth:%n", ROUNDS);
            System.out.printf(Locale.ROOT, "%d %.1f%n", Pointer.totalCount() - objects, (Pointer.physicalBytes() - resident) / 1e6);
        }
    }

    private static void assertRejected(Path file, String reason) {
        BadInputException e = assertThrows(BadInputException.class, () -> AudioDecoder.decode(file, RATE, true));
        String message = e.getMessage();
        assertTrue(message.contains(file.getFileName().toString()), "message names the file: " + message);
        assertTrue(message.contains(reason), "message says '" + reason + "': " + message);
        assertFalse(message.contains("\n"), "one line: " + message);
    }

    // ---- signals and measurements ----

    private static float[] tone(double hz, double amplitude, double seconds, int rate) {
        float[] x = new float[(int) Math.round(seconds * rate)];
        for (int i = 0; i < x.length; i++) {
            // Quantised to 16 bits so that WAV and FLAC fixtures hold exactly these values.
            x[i] = Math.round(amplitude * Math.sin(2 * Math.PI * hz * i / rate) * 32767) / 32768f;
        }
        return x;
    }

    private static float[][] asFloats(short[][] pcm) {
        float[][] out = new float[pcm.length][pcm[0].length];
        for (int c = 0; c < pcm.length; c++) {
            for (int i = 0; i < pcm[c].length; i++) out[c][i] = pcm[c][i] / 32768f;
        }
        return out;
    }

    /** Mean frequency from the first to the last rising zero crossing, interpolated between samples. */
    private static double frequency(float[] x) {
        double first = -1, last = -1;
        int cycles = -1;
        for (int i = FROM; i + 1 < x.length - FROM / 2; i++) {
            if (x[i] < 0 && x[i + 1] >= 0) {
                double t = i + x[i] / (x[i] - x[i + 1]);
                if (first < 0) first = t;
                last = t;
                cycles++;
            }
        }
        return cycles * RATE / (last - first);
    }

    /** Amplitude of the hz component over one second starting at FROM. */
    private static double amplitude(float[] x, double hz) {
        double re = 0, im = 0;
        for (int i = 0; i < RATE; i++) {
            double phase = 2 * Math.PI * hz * i / RATE;
            re += x[FROM + i] * Math.cos(phase);
            im += x[FROM + i] * Math.sin(phase);
        }
        return 2 * Math.hypot(re, im) / RATE;
    }

    // ---- fixture writers ----

    /** A 16-bit PCM WAV: the canonical 44-byte RIFF header, then interleaved little-endian samples. */
    private static void writeWav(Path file, int rate, float[]... channels) throws IOException {
        int frames = channels[0].length, blockAlign = 2 * channels.length, dataBytes = frames * blockAlign;
        ByteBuffer b = ByteBuffer.allocate(44 + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt(36 + dataBytes).put("WAVE".getBytes(StandardCharsets.US_ASCII));
        b.put("fmt ".getBytes(StandardCharsets.US_ASCII)).putInt(16).putShort((short) 1).putShort((short) channels.length)
                .putInt(rate).putInt(rate * blockAlign).putShort((short) blockAlign).putShort((short) 16);
        b.put("data".getBytes(StandardCharsets.US_ASCII)).putInt(dataBytes);
        for (int i = 0; i < frames; i++) {
            for (float[] channel : channels) b.putShort(toShort(channel[i]));
        }
        Files.write(file, b.array());
    }

    private static short toShort(float v) {
        return (short) Math.max(-32768, Math.min(32767, Math.round(v * 32768)));
    }

    private static int encoderFormat(String encoder) {
        return switch (encoder) {
            case "flac", "pcm_s16be" -> AV_SAMPLE_FMT_S16;
            case "libopus" -> AV_SAMPLE_FMT_FLT;
            default -> AV_SAMPLE_FMT_FLTP;
        };
    }

    /** Encodes planar float samples with the named FFmpeg encoder into the container the file extension implies. */
    private static void encode(Path file, String encoderName, int sampleFormat, int rate, float[][] pcm) {
        String url = "file:" + file.toAbsolutePath();
        AVCodec encoder = avcodec_find_encoder_by_name(encoderName);
        AVFormatContext out = new AVFormatContext(null);
        check(avformat_alloc_output_context2(out, null, null, new BytePointer(url, StandardCharsets.UTF_8)), "muxer");
        AVCodecContext codec = avcodec_alloc_context3(encoder);
        AVPacket packet = av_packet_alloc();
        AVFrame frame = av_frame_alloc();
        AVIOContext io = new AVIOContext(null);
        try {
            AVStream stream = avformat_new_stream(out, null);
            codec.sample_fmt(sampleFormat).sample_rate(rate).time_base(av_make_q(1, rate)).bit_rate(160_000);
            av_channel_layout_default(codec.ch_layout(), pcm.length);
            codec.strict_std_compliance(FF_COMPLIANCE_EXPERIMENTAL); // FFmpeg's own vorbis encoder is experimental
            if ((out.oformat().flags() & AVFMT_GLOBALHEADER) != 0) codec.flags(codec.flags() | AV_CODEC_FLAG_GLOBAL_HEADER);
            check(avcodec_open2(codec, encoder, (AVDictionary) null), "encoder");
            check(avcodec_parameters_from_context(stream.codecpar(), codec), "parameters");
            stream.time_base(codec.time_base());
            check(avio_open(io, new BytePointer(url, StandardCharsets.UTF_8), AVIO_FLAG_WRITE), "open");
            out.pb(io);
            check(avformat_write_header(out, (AVDictionary) null), "header");
            int step = codec.frame_size() > 0 ? codec.frame_size() : 1024;
            for (int at = 0; at < pcm[0].length; at += step) {
                int n = Math.min(step, pcm[0].length - at);
                frame.nb_samples(n).format(sampleFormat).sample_rate(rate).pts(at);
                av_channel_layout_copy(frame.ch_layout(), codec.ch_layout());
                check(av_frame_get_buffer(frame, 0), "frame");
                fill(frame, sampleFormat, pcm, at, n);
                check(avcodec_send_frame(codec, frame), "encode");
                av_frame_unref(frame);
                writePackets(out, codec, stream, packet);
            }
            check(avcodec_send_frame(codec, null), "flush");
            writePackets(out, codec, stream, packet);
            check(av_write_trailer(out), "trailer");
        } finally {
            avio_closep(io);
            av_frame_free(frame);
            av_packet_free(packet);
            avcodec_free_context(codec);
            avformat_free_context(out);
        }
    }

    private static void fill(AVFrame frame, int sampleFormat, float[][] pcm, int at, int n) {
        int channels = pcm.length;
        switch (sampleFormat) {
            case AV_SAMPLE_FMT_FLTP -> {
                for (int c = 0; c < channels; c++) new FloatPointer(frame.data(c)).put(pcm[c], at, n);
            }
            case AV_SAMPLE_FMT_FLT -> {
                float[] interleaved = new float[n * channels];
                for (int i = 0; i < n; i++) {
                    for (int c = 0; c < channels; c++) interleaved[i * channels + c] = pcm[c][at + i];
                }
                new FloatPointer(frame.data(0)).put(interleaved);
            }
            case AV_SAMPLE_FMT_S16 -> {
                short[] interleaved = new short[n * channels];
                for (int i = 0; i < n; i++) {
                    for (int c = 0; c < channels; c++) interleaved[i * channels + c] = toShort(pcm[c][at + i]);
                }
                new ShortPointer(frame.data(0)).put(interleaved);
            }
            default -> throw new IllegalArgumentException("sample format " + sampleFormat);
        }
    }

    private static void writePackets(AVFormatContext out, AVCodecContext codec, AVStream stream, AVPacket packet) {
        while (avcodec_receive_packet(codec, packet) == 0) {
            av_packet_rescale_ts(packet, codec.time_base(), stream.time_base());
            packet.stream_index(stream.index());
            check(av_interleaved_write_frame(out, packet), "write");
        }
    }

    private static void check(int err, String what) {
        if (err < 0) throw new IllegalStateException("FFmpeg " + what + " failed: " + err);
    }
}
