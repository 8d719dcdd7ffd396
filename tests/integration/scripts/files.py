# Reads input.txt, writes derived files, renames and removes some, lists directories
# (sorted) and prints what it did. Run in a fresh directory holding input.txt.
import os
import pathlib
import shutil

text = pathlib.Path("input.txt").read_text()
words = text.split()
print(f"lines: {len(text.splitlines())}, words: {len(words)}, bytes: {len(text.encode())}")

with open("upper.txt", "w") as f:
    f.write(text.upper())
with open("counts.tsv", "w") as f:
    counts = {}
    for w in words:
        counts[w] = counts.get(w, 0) + 1
    for w, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        f.write(f"{w}\t{n}\n")

os.makedirs("out/nested/deeper", exist_ok=True)
shutil.copy("upper.txt", "out/nested/copy.txt")
os.rename("counts.tsv", "out/counts.tsv")
with open("scratch.tmp", "wb") as f:
    f.write(bytes(range(256)) * 64)
    f.flush()
    os.fsync(f.fileno())
print("scratch size:", os.path.getsize("scratch.tmp"))
os.remove("scratch.tmp")
with open("appended.log", "a") as f:
    for i in range(5):
        f.write(f"entry {i}\n")
with open("appended.log", "r+b") as f:
    f.seek(6)
    f.write(b"#")
    f.seek(0, os.SEEK_END)
    print("appended.log ends at", f.tell())

for root, dirs, files in sorted(os.walk(".")):
    dirs.sort()
    print(root, sorted(dirs), sorted(files))
print("listdir:", sorted(os.listdir(".")))
print("scandir out:", sorted((e.name, e.is_dir()) for e in os.scandir("out")))
print("exists scratch:", os.path.exists("scratch.tmp"))
print("cwd ends with run:", os.getcwd().endswith("run"))
