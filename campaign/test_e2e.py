#!/usr/bin/python3
"""End-to-end tests of nmr-campaign with a real nmr-run.

Environment: NMR_CAMPAIGN (the nmr-campaign to test, default: nmr_campaign.py beside this
file) and NMR_RUN (the nmr-run to use, required). ctest sets both (campaign/CMakeLists.txt)."""

import json
import os
import signal
import subprocess
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
CAMPAIGN = os.environ.get("NMR_CAMPAIGN", os.path.join(HERE, "nmr_campaign.py"))
NMR_RUN = os.environ.get("NMR_RUN")
OUTCOMES = ("benign", "corrected", "detected", "sdc", "crash", "hang")
FRUIT = b"pear\napple\nfig\nbanana\ncherry\nkiwi\n"


def campaign_argv():
    return ["/usr/bin/python3", CAMPAIGN] if CAMPAIGN.endswith(".py") else [CAMPAIGN]


def setUpModule():
    if not NMR_RUN or not os.access(NMR_RUN, os.X_OK):
        raise RuntimeError("set NMR_RUN to a built nmr-run (got %r)" % NMR_RUN)


class Base(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="campaign-e2e-")
        self.tmpdir = os.path.join(self.dir, "tmp")  # nmr-campaign's TMPDIR: must end empty
        os.mkdir(self.tmpdir)
        self.fruit = os.path.join(self.dir, "fruit.txt")
        with open(self.fruit, "wb") as f:
            f.write(FRUIT)

    def tearDown(self):
        subprocess.run(["rm", "-rf", self.dir])

    def path(self, name):
        return os.path.join(self.dir, name)

    def env(self):
        return dict(os.environ, TMPDIR=self.tmpdir)

    def campaign(self, *args, nmr=True, timeout=120):
        """Runs nmr-campaign ARGS in the test's directory (with --nmr NMR_RUN first unless
        nmr=False or it is a merge)."""
        args = list(args)
        if nmr and args[:1] != ["merge"]:
            args = ["--nmr", NMR_RUN] + args
        return subprocess.run(campaign_argv() + args, cwd=self.dir, env=self.env(),
                              capture_output=True, text=True, timeout=timeout)

    def assert_tmpdir_empty(self):
        self.assertEqual(os.listdir(self.tmpdir), [], "nmr-campaign left temporary files")

    def load(self, name):
        with open(self.path(name)) as f:
            return json.load(f)


