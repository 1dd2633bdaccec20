"""fadtk's CLAP windowing, FAD-inf and per-song FAD, re-implemented with numpy (and scipy), as independent test values.

microsoft/fadtk (fadtk/model_loader.py CLAPLaionModel, fadtk/fad.py score_inf, score_individual and
calc_frechet_distance) needs torch and laion_clap; the steps checked here need neither, so this script follows those
steps with numpy, and scipy.linalg.sqrtm for fadtk's cross-check of the matrix square root:

    python3 -m venv /tmp/np && /tmp/np/bin/pip install numpy scipy     # the local wheel index
    /tmp/np/bin/python scripts/reference/fadtk.py java/src/test/resources/reference/fadtk native/src/test/resources/reference/fadtk

The committed outputs were made with numpy 2.4.6 and scipy 1.17.1 (each file's made_by says so too).

It writes:
  <java dir>/windows.json    per clip length: fadtk's windows (start, samples before the zero padding, sum of the
                             window after the int16 round trip), and round-trip cases incl. clipping; for ClapWindowsTest
  <native dir>/fad_inf.json  per case: the subset sizes, each subset's FAD against the reference, slope, intercept
                             (FAD-inf) and R2 as fadtk computes them; for FadTest
  <native dir>/fad_inf.f32   the embeddings those use, little-endian float32 (reference rows, then each case's rows)
  <java dir>/per_song.json   per-song FAD in fadtk windowing: per song its clip length, its window count (fadtk's
                             windows of a clip that long), and its FAD against the reference statistics or why it has
                             none (one window: no covariance); the songs ranked by |FAD| as score_individual sorts them
  <java dir>/per_song.f32    the embeddings those use, float16 values as fadtk caches them, stored as little-endian
                             float32 (reference rows, then each song's rows); for PerSongFadTest

fadtk draws its subsets with np.random.choice; to make the draws reproducible in Java, subset row k is taken as
lcg(k) mod N with the 64-bit LCG below (k counting across all sizes of a case). Only the source of the draws differs.
fadtk computes the mean of float16 embeddings in float16 (np.mean keeps the dtype); statistics here are float64, as
musicgen-ti computes them.
"""
import json
import os
import sys

import numpy as np
import scipy
import scipy.linalg

java_out, native_out = sys.argv[1], sys.argv[2]
os.makedirs(java_out, exist_ok=True)
os.makedirs(native_out, exist_ok=True)

SR = 48000
CHUNK = 10 * SR  # fadtk: chunk_size = 10 * self.sr
HOP = SR         # fadtk: hop_size = self.sr


def int16_round_trip(x):
    # fadtk CLAPLaionModel: float32_to_int16 (clip, * 32767., astype int16) then int16_to_float32 (/ 32767.0, float32)
    q = (np.clip(x, -1.0, 1.0) * 32767.0).astype(np.int16)
    return (q / 32767.0).astype(np.float32)


def fadtk_windows(audio):
    audio = int16_round_trip(audio.reshape(1, -1))
    chunks = [audio[:, i:i + CHUNK] for i in range(0, audio.shape[1], HOP)]
    return [(i * HOP, c.shape[1], np.pad(c, ((0, 0), (0, CHUNK - c.shape[1])))[0]) for i, c in enumerate(chunks)]


def test_signal(n):
    # int16 / 32768 values, as fadtk's load_wav gives them, so float32 holds them exactly in Java too
    i = np.arange(n, dtype=np.int64)
    return (((i * 7919) % 65536) - 32768).astype(np.float64) / 32768.0


