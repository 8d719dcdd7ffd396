#!/usr/bin/python3
"""Types at a program on a pseudo-terminal, step by step: each step waits until the
terminal has shown a text, then types the next keys (Ctrl-Z included). No step sleeps: a
key that stops a job is typed once the job has shown that it runs.

usage: pty_session.py STEPS_JSON COMMAND [ARG...]
STEPS_JSON is a list of [expected, typed] pairs, or [expected, typed, file]: a step with a
file also creates it (empty), for a program that waits for it. The transcript (everything the terminal
showed) goes to stdout; the exit status is the program's, or 124 if a step's text did not
show within 20 seconds (the transcript so far goes to stderr)."""
import fcntl
import json
import os
import pty
import select
import struct
import sys
import termios
import time


def main():
    steps = json.loads(sys.argv[1])
    pid, master = pty.fork()
    if pid == 0:
        # Wide enough that a shell echoes a long command line as one line.
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 1000, 0, 0))
        os.execvp(sys.argv[2], sys.argv[2:])
    transcript = b""
    seen = 0  # what earlier steps matched is not matched again
    for step in steps:
        expected, typed = step[0], step[1]
        deadline = time.monotonic() + 20
        while expected.encode() not in transcript[seen:]:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([master], [], [], max(left, 0))
            if not ready:
                sys.stderr.write(transcript.decode(errors="replace"))
                sys.stderr.write(f"\n--- waited 20 s for {expected!r}\n")
                os.kill(pid, 9)
                sys.exit(124)
            try:
                transcript += os.read(master, 4096)
            except OSError:
                break
        seen = transcript.index(expected.encode(), seen) + len(expected)
        if len(step) > 2:
            open(step[2], "w").close()
        os.write(master, typed.encode())
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        transcript += chunk
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(transcript.decode(errors="replace"))
    sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)


main()
