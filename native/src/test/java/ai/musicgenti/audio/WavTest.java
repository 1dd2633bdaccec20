package ai.musicgenti.audio;

import ai.musicgenti.audio.Wav.Format;
import ai.musicgenti.audio.Wav.Normalization;
import ai.musicgenti.audio.Wav.Options;
import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Tensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static ai.musicgenti.audio.LoudnessTest.sine;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WavTest {
    private static final int RATE = 32000;

    @TempDir
    Path dir;

    @Test
    void pcm16RoundTripIsWithinOneStep() {
        Random r = new Random(7);
        float[][] x = new float[2][5000];
        for (float[] c : x) for (int i = 0; i < c.length; i++) c[i] = r.nextFloat() * 2 - 1;
        x[0][0] = 1;
        x[1][0] = -1;
        Path f = dir.resolve("a.wav");
        Wav.write(f, x, RATE, Format.PCM16);
        Wav.Audio back = Wav.read(f);
        assertEquals(RATE, back.sampleRate());
        assertEquals(2, back.channelCount());
        assertEquals(5000, back.frames());
        for (int c = 0; c < 2; c++) {
            for (int i = 0; i < 5000; i++) assertEquals(x[c][i], back.channels()[c][i], 1.0 / 32768, c + "," + i);
        }
    }

    @Test
    void float32RoundTripIsExact() {
        float[][] x = {{0, 1e-7f, -0.3f, 1.75f, -3f}, {Float.MIN_VALUE, 0.5f, 2f, -1f, 0.123456789f}};
        Path f = dir.resolve("f.wav");
        Wav.write(f, x, 44100, Format.FLOAT32);
        Wav.Audio back = Wav.read(f);
        assertEquals(44100, back.sampleRate());
        for (int c = 0; c < 2; c++) assertArrayEquals(x[c], back.channels()[c]);
    }

    @Test
    void pcm16ClipsAndRounds() throws IOException {
        float[] x = {1.5f, -2f, 1f, -1f, 0.5f, 0.25f / 32768, 0.75f / 32768, -0.5f / 32768};
        Path f = dir.resolve("clip.wav");
        Wav.write(f, new float[][] {x}, RATE, Format.PCM16);
        ByteBuffer b = le(Files.readAllBytes(f));
        short[] expected = {32767, -32768, 32767, -32768, 16384, 0, 1, 0};
        for (int i = 0; i < expected.length; i++) assertEquals(expected[i], b.getShort(44 + 2 * i), "sample " + i);
    }

    @Test
    void pcm16HeaderFollowsTheRiffSpec() throws IOException {
        Path f = dir.resolve("h.wav");
        Wav.write(f, new float[2][1000], RATE, Format.PCM16);
        ByteBuffer b = le(Files.readAllBytes(f));
        assertEquals(44 + 4000, b.limit());
        assertEquals("RIFF", tag(b, 0));
        assertEquals(b.limit() - 8, b.getInt(4));
        assertEquals("WAVE", tag(b, 8));
        assertEquals("fmt ", tag(b, 12));
        assertEquals(16, b.getInt(16));
        assertEquals(1, b.getShort(20)); // WAVE_FORMAT_PCM
        assertEquals(2, b.getShort(22));
        assertEquals(RATE, b.getInt(24));
        assertEquals(RATE * 4, b.getInt(28)); // byte rate
        assertEquals(4, b.getShort(32)); // block align
        assertEquals(16, b.getShort(34));
        assertEquals("data", tag(b, 36));
        assertEquals(4000, b.getInt(40));
    }

    @Test
    void floatHeaderHasFactChunk() throws IOException {
        Path f = dir.resolve("h.wav");
        Wav.write(f, new float[1][300], 24000, Format.FLOAT32);
        ByteBuffer b = le(Files.readAllBytes(f));
        assertEquals(18, b.getInt(16));
        assertEquals(3, b.getShort(20)); // WAVE_FORMAT_IEEE_FLOAT
        assertEquals(1, b.getShort(22));
        assertEquals(24000, b.getInt(24));
        assertEquals(24000 * 4, b.getInt(28));
        assertEquals(4, b.getShort(32));
        assertEquals(32, b.getShort(34));
        assertEquals(0, b.getShort(36)); // cbSize
        assertEquals("fact", tag(b, 38));
        assertEquals(4, b.getInt(42));
        assertEquals(300, b.getInt(46)); // frames
        assertEquals("data", tag(b, 50));
        assertEquals(1200, b.getInt(54));
        assertEquals(58 + 1200, b.limit());
        assertEquals(b.limit() - 8, b.getInt(4));
    }

    @Test
    void moreThanTwoChannelsUseExtensible() throws IOException {
        Path f = dir.resolve("h.wav");
        float[][] x = {{0.5f, 0}, {0, -0.5f}, {0.25f, 0.25f}};
        Wav.write(f, x, RATE, Format.PCM16);
        ByteBuffer b = le(Files.readAllBytes(f));
        assertEquals(40, b.getInt(16));
        assertEquals((short) 0xFFFE, b.getShort(20));
        assertEquals(3, b.getShort(22));
        assertEquals(6, b.getShort(32));
        assertEquals(22, b.getShort(36)); // cbSize
        assertEquals(16, b.getShort(38)); // valid bits
        assertEquals(0, b.getInt(40)); // channel mask: no positions
        assertEquals(1, b.getShort(44)); // sub-format PCM
        assertEquals("data", tag(b, 60));
        assertEquals(12, b.getInt(64));
        Wav.Audio back = Wav.read(f);
        for (int c = 0; c < 3; c++) assertArrayEquals(x[c], back.channels()[c]);
    }

    @Test
    void readsOtherEncodingsAndSkipsChunks() {
        // PCM 8-bit is unsigned around 128
        assertArrayEquals(new float[] {-1, 0, 127 / 128f}, read(wav(1, 1, 8, false, new byte[] {0, (byte) 128, (byte) 255}))[0]);
        ByteBuffer p24 = le(new byte[9]);
        p24.put(new byte[] {0, 0, (byte) 0x80, (byte) 0xFF, (byte) 0xFF, 0x7F, 0, 0, 0x40});
        assertArrayEquals(new float[] {-1, 8388607 / 8388608f, 0.5f}, read(wav(1, 1, 24, false, p24.array()))[0]);
        ByteBuffer p32 = le(new byte[8]).putInt(Integer.MIN_VALUE).putInt(1 << 29);
        assertArrayEquals(new float[] {-1, 0.25f}, read(wav(1, 1, 32, false, p32.array()))[0]);
        ByteBuffer f64 = le(new byte[16]).putDouble(-0.125).putDouble(3.5);
        assertArrayEquals(new float[] {-0.125f, 3.5f}, read(wav(3, 1, 64, false, f64.array()))[0]);

        // extensible 24-bit, three channels, one frame; a LIST chunk of odd size (padded) before the data
        ByteBuffer ext = le(new byte[9]);
        ext.put(new byte[] {0, 0, 0x40, 0, 0, (byte) 0xC0, 0, 0, 0});
        float[][] three = read(wav(1, 3, 24, true, ext.array(), chunk("LIST", new byte[] {'I', 'N', 'F', 'O', 'x'})));
        assertArrayEquals(new float[][] {{0.5f}, {-0.5f}, {0}}, three);
    }

    @Test
    void normalizationReachesItsTarget() {
        float[][] quiet = {sine(440, -30, 2, RATE), sine(440, -30, 2, RATE)};
        Options o = Options.DEFAULT;
        assertSame(quiet, Wav.normalize(quiet, RATE, o));

        float[][] peak = Wav.normalize(quiet, RATE, o.withNormalization(Normalization.PEAK));
        assertEquals(Math.pow(10, -1 / 20.0), max(peak), 1e-6);

        float[][] rms = Wav.normalize(quiet, RATE, o.withNormalization(Normalization.RMS));
        assertEquals(Math.pow(10, -18 / 20.0), rms(rms[0]), 1e-4);

        float[][] loud = Wav.normalize(quiet, RATE, o.withNormalization(Normalization.LOUDNESS));
        assertEquals(-14, Loudness.integrated(loud, RATE), 0.01);
        assertTrue(max(loud) < 1);

        float[][] silence = new float[2][RATE];
        assertSame(silence, Wav.normalize(silence, RATE, o.withNormalization(Normalization.LOUDNESS)));
    }

    @Test
    void loudnessIsPeakLimited() {
        // quiet tone with rare full-scale clicks: -14 LUFS would push the clicks far past full scale
        float[] x = sine(440, -40, 3, RATE);
        for (int i = 0; i < x.length; i += RATE) x[i] = 1;
        float[][] out = Wav.normalize(new float[][] {x}, RATE, Options.DEFAULT.withNormalization(Normalization.LOUDNESS));
        assertEquals(Math.pow(10, -1 / 20.0), max(out), 1e-6);
        assertTrue(Loudness.integrated(out, RATE) < -14);
    }

    @Test
    void writeAppliesNormalization() {
        Path f = dir.resolve("n.wav");
        float[][] x = {sine(440, -30, 1, RATE)};
        Wav.write(f, x, RATE, Options.DEFAULT.withFormat(Format.FLOAT32).withNormalization(Normalization.PEAK));
        assertEquals(Math.pow(10, -1 / 20.0), max(Wav.read(f).channels()), 1e-6);
    }

    @Test
    void writesTensors() {
        float[] data = {0.5f, -0.5f, 0.25f, 0, 0.125f, 1, 2, 3, 4, 5, 6, 7};
        Path f = dir.resolve("t.wav");
        Wav.write(f, Tensors.floats(data, 2, 2, 3), 1, RATE, Options.DEFAULT.withFormat(Format.FLOAT32));
        assertArrayEquals(new float[][] {{2, 3, 4}, {5, 6, 7}}, Wav.read(f).channels());
        Wav.write(f, Tensors.floats(Arrays.copyOf(data, 6), 2, 3), RATE, Options.DEFAULT);
        assertArrayEquals(new float[][] {{0.5f, -0.5f, 0.25f}, {0, 0.125f, 1 - 1f / 32768}}, Wav.read(f).channels());
    }

    @Test
    void badFilesNameTheFile() throws IOException {
        byte[] good = wav(1, 1, 16, false, new byte[200]);
        assertBad("empty.wav", new byte[0], "is empty");
        assertBad("truncated.wav", Arrays.copyOf(good, 100), "is truncated: its data chunk declares 200 bytes but only 56 follow");
        assertBad("header.wav", Arrays.copyOf(good, 30), "has a truncated fmt chunk");
        assertBad("text.wav", "ID3 this is an mp3".getBytes(StandardCharsets.US_ASCII), "is not a WAV file");
        assertBad("adpcm.wav", wav(2, 1, 4, false, new byte[10]), "uses format code 0x0002 with 4 bits");
        Path missing = dir.resolve("missing.wav");
        var e = assertThrows(BadInputException.class, () -> Wav.read(missing));
        assertEquals(missing + " not found: check the path of the audio file", e.getMessage());
    }

    @Test
    void unwritableTargetIsBadInput() throws IOException {
        Path file = Files.writeString(dir.resolve("plain"), "x");
        Path target = file.resolve("sub").resolve("out.wav");
        var e = assertThrows(BadInputException.class, () -> Wav.write(target, new float[1][10], RATE, Format.PCM16));
        assertTrue(e.getMessage().startsWith("cannot write " + target + " ("), e.getMessage());
        assertTrue(e.getMessage().contains("choose an output folder"), e.getMessage());

        e = assertThrows(BadInputException.class, () -> Wav.write(dir, new float[1][10], RATE, Format.PCM16));
        assertTrue(e.getMessage().startsWith(dir + " is a folder"), e.getMessage());
    }

    private void assertBad(String name, byte[] content, String message) throws IOException {
        Path f = Files.write(dir.resolve(name), content);
        var e = assertThrows(BadInputException.class, () -> Wav.read(f));
        assertTrue(e.getMessage().startsWith(f + " " + message), e.getMessage());
    }

    private float[][] read(byte[] wav) {
        try {
            return Wav.read(Files.write(Files.createTempFile(dir, "r", ".wav"), wav)).channels();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** A WAV file by hand, for encodings the writer does not produce; extra chunks go before the data. */
    private static byte[] wav(int code, int channels, int bits, boolean extensible, byte[] data, byte[]... extra) {
        ByteBuffer fmt = le(new byte[extensible ? 40 : 16]);
        fmt.putShort((short) (extensible ? 0xFFFE : code)).putShort((short) channels).putInt(RATE)
                .putInt(RATE * channels * bits / 8).putShort((short) (channels * bits / 8)).putShort((short) bits);
        if (extensible) {
            fmt.putShort((short) 22).putShort((short) bits).putInt(0).putShort((short) code)
                    .put(new byte[] {0, 0, 0, 0, 0x10, 0, (byte) 0x80, 0, 0, (byte) 0xAA, 0, 0x38, (byte) 0x9B, 0x71});
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes("WAVE".getBytes(StandardCharsets.US_ASCII));
        body.writeBytes(chunk("fmt ", fmt.array()));
        for (byte[] c : extra) body.writeBytes(c);
        body.writeBytes(chunk("data", data));
        return chunk("RIFF", body.toByteArray());
    }

    private static byte[] chunk(String id, byte[] body) {
        ByteBuffer b = le(new byte[8 + body.length + (body.length & 1)]);
        b.put(id.getBytes(StandardCharsets.US_ASCII)).putInt(body.length).put(body);
        return b.array();
    }

    private static ByteBuffer le(byte[] bytes) {
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static String tag(ByteBuffer b, int at) {
        byte[] id = new byte[4];
        b.get(at, id);
        return new String(id, StandardCharsets.US_ASCII);
    }

    private static double max(float[][] x) {
        double m = 0;
        for (float[] c : x) for (float v : c) m = Math.max(m, Math.abs(v));
        return m;
    }

    private static double rms(float[] x) {
        double s = 0;
        for (float v : x) s += (double) v * v;
        return Math.sqrt(s / x.length);
    }
}
