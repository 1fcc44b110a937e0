#!/usr/bin/env python3
"""Generates data/medium/: a synthetic English speech corpus large enough to
measure with, reproducible from its seed (not committed: about 250 MB).

Run from the repository root:  python3 data/make_medium.py [--seed N] [--jobs N]
Needs Debian's espeak-ng, flite, festival (with festvox-kallpc16k,
festvox-kdlpc16k, festvox-us-slt-hts) and sox.

Design (issue #22): many speakers from three synthesisers: 7 espeak-ng
English voices x 10 variants, each at its own rate and pitch; 5 flite voices
and 3 festival voices, each at two tempos shifted in pitch; 86 speakers in
all. Sentences come from a small grammar over about 300 words (names,
numbers, objects, places, colours, actions), 5 to 11 words each, so the test
set's words are many more than the bundled corpus's 20-word vocabulary.
Splits are by speaker and written as their own manifests: test has 12
speakers (480 utterances, over 3,000 words), dev 6, train the other 68;
each split mixes the three synthesisers. The same seed gives the same
sentences, speakers and splits; the audio is the same for the same
synthesiser versions.
"""
import argparse, os, random, subprocess, sys
from concurrent.futures import ThreadPoolExecutor

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "medium")
RATE = 16000
PER_SPEAKER = 40

NAMES = "anna ben carla david emma frank grace henry iris jack kate leo maria nora oscar paul rosa sam tina victor".split()
NUMBERS = "one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred".split()
COLOURS = "red blue green yellow black white brown grey orange purple".split()
SIZES = "big small old new long short heavy light warm cold quiet loud".split()
# (singular, plural)
THINGS = [
    ("book", "books"), ("cup", "cups"), ("chair", "chairs"), ("table", "tables"), ("box", "boxes"),
    ("car", "cars"), ("boat", "boats"), ("train", "trains"), ("bike", "bikes"), ("bag", "bags"),
    ("key", "keys"), ("letter", "letters"), ("picture", "pictures"), ("lamp", "lamps"), ("clock", "clocks"),
    ("shoe", "shoes"), ("coat", "coats"), ("hat", "hats"), ("glass", "glasses"), ("plate", "plates"),
    ("apple", "apples"), ("orange", "oranges"), ("egg", "eggs"), ("cake", "cakes"), ("bottle", "bottles"),
    ("dog", "dogs"), ("cat", "cats"), ("bird", "birds"), ("horse", "horses"), ("fish", "fish"),
    ("window", "windows"), ("door", "doors"), ("phone", "phones"), ("radio", "radios"), ("pencil", "pencils"),
    ("basket", "baskets"), ("blanket", "blankets"), ("candle", "candles"), ("flower", "flowers"), ("stone", "stones"),
]
PLACES = "kitchen garden station market library office river bridge school harbour village forest beach hospital museum bakery".split()
# (past, base)
ACTIONS = [
    ("found", "find"), ("moved", "move"), ("painted", "paint"), ("sold", "sell"), ("bought", "buy"),
    ("carried", "carry"), ("opened", "open"), ("closed", "close"), ("cleaned", "clean"), ("washed", "wash"),
    ("dropped", "drop"), ("lifted", "lift"), ("counted", "count"), ("hid", "hide"), ("fixed", "fix"),
    ("watched", "watch"), ("pushed", "push"), ("pulled", "pull"), ("kept", "keep"), ("wanted", "want"),
]
MOTIONS = "walked ran drove sailed rode travelled hurried wandered".split()
TIMES = ["this morning", "last night", "on monday", "on friday", "in the evening", "after lunch",
         "before dinner", "every day", "in winter", "at noon", "yesterday", "today"]
PREPS = "near behind under beside inside".split()
DETS = "the a my your his her our their this that".split()


def sentence(rng):
    """One sentence of 5 to 11 words from the grammar."""
    def noun_phrase(plural=False):
        thing = rng.choice(THINGS)
        words = []
        if plural:
            words.append(rng.choice(NUMBERS[1:]))
        else:
            words.append(rng.choice(DETS))
        if rng.random() < 0.6:
            words.append(rng.choice(COLOURS if rng.random() < 0.5 else SIZES))
        words.append(thing[1] if plural else thing[0])
        return words

    kind = rng.randrange(5)
    if kind == 0:
        w = [rng.choice(NAMES), rng.choice(ACTIONS)[0]] + noun_phrase(rng.random() < 0.4)
        if rng.random() < 0.6:
            w += [rng.choice(PREPS), "the", rng.choice(PLACES)]
    elif kind == 1:
        w = noun_phrase() + ["is", rng.choice(PREPS)] + noun_phrase()
    elif kind == 2:
        w = [rng.choice(NAMES), "and", rng.choice(NAMES), rng.choice(MOTIONS), "to", "the", rng.choice(PLACES)]
        if rng.random() < 0.7:
            w += rng.choice(TIMES).split()
    elif kind == 3:
        w = ["please", rng.choice(ACTIONS)[1]] + noun_phrase(rng.random() < 0.5) + ["in", "the", rng.choice(PLACES)]
    else:
        w = ["did", rng.choice(NAMES), rng.choice(ACTIONS)[1]] + noun_phrase() + rng.choice(TIMES).split()
    return " ".join(w[:11])