class CampaignTest(Base):
    def test_corrupt_vote_campaign(self):
        start = time.monotonic()
        r = self.campaign("--trials", "3", "--kinds", "corrupt-vote", "--seed", "1",
                          "--json", "out.json", "--chart", "out.svg", "--",
                          "/usr/bin/sort", "fruit.txt")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertLess(time.monotonic() - start, 45)
        doc = self.load("out.json")
        self.assertEqual(doc["program"], ["/usr/bin/sort", "fruit.txt"])
        self.assertEqual((doc["seed"], doc["trials_per_kind"], doc["kinds"]),
                         (1, 3, ["corrupt-vote"]))
        self.assertEqual(doc["golden"]["status"], {"code": 0})
        self.assertEqual(doc["golden"]["stdout_bytes"], len(FRUIT))
        trials = doc["trials"]
        self.assertEqual(len(trials), 6)
        self.assertEqual(sorted(t["mode"] for t in trials), ["native"] * 3 + ["tmr"] * 3)
        self.assertEqual(sorted({t["index"] for t in trials}), [0, 1, 2])
        for t in trials:
            self.assertIn(t["outcome"], OUTCOMES)
            self.assertEqual(t["kind"], "corrupt-vote")
            self.assertTrue(1 <= t["at_vote"] <= 50)
            cmd = t["command"]
            self.assertEqual(cmd[0], os.path.abspath(NMR_RUN))
            self.assertEqual(cmd[cmd.index("-n") + 1], "1" if t["mode"] == "native" else "3")
            spec = cmd[cmd.index("--inject") + 1]
            self.assertEqual(spec, "kind=corrupt-vote,replica=%d,at_vote=%d"
                             % (t["replica"], t["at_vote"]))
            self.assertEqual(cmd[cmd.index("--") + 1:], ["/usr/bin/sort", "fruit.txt"])
            # sort makes ~100 votes: every fault is injected
            self.assertEqual(t["injected"], 1, t)
            if t["mode"] == "tmr":
                # TMR masks one corrupted vote: the report shows it, the output is right
                self.assertEqual(t["outcome"], "corrected", t)
                self.assertEqual(t["status"], {"code": 0})
                self.assertGreaterEqual(t["divergences"], 1)
        for mode in ("native", "tmr"):
            self.assertEqual(list(doc[mode]), list(OUTCOMES))
            self.assertEqual(sum(doc[mode].values()), 3)
            self.assertEqual(doc["by_kind"]["corrupt-vote"][mode], doc[mode])
            counted = {o: sum(1 for t in trials if t["mode"] == mode and t["outcome"] == o)
                       for o in OUTCOMES}
            self.assertEqual(counted, doc[mode])
        self.assertEqual(doc["tmr"]["corrected"], 3)
        # the chart
        self.assertGreater(os.path.getsize(self.path("out.svg")), 1000)
        with open(self.path("out.svg")) as f:
            self.assertIn("<svg", f.read())
        # the table on stdout
        rows = {line.split()[0]: line.split()[1:] for line in r.stdout.splitlines()
                if line.startswith(("corrupt-vote", "total"))}
        self.assertEqual(rows["total"], [str(doc[m][o]) for m in ("native", "tmr")
                                         for o in OUTCOMES])
        # progress: one line per run
        self.assertEqual(len([ln for ln in r.stderr.splitlines() if ln.startswith("[")]), 6)
        self.assert_tmpdir_empty()

        # Any trial can be replayed by hand from its command (in the campaign's cwd).
        t = next(t for t in trials if t["mode"] == "tmr")
        replay = subprocess.run(t["command"], cwd=self.dir, capture_output=True,
                                stdin=subprocess.DEVNULL, timeout=60)
        self.assertEqual(replay.returncode, 0, replay.stderr)
        self.assertEqual(replay.stdout, b"".join(sorted(FRUIT.splitlines(True))))
        with open(self.path("report.json")) as f:
            report = json.load(f)
        self.assertEqual(len(report["divergences"]), t["divergences"])

        # The same seed draws the same faults.
        r2 = self.campaign("--trials", "3", "--kinds", "corrupt-vote", "--seed", "1",
                           "--json", "again.json", "--", "/usr/bin/sort", "fruit.txt")
        self.assertEqual(r2.returncode, 0, r2.stderr)
        key = lambda t: (t["index"], t["mode"], t["at_vote"], t["replica"], t["seed"])  # noqa
        self.assertEqual([key(t) for t in self.load("again.json")["trials"]],
                         [key(t) for t in trials])

    def test_shards_and_merge(self):
        common = ["--trials", "3", "--kinds", "corrupt-vote,other-vote", "--seed", "7"]
        # other-vote is not a kind nmr-run knows: nmr-campaign refuses it before any trial
        r = self.campaign(*common, "--json", "x.json", "--", "/usr/bin/sort", "fruit.txt")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("refuses fault kind 'other-vote'", r.stderr)
        self.assertFalse(os.path.exists(self.path("x.json")))
        self.assertFalse(os.path.exists(self.path("x.policy.yaml")))

        common = ["--trials", "5", "--kinds", "corrupt-vote", "--seed", "7", "-j", "2"]
        prog = ["--", "/usr/bin/sort", "fruit.txt"]
        full = self.campaign(*common, "--json", "full.json", *prog)
        self.assertEqual(full.returncode, 0, full.stderr)
        for i in (1, 2):
            r = self.campaign(*common, "--shard", "%d/2" % i, "--json", "s%d.json" % i, *prog)
            self.assertEqual(r.returncode, 0, r.stderr)
        s1, s2 = self.load("s1.json"), self.load("s2.json")
        self.assertEqual(s1["shard"], "1/2")
        self.assertEqual(sorted({t["global_index"] for t in s1["trials"]}), [0, 2, 4])
        self.assertEqual(sorted({t["global_index"] for t in s2["trials"]}), [1, 3])
        m = self.campaign("merge", "--json", "merged.json", "--chart", "merged.png",
                          "s2.json", "s1.json")
        self.assertEqual(m.returncode, 0, m.stderr)
        merged, whole = self.load("merged.json"), self.load("full.json")
        key = lambda t: (t["global_index"], t["mode"], t["seed"], t["at_vote"],  # noqa
                         t["replica"], t["outcome"], t["command"][-2:])
        self.assertEqual([key(t) for t in merged["trials"]], [key(t) for t in whole["trials"]])
        for field in ("native", "tmr", "by_kind"):
            self.assertEqual(merged[field], whole[field])
        self.assertEqual(sum(merged["native"].values()), 5)
        self.assertEqual(sum(merged["tmr"].values()), 5)
        with open(self.path("merged.png"), "rb") as f:
            self.assertEqual(f.read(4), b"\x89PNG")
        self.assertIn("total", m.stdout)

        # shards of different campaigns do not merge
        other = self.campaign("--trials", "5", "--kinds", "corrupt-vote", "--seed", "8",
                              "--shard", "2/2", "--json", "o.json", *prog)
        self.assertEqual(other.returncode, 0, other.stderr)
        bad = self.campaign("merge", "--json", "bad.json", "s1.json", "o.json")
        self.assertEqual(bad.returncode, 1)
        self.assertIn("seed", bad.stderr)
        self.assertFalse(os.path.exists(self.path("bad.json")))
        dup = self.campaign("merge", "--json", "dup.json", "s1.json", "s1.json")
        self.assertEqual(dup.returncode, 1)
        self.assertIn("in both", dup.stderr)
        self.assert_tmpdir_empty()


