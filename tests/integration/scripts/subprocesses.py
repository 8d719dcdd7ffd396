# Python's ways of starting processes, each checked for what the parent sees (no pids printed:
# virtual pids differ from a native run's).
import os
import signal
import subprocess
import sys

print(subprocess.run(["echo", "run"], capture_output=True, text=True).stdout, end="")
print(subprocess.check_output("printf 'a\\nb\\nc\\n' | wc -l", shell=True, text=True).strip())
p = subprocess.Popen(["sort", "-r"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
out, _ = p.communicate("x\nz\ny\n")
print(out.split(), p.returncode)
print("os.system:", os.system("exit 3") >> 8)
r = subprocess.run(["sh", "-c", "echo to stderr >&2; exit 4"], stderr=subprocess.PIPE, text=True)
print(r.returncode, r.stderr.strip())
try:
    subprocess.run(["/no/such/program"])
except FileNotFoundError as e:
    print("FileNotFoundError", e.errno)

chld = []
signal.signal(signal.SIGCHLD, lambda s, f: chld.append(s))
pid = os.fork()
if pid == 0:
    os._exit(7)
got, status = os.waitpid(pid, 0)
print("fork:", got == pid, os.WEXITSTATUS(status), "SIGCHLD seen:", len(chld) >= 1)

sleeper = subprocess.Popen(["sleep", "30"])
sleeper.send_signal(signal.SIGTERM)
print("killed child:", sleeper.wait())

pid = os.fork()
if pid == 0:
    print("child sees its parent:", os.getppid() == int(sys.argv[1]) if len(sys.argv) > 1 else True)
    sys.stdout.flush()
    os._exit(0)
os.waitpid(pid, 0)
print("waitpid on no child:", end=" ")
try:
    os.waitpid(-1, 0)
except ChildProcessError as e:
    print("ECHILD", e.errno)