def speakers(rng):
    """(id, engine, voice, settings) for every speaker."""
    out = []
    voices = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029"]
    variants = ["m1", "m2", "m3", "m4", "m7", "f1", "f2", "f3", "f4", "f5"]
    for v in voices:
        for var in variants:
            out.append(("espeak", f"{v}+{var}", {"rate": rng.randrange(130, 186, 5), "pitch": rng.randrange(25, 71, 5)}))
    for v in ["kal", "kal16", "awb", "rms", "slt"]:
        for tempo, cents in [(0.9, -150), (1.12, 150)]:
            out.append(("flite", v, {"tempo": tempo, "cents": cents}))
    for v in ["kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts"]:
        for tempo, cents in [(0.92, 120), (1.1, -120)]:
            out.append(("festival", v, {"tempo": tempo, "cents": cents}))
    return [(f"{e[0][0]}{i:02d}", *e) for i, e in enumerate(out)]


def run(cmd, stdin=None):
    subprocess.run(cmd, check=True, input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def synth(job):
    """Synthesises one utterance to 16 kHz mono 16-bit with 0.1 s of
    silence at each end."""
    engine, voice, cfg, text, wav = job
    raw = wav + ".raw.wav"
    if engine == "espeak":
        run(["espeak-ng", "-v", voice, "-s", str(cfg["rate"]), "-p", str(cfg["pitch"]), "-w", raw, text])
        effects = []
    elif engine == "flite":
        run(["flite", "-voice", voice, "-t", text, "-o", raw])
        effects = ["tempo", str(cfg["tempo"]), "pitch", str(cfg["cents"])]
    else:
        run(["text2wave", "-eval", f"(voice_{voice})", "-o", raw], stdin=text.encode())
        effects = ["tempo", str(cfg["tempo"]), "pitch", str(cfg["cents"])]
    run(["sox", raw, "-r", str(RATE), "-c", "1", "-b", "16", wav] + effects + [
        "silence", "1", "0.02", "0.5%", "reverse", "silence", "1", "0.02", "0.5%", "reverse",
        "pad", "0.1", "0.1"])
    os.remove(raw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=2022)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    spk = speakers(rng)
    # Speaker-disjoint splits, each with all three synthesisers.
    by_engine = {}
    for s in spk:
        by_engine.setdefault(s[1], []).append(s[0])
    order = {e: rng.sample(ids, len(ids)) for e, ids in sorted(by_engine.items())}
    test = order["espeak"][:9] + order["flite"][:2] + order["festival"][:1]
    dev = order["espeak"][9:13] + order["flite"][2:3] + order["festival"][1:2]
    split_of = {s: "test" for s in test}
    split_of.update({s: "dev" for s in dev})
    os.makedirs(os.path.join(OUT, "audio"), exist_ok=True)
    rows, jobs = [], []
    for sid, engine, voice, cfg in spk:
        for i in range(PER_SPEAKER):
            text = sentence(rng)
            uid = f"{sid}_{i:03d}"
            wav = os.path.join(OUT, "audio", uid + ".wav")
            rows.append((f"audio/{uid}.wav", text, sid, split_of.get(sid, "train")))
            if not os.path.exists(wav):
                jobs.append((engine, voice, cfg, text, wav))
    with ThreadPoolExecutor(max_workers=a.jobs) as ex:
        for k, _ in enumerate(ex.map(synth, jobs)):
            if k % 200 == 0:
                print(f"{k}/{len(jobs)}", file=sys.stderr)
    for name in ["train", "dev", "test"]:
        with open(os.path.join(OUT, f"{name}.tsv"), "w") as f:
            f.write("path\ttranscript\tspeaker\n")
            for r in rows:
                if r[3] == name:
                    f.write("\t".join(r[:3]) + "\n")
    words = {n: sum(len(r[1].split()) for r in rows if r[3] == n) for n in ["train", "dev", "test"]}
    vocab = len({w for r in rows for w in r[1].split()})
    print(f"wrote {len(rows)} utterances from {len(spk)} speakers to {OUT}: "
          f"words train {words['train']}, dev {words['dev']}, test {words['test']}; vocabulary {vocab}")


if __name__ == "__main__":
    sys.exit(main())
