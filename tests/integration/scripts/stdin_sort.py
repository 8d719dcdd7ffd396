# Reads stdin, writes its sorted lines to sorted.txt and a summary to stdout.
import sys
lines = sys.stdin.read().splitlines()
with open("sorted.txt", "w") as f:
    f.write("\n".join(sorted(lines, reverse=True)) + "\n")
print(len(lines), "lines, longest", max((len(l) for l in lines), default=0))
