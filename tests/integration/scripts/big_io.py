# Reads and writes more than nmr's per-call transfer limit (16 MiB) in single calls:
# os.write may be short (it is, under nmr-run), and the program must see consistent results.
import hashlib
import os

data = bytes(range(256)) * (20 * 4096)  # 20 MiB
with open("big.bin", "wb") as f:  # buffered: loops over short writes
    f.write(data)
fd = os.open("big.bin", os.O_RDONLY)
first = os.read(fd, len(data))  # one read(2): may be short
rest = b""
while True:
    chunk = os.read(fd, 1 << 20)
    if not chunk:
        break
    rest += chunk
os.close(fd)
whole = first + rest
print(len(whole), whole == data, hashlib.sha256(whole).hexdigest())
