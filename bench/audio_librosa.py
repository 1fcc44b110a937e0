# Peer of `lotto bench audio`: decode (soundfile / audioread through
# librosa.load, resampled to 16 kHz with librosa's default soxr_hq) + the
# DS2 spectrogram (20 ms Hamming window, 10 ms hop, |STFT| -> log1p ->
# per-utterance mean/std) of the same files, in PROCS worker processes
# (forked after the imports; the files dealt out round-robin).
# Run: python3 bench/audio_librosa.py FILE_LIST [repeats] [procs]
import sys, time, statistics, multiprocessing
import numpy as np
import librosa


def one(f):
    y, sr = librosa.load(f, sr=16000, mono=True)
    s = np.abs(librosa.stft(y, n_fft=320, hop_length=160, win_length=320,
                            window="hamming", center=False))
    s = np.log1p(s)
    s = (s - s.mean()) / (s.std() + 1e-5)
    return len(y) / 16000.0


def main():
    files = [l.strip() for l in open(sys.argv[1]) if l.strip()]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    procs = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    one(files[0])  # warm up librosa's caches before forking
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(procs) as pool:
        pool.map(one, files[:procs])
        times, seconds = [], 0.0
        for _ in range(reps):
            t0 = time.perf_counter()
            seconds = sum(pool.map(one, files, chunksize=8))
            times.append(time.perf_counter() - t0)
    m = statistics.median(times)
    print(f"PEER librosa {librosa.__version__}, {procs} process(es): {seconds:.1f} s of audio "
          f"in {m:.3f} s (median of {reps}) = {seconds / m:.0f}x real time")


if __name__ == "__main__":
    main()
