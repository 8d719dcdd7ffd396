#!/usr/bin/env python3
"""wordfreq: word frequencies of a text file, a typical small data-processing script.

    python3 wordfreq.py INPUT.txt SUMMARY.json

Prints the 20 most frequent words (ties broken alphabetically) with their counts, then the
sha256 of the sorted (word, count) list, and writes a JSON summary to SUMMARY.json.
Standard library only; the output depends on nothing but the input.
"""
import collections
import hashlib
import json
import re
import sys


def main(argv):
    if len(argv) != 3:
        print("usage: wordfreq.py INPUT.txt SUMMARY.json", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        text = f.read()
    counts = collections.Counter(re.findall(r"[a-z']+", text.lower()))
    top = sorted(counts.items(), key=lambda wc: (-wc[1], wc[0]))[:20]
    for word, count in top:
        print(f"{count:7d} {word}")
    ordered = sorted(counts.items())
    digest = hashlib.sha256(
        "".join(f"{w}\t{c}\n" for w, c in ordered).encode("utf-8")).hexdigest()
    print(f"sha256={digest}")
    summary = {
        "input": argv[1],
        "bytes": len(text.encode("utf-8")),
        "words": sum(counts.values()),
        "distinct": len(counts),
        "top": [{"word": w, "count": c} for w, c in top],
        "sha256": digest,
    }
    with open(argv[2], "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
