# Writes a file and leaves with sys.exit(3).
import sys
with open("partial.txt", "w") as f:
    f.write("written before exit\n")
print("exiting with 3", file=sys.stderr)
sys.exit(3)
