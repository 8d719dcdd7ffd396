#!/usr/bin/env python3
"""Writes input.txt, the input of the wordfreq example: ~200 KB of sentences drawn from a
fixed vocabulary with a fixed seed (Zipf-like weights, so the top 20 is meaningful).

The output is committed; run this again only to change it:  ./gen_input.py > input.txt
"""
import random

rng = random.Random(42)
vocabulary = """the of and to in a is that for it as was with be by on not he i this are or
his from at which but have an they you were her she there been one all we their has would
when if so no will more about can said what out some them into only its time could these
two may then do first any my now such like our over man me even most made after also did
many before must through back years where much your way well down should because each just
those people how too little state good very make world still own see men work long get
here between both life being under never day same another know while last might us great
old year off come since against go came right used take three replica vote majority fault
bit flip memory register signal kernel process supervisor checksum matrix heap stack store
key value file line word count river mountain forest lantern harbour engine garden winter
summer autumn spring window letter candle bridge valley meadow thunder silver copper iron
""".split()
weights = [1.0 / (rank + 1) ** 0.9 for rank in range(len(vocabulary))]

out, size = [], 0
while size < 200_000:
    words = rng.choices(vocabulary, weights, k=rng.randint(6, 18))
    sentence = " ".join(words).capitalize() + rng.choice([".", ".", ".", "?", "!", ";"])
    if rng.random() < 0.15:
        sentence = f"\"{sentence}\" said the {rng.choice(['engineer', 'captain', 'doctor'])}."
    out.append(sentence)
    size += len(sentence) + 1
    if rng.random() < 0.12:
        out.append("\n")
text = " ".join(out).replace(" \n ", "\n\n")
print(text)
