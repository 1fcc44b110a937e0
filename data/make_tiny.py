#!/usr/bin/env python3
"""Regenerates data/tiny/: a small multi-speaker English speech corpus and a
noise bank, synthesised offline with Debian's espeak-ng and sox.

Run from the repository root:  python3 data/make_tiny.py
Needs: apt-get install espeak-ng sox.  Output is deterministic for a given
espeak-ng/sox version (seeded choices; no clocks).

Design: a Speech-Commands-like vocabulary of 20 words spoken as 2-3 word
phrases by 12 synthetic speakers (voice x variant x rate x pitch), so that a
small CTC model learns it in minutes on 2 CPU cores while speaker-disjoint
splits still test generalisation to unseen voices.
"""
import os, random, subprocess, sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tiny")
WORDS = "zero one two three four five six seven eight nine yes no up down left right go stop on off".split()
VOICES = ["en-us", "en-gb", "en-gb-scotland", "en-029", "en-gb-x-rp", "en-gb-x-gbclan"]
VARIANTS = ["m3", "f2"]
PER_SPEAKER = 25
RATE = 16000


def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    rng = random.Random(20221)
    os.makedirs(os.path.join(OUT, "audio"), exist_ok=True)
    os.makedirs(os.path.join(OUT, "noise"), exist_ok=True)
    rows = []
    spk = 0
    for voice in VOICES:
        for var in VARIANTS:
            spk += 1
            sid = f"s{spk:02d}"
            rate = 140 + 8 * (spk % 6)
            pitch = 35 + 5 * (spk % 5)
            for i in range(PER_SPEAKER):
                words = [rng.choice(WORDS) for _ in range(rng.choice([2, 3]))]
                text = " ".join(words)
                uid = f"{sid}_{i:03d}"
                raw = os.path.join(OUT, "audio", uid + ".raw.wav")
                wav = os.path.join(OUT, "audio", uid + ".wav")
                run(["espeak-ng", "-v", f"{voice}+{var}", "-s", str(rate), "-p", str(pitch), "-w", raw, text])
                # 16 kHz mono 16-bit, leading/trailing silence trimmed to 0.1 s.
                run(["sox", raw, "-r", str(RATE), "-c", "1", "-b", "16", wav,
                     "silence", "1", "0.02", "0.5%", "reverse", "silence", "1", "0.02", "0.5%", "reverse",
                     "pad", "0.1", "0.1"])
                os.remove(raw)
                rows.append((f"audio/{uid}.wav", text, sid))
    with open(os.path.join(OUT, "manifest.tsv"), "w") as f:
        f.write("path\ttranscript\tspeaker\n")
        for r in rows:
            f.write("\t".join(r) + "\n")
    # Noise bank: coloured noise, mains hum, and babble of other talkers.
    n = os.path.join(OUT, "noise")
    run(["sox", "-n", "-r", str(RATE), "-b", "16", "-c", "1", f"{n}/brown.wav", "synth", "8", "brownnoise", "vol", "0.5"])
    run(["sox", "-n", "-r", str(RATE), "-b", "16", "-c", "1", f"{n}/pink.wav", "synth", "8", "pinknoise", "vol", "0.3"])
    run(["sox", "-n", "-r", str(RATE), "-b", "16", "-c", "1", f"{n}/hum.wav", "synth", "8", "sine", "100", "sine", "200", "sine", "300", "vol", "0.3"])
    babble = []
    for k, v in enumerate(["en-us+f3", "en-gb+m1", "en-029+f4"]):
        p = f"{n}/b{k}.wav"
        run(["espeak-ng", "-v", v, "-s", "170", "-w", p, "the quick brown fox jumps over the lazy dog while people talk in the kitchen about dinner"])
        q = f"{n}/b{k}r.wav"
        run(["sox", p, "-r", str(RATE), "-c", "1", "-b", "16", q, "trim", "0", "6"])
        os.remove(p)
        babble.append(q)
    run(["sox", "-m"] + babble + [f"{n}/babble.wav", "vol", "0.6"])
    for q in babble:
        os.remove(q)
    print(f"wrote {len(rows)} utterances from {spk} speakers to {OUT}")


if __name__ == "__main__":
    sys.exit(main())
