# Peer of `lotto bench audio`: decode + DS2 spectrogram (20 ms Hamming window,
# 10 ms hop, |STFT| -> log1p -> per-utterance mean/std) of the same WAV files
# with librosa (soundfile decoding), one process.
# Run: python3 bench/audio_librosa.py FILE_LIST [repeats]
import sys, time, statistics
import numpy as np
import librosa

files = [l.strip() for l in open(sys.argv[1]) if l.strip()]
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
times, seconds = [], 0.0
for r in range(reps):
    t0 = time.perf_counter()
    total = 0.0
    for f in files:
        y, sr = librosa.load(f, sr=16000, mono=True)
        s = np.abs(librosa.stft(y, n_fft=320, hop_length=160, win_length=320,
                                window="hamming", center=False))
        s = np.log1p(s)
        s = (s - s.mean()) / (s.std() + 1e-5)
        total += len(y) / 16000.0
    times.append(time.perf_counter() - t0)
    seconds = total
m = statistics.median(times)
print(f"PEER librosa {librosa.__version__}: {seconds:.1f} s of audio in {m:.3f} s (median of {reps}) = {seconds / m:.0f}x real time")