class ErrorTest(Base):
    def check_usage_error(self, args, words, nmr=True):
        r = self.campaign(*args, nmr=nmr)
        self.assertEqual(r.returncode, 2, (args, r.stderr))
        for w in words:
            self.assertIn(w, r.stderr, args)
        self.assertEqual(sorted(os.listdir(self.dir)), ["fruit.txt", "tmp"])
        self.assertFalse(os.path.exists(self.path("o.json")))
        self.assert_tmpdir_empty()

    def test_bad_flags(self):
        prog = ["--", "/usr/bin/sort", "fruit.txt"]
        self.check_usage_error(["--trials", "0", "--json", "o.json"] + prog, ["--trials"])
        self.check_usage_error(["--trials", "x", "--json", "o.json"] + prog, ["--trials"])
        self.check_usage_error(["--json", "o.json"] + prog, ["--trials"])
        self.check_usage_error(["--trials", "2"] + prog, ["--json"])
        self.check_usage_error(["--trials", "2", "--json", "o.json", "--bogus"] + prog,
                               ["--bogus"])
        self.check_usage_error(["--trials", "2", "--json", "o.json", "--shard", "3/2"] + prog,
                               ["--shard"])
        self.check_usage_error(["--trials", "2", "--json", "o.json", "--kinds", "a,,b"] + prog,
                               ["--kinds"])
        self.check_usage_error(["--trials", "2", "--json", "o.json", "--kinds", "kill,kill"]
                               + prog, ["--kinds", "twice"])
        self.check_usage_error(["--trials", "2", "--json", "o.json", "-j", "0"] + prog, ["-j"])
        self.check_usage_error(["--trials", "2", "--json", "o.json", "--timeout-factor", "-1"]
                               + prog, ["--timeout-factor"])
        self.check_usage_error(["--trials", "2", "--json", "o.json", "--chart", "c.xyz"] + prog,
                               ["--chart"])
        self.check_usage_error(["--trials", "2", "--json", "no/such/dir/o.json"] + prog,
                               ["--json"])
        self.check_usage_error(["--trials", "2", "--json", "o.json", "--stdin", "nope"] + prog,
                               ["--stdin"])
        self.check_usage_error(["--trials", "2", "--json", "o.json", "--policy", "nope"] + prog,
                               ["--policy"])
        self.check_usage_error(["--trials", "2", "--json", "o.json", "--nmr", "/nonexistent",
                                "--"] + prog[1:], ["--nmr"], nmr=False)

    def test_missing_program(self):
        self.check_usage_error(["--trials", "2", "--json", "o.json", "--", "/no/such/prog"],
                               ["PROGRAM not found", "/no/such/prog"])
        self.check_usage_error(["--trials", "2", "--json", "o.json", "--", "no-such-prog-xyz"],
                               ["PROGRAM not found", "no-such-prog-xyz"])
        self.check_usage_error(["--trials", "2", "--json", "o.json", "--"], ["no PROGRAM"])
        self.check_usage_error(["--trials", "2", "--json", "o.json"], ["no PROGRAM"])

    def test_user_policy_errors_stop_the_campaign(self):
        with open(self.path("p.yaml"), "w") as f:
            f.write("on_divergence: explode\n")
        r = self.campaign("--trials", "2", "--kinds", "corrupt-vote", "--policy", "p.yaml",
                          "--json", "o.json", "--", "/usr/bin/sort", "fruit.txt")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("explode", r.stderr)
        self.assertFalse(os.path.exists(self.path("o.json")))
        self.assert_tmpdir_empty()

    def test_stdin_and_failing_golden_run(self):
        # The program reads --stdin; its golden run fails (exit 1): the campaign goes on.
        r = self.campaign("--trials", "1", "--kinds", "corrupt-vote", "--stdin", "fruit.txt",
                          "--json", "o.json", "--", "/usr/bin/sort", "-c")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("golden run", r.stderr)
        doc = self.load("o.json")
        self.assertEqual(doc["golden"]["status"], {"code": 1})
        self.assertFalse(doc["golden"]["ok"])
        self.assertEqual(doc["stdin"], self.fruit)
        self.assertEqual(len(doc["trials"]), 2)


