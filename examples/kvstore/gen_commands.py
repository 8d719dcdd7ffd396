#!/usr/bin/env python3
"""Writes commands.txt, the input of the kvstore example: 200 commands from a fixed seed.

The output is committed; run this again only to change it:  ./gen_commands.py > commands.txt
"""
import random

rng = random.Random(1234)
fruits = ["apple", "banana", "cherry", "date", "elder", "fig", "grape", "kiwi", "lemon",
          "mango", "nectarine", "olive", "papaya", "quince", "raspberry", "strawberry"]
colours = ["red", "green", "blue", "yellow", "purple", "orange", "brown", "black"]
keys = [f"{f}:{n}" for f in fruits for n in range(3)]


def value():
    return " ".join(rng.choice(colours) for _ in range(rng.randint(1, 3))) + f" {rng.randint(0, 9999)}"


lines = []
while len(lines) < 190:
    r = rng.random()
    key = rng.choice(keys)
    if r < 0.45:
        lines.append(f"set {key} {value()}")
    elif r < 0.75:
        lines.append(f"get {key}")
    elif r < 0.88:
        lines.append(f"del {key}")
    elif r < 0.94:
        lines.append("count")
    else:
        lines.append("list")
# A few malformed commands, at fixed places, to show ERR and that the store goes on.
for pos, bad in [(17, "put apple:0 red"), (60, "set lonely-key"), (95, "get"),
                 (130, "del a b"), (150, "list everything")]:
    lines.insert(pos, bad)
lines += ["count", "list"]
print("\n".join(lines))
