# Prints to both streams, then raises: a traceback on stderr and exit status 1.
import sys
print("before the error")
print("warning on stderr", file=sys.stderr)
def inner(x):
    return {"a": 1}[x]
inner("missing")
