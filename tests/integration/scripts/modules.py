# Imports extension modules (json, sqlite3, hashlib, zlib, math, struct, datetime, ...) and
# prints results that are the same in every run; writes a JSON file and an SQLite database.
import array, base64, binascii, bisect, bz2, collections, csv, datetime, decimal, fractions
import hashlib, heapq, io, itertools, json, lzma, math, os, pickle, random, re, sqlite3
import statistics, struct, sys, time, unicodedata, uuid, zlib

data = b"nmr integration test " * 100
print("sha256:", hashlib.sha256(data).hexdigest())
print("md5:", hashlib.md5(data).hexdigest(), "blake2b:", hashlib.blake2b(data, digest_size=8).hexdigest())
c = zlib.compress(data, 9)
print("zlib:", len(c), hex(zlib.crc32(data)), zlib.decompress(c) == data)
print("bz2 roundtrip:", bz2.decompress(bz2.compress(data)) == data)
print("lzma roundtrip:", lzma.decompress(lzma.compress(data)) == data)
print("base64:", base64.b64encode(data[:12]).decode(), binascii.hexlify(data[:4]).decode())
print("math:", math.sqrt(2), math.factorial(30), math.gcd(1071, 462), math.isclose(math.pi, 3.14159, rel_tol=1e-5))
print("struct:", struct.pack("<iqd", -1, 2**40, 1.5).hex(), struct.unpack(">H", b"\x01\x02"))
print("date:", datetime.date(2024, 2, 28) + datetime.timedelta(days=2), datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc).isoformat())
now = datetime.datetime.now()
print("now plausible:", now.year >= 2024, "time plausible:", time.time() > 1.7e9, "monotonic:", time.monotonic() <= time.monotonic())
print("decimal:", decimal.Decimal(1) / decimal.Decimal(7), "fraction:", fractions.Fraction(3, 9) + fractions.Fraction(1, 6))
rng = random.Random(42)
print("seeded random:", [rng.randint(0, 100) for _ in range(5)])
print("urandom:", len(os.urandom(16)), "uuid4 version:", uuid.uuid4().version, "random():", 0 <= random.random() < 1)
print("statistics:", statistics.mean([1, 2, 3, 4]), statistics.median([5, 1, 3]))
print("collections:", sorted(collections.Counter("mississippi").items()))
print("heapq:", heapq.nsmallest(3, [5, 2, 8, 1, 9]), "bisect:", bisect.bisect([1, 3, 5], 4))
print("itertools:", list(itertools.permutations("abc", 2))[:4])
print("re:", re.findall(r"\d+", "a1b22c333"), "unicodedata:", unicodedata.name("é"))
print("array:", array.array("i", [1, 2, 3]).tobytes().hex())
print("pickle roundtrip:", pickle.loads(pickle.dumps({"a": [1, 2], "b": (3,)})) == {"a": [1, 2], "b": (3,)})
buf = io.StringIO()
csv.writer(buf).writerows([["x", "y"], [1, "two, three"]])
print("csv:", repr(buf.getvalue()))
print("set order independent of hash seed:", sorted({"pear", "apple", "fig"}))

with open("out.json", "w") as f:
    json.dump({"numbers": list(range(10)), "nested": {"k": "v"}, "pi": math.pi}, f, sort_keys=True, indent=2)
db = sqlite3.connect("py.sqlite")
db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL)")
db.executemany("INSERT INTO t (name, score) VALUES (?, ?)", [(f"n{i}", i * 1.5) for i in range(100)])
db.commit()
print("sqlite:", db.execute("SELECT count(*), sum(score), max(name) FROM t").fetchone(), sqlite3.sqlite_version_info >= (3, 0, 0))
db.close()
print("json back:", json.load(open("out.json"))["nested"])
print("done", file=sys.stderr)