class InterruptTest(Base):
    """Ctrl-C or SIGTERM in the middle of a campaign: every run killed and reaped, the
    temporary files removed, no results written."""

    MARK = "0.7131"  # a sleep length nothing else on the machine uses

    def processes_with_mark(self):
        found = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    cmd = f.read().split(b"\0")
                with open("/proc/%s/stat" % pid, "rb") as f:
                    state = f.read().rsplit(b")", 1)[1].split()[0]
            except OSError:
                continue
            if self.MARK.encode() in cmd and b"nmr_campaign.py" not in b" ".join(cmd) \
                    and not any(c.endswith(b"nmr-campaign") for c in cmd):
                found.append((int(pid), state, cmd))
        return found

    def interrupt(self, sig):
        # The program sleeps as long as the file 'delay' says: short for the golden and
        # control runs, then 30 s, so that the trials are still running when the signal comes
        # (and a campaign that waited for them instead of killing them would take 30 s).
        delay = self.path("delay")
        with open(delay, "w") as f:
            f.write("0.2")
        code = "import sys, time; time.sleep(float(open(sys.argv[1]).read()))"
        argv = campaign_argv() + [
            "--nmr", NMR_RUN, "--trials", "20", "--kinds", "corrupt-vote", "-j", "2",
            "--timeout-factor", "300", "--json", "o.json",
            "--", "/usr/bin/python3", "-c", code, delay, self.MARK]
        proc = subprocess.Popen(argv, cwd=self.dir, env=self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            lines = []
            while not (lines and lines[-1].startswith("[")):  # the first trial run finished
                lines.append(proc.stderr.readline())
                self.assertNotEqual(lines[-1], "", "nmr-campaign ended: %s" % lines)
            self.assertTrue(lines[-1].startswith("[1/40]"), lines)
            with open(delay + ".new", "w") as f:
                f.write("30")
            os.rename(delay + ".new", delay)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                # two nmr-runs at work (-j 2), each with its replicas
                if len(self.processes_with_mark()) >= 4:
                    break
                time.sleep(0.05)
            else:
                self.fail("no trial runs to interrupt: %s" % self.processes_with_mark())
            time.sleep(1.0)  # the replicas are asleep in their 30 s
            self.assertGreaterEqual(len(self.processes_with_mark()), 4)
            start = time.monotonic()
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=20)
            self.assertLess(time.monotonic() - start, 5)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(proc.returncode, 128 + sig, err)
        self.assertIn("interrupted", err)
        self.assertEqual(self.processes_with_mark(), [], "processes left behind")
        self.assertFalse(os.path.exists(self.path("o.json")))
        self.assertFalse(os.path.exists(self.path("o.policy.yaml")))
        self.assert_tmpdir_empty()

    def test_ctrl_c(self):
        self.interrupt(signal.SIGINT)

    def test_sigterm(self):
        self.interrupt(signal.SIGTERM)


if __name__ == "__main__":
    unittest.main(verbosity=2)