clips = []
for n in [1, SR // 2, SR, 5 * SR, 5 * SR + SR // 2, 10 * SR, 12 * SR + 14400]:
    wins = fadtk_windows(test_signal(n))
    clips.append({"samples": n, "windows": [
        {"start": s, "valid": v, "length": len(w), "sum": float(np.sum(w.astype(np.float64)))} for s, v, w in wins]})
cases = np.array([-2.0, -1.0, -0.99999, -1 / 32768, 0.0, 1 / 32768, 0.25, 0.5, 0.999, 1.0, 1.5], dtype=np.float32)
round_trip = {"in": [float(v) for v in cases], "out": [float(v) for v in int16_round_trip(cases.astype(np.float64))]}
MADE_BY = f"scripts/reference/fadtk.py, numpy {np.__version__}, scipy {scipy.__version__}"
with open(os.path.join(java_out, "windows.json"), "w") as f:
    json.dump({"made_by": MADE_BY, "sample_rate": SR, "window": CHUNK,
               "hop": HOP, "clips": clips, "round_trip": round_trip}, f, indent=1)


def stats(e):
    e = e.astype(np.float64)
    return np.mean(e, axis=0), np.cov(e, rowvar=False)


def frechet(mu1, cov1, mu2, cov2):
    # fadtk's eigenvalue method: sqrt(C1 C2) = V sqrt(D) V^-1 with a complex square root, real part kept
    diff = mu1 - mu2
    d, v = np.linalg.eig(cov1.dot(cov2))
    covmean = (v * np.lib.scimath.sqrt(d)) @ np.linalg.inv(v)
    covmean = covmean.real if np.iscomplexobj(covmean) else covmean
    return float(diff.dot(diff) + np.trace(cov1) + np.trace(cov2) - 2 * np.trace(covmean))


M = 2 ** 64


def lcg(k):
    return (k * 6364136223846793005 + 1442695040888963407) % M


rng = np.random.default_rng(20261201)
dim = 4
ref = rng.normal(0.0, 1.0, (300, dim)).astype(np.float32)
mu_ref, cov_ref = stats(ref)
blobs = [ref]
out_cases = []
for name, rows in [("fewer_rows_than_500", 120), ("more_rows_than_500", 800)]:
    ev = (rng.normal(0.3, 1.4, (rows, dim))).astype(np.float32)
    blobs.append(ev)
    ns = [int(n) for n in np.linspace(500, rows, 25)]  # fadtk: steps=25, min_n=500
    k = 0
    points = []
    for n in ns:
        idx = np.array([lcg(k + j) % rows for j in range(n)])
        k += n
        mu, cov = stats(ev[idx])
        points.append([n, frechet(mu_ref, cov_ref, mu, cov)])
    ys = np.array(points)
    xs = 1 / np.array(ns)
    slope, intercept = np.polyfit(xs, ys[:, 1], 1)
    r2 = 1 - np.sum((ys[:, 1] - (slope * xs + intercept)) ** 2) / np.sum((ys[:, 1] - np.mean(ys[:, 1])) ** 2)
    out_cases.append({"name": name, "rows": rows, "sizes": ns, "fads": [p[1] for p in points],
                      "slope": float(slope), "intercept": float(intercept), "r2": float(r2)})
np.concatenate(blobs).astype("<f4").tofile(os.path.join(native_out, "fad_inf.f32"))
with open(os.path.join(native_out, "fad_inf.json"), "w") as f:
    json.dump({"made_by": MADE_BY, "dim": dim, "reference_rows": len(ref),
               "steps": 25, "min_n": 500, "lcg": {"a": 6364136223846793005, "c": 1442695040888963407, "modulus": "2^64"},
               "cases": out_cases}, f, indent=1)


# per-song FAD (score_individual): each song's windows against the reference statistics. The embeddings are random,
# one row per fadtk window of a clip of the given length (one song drawn around another mean).
song_dim = 8
song_ref = rng.normal(0.0, 1.0, (200, song_dim)).astype(np.float16)
mu_song_ref, cov_song_ref = stats(song_ref)
song_blobs = [song_ref]
songs = []
scored = []
for name, samples, shift in [("half-second", SR // 2, 0.0), ("just-over-1s", SR + 1, 0.0), ("five-s", 5 * SR, 0.0),
                             ("shifted-12s", 12 * SR + 14400, 0.8), ("thirty-s", 30 * SR, 0.0)]:
    windows = len(fadtk_windows(test_signal(samples)))
    e = rng.normal(shift, 1.0, (windows, song_dim)).astype(np.float16)
    song_blobs.append(e)
    entry = {"name": name, "samples": samples, "windows": windows}
    if windows < 2:
        # np.cov of one row is NaN; fadtk's score_individual logs the error and leaves the song out
        entry["fad"] = None
    else:
        mu, cov = stats(e)
        fad = frechet(mu_song_ref, cov_song_ref, mu, cov)
        # fadtk's own cross-check of its eigenvalue square root against scipy's sqrtm
        root = scipy.linalg.sqrtm(cov_song_ref.dot(cov))
        diff = mu_song_ref - mu
        fad_sqrtm = float(np.real(diff.dot(diff) + np.trace(cov_song_ref) + np.trace(cov) - 2 * np.trace(root)))
        assert abs(fad - fad_sqrtm) < 1e-6 * max(1.0, abs(fad)), (name, fad, fad_sqrtm)
        entry["fad"] = fad
        scored.append((abs(fad), name))
    songs.append(entry)
np.concatenate(song_blobs).astype("<f4").tofile(os.path.join(java_out, "per_song.f32"))
with open(os.path.join(java_out, "per_song.json"), "w") as f:
    json.dump({"made_by": MADE_BY, "dim": song_dim, "reference_rows": len(song_ref), "sample_rate": SR, "window": CHUNK,
               "songs": songs, "ranked": [n for _, n in sorted(scored)]}, f, indent=1)
