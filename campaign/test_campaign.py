#!/usr/bin/python3
"""Unit tests of nmr-campaign's pure parts (campaign_core), its process runner's timeout and
clean-up (campaign_run) and its chart. Run: /usr/bin/python3 campaign/test_campaign.py"""

import os
import signal
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import campaign_core as core  # noqa: E402
import campaign_run  # noqa: E402

OK = {"code": 0}
GOLDEN = b"apple\nbanana\n"


def trial(kind="kill", index=0, global_index=0, seed=7, after_ms=5, at_vote=None, tmr_replica=2):
    return {"kind": kind, "index": index, "global_index": global_index, "seed": seed,
            "after_ms": after_ms, "at_vote": at_vote, "tmr_replica": tmr_replica}


class StatusTest(unittest.TestCase):
    def test_returncodes(self):
        self.assertEqual(core.status_from_returncode(0), {"code": 0})
        self.assertEqual(core.status_from_returncode(122), {"code": 122})
        self.assertEqual(core.status_from_returncode(-9), {"signal": 9})
        self.assertEqual(core.status_text({"signal": 11}), "signal 11")
        self.assertEqual(core.status_text({"code": 3}), "exit 3")
        self.assertTrue(core.status_ok({"code": 0}))
        self.assertFalse(core.status_ok({"signal": 0}))


class ClassifyTest(unittest.TestCase):
    def classify(self, stdout=GOLDEN, status=OK, timed_out=False, report=None,
                 golden=GOLDEN, golden_status=OK):
        return core.classify(golden, golden_status, stdout, status, timed_out, report)

    def test_benign(self):
        self.assertEqual(self.classify(), "benign")
        self.assertEqual(self.classify(report={"divergences": [], "recoveries": []}), "benign")
        self.assertEqual(self.classify(report={"divergences": [], "injected": ["x"]}), "benign")

    def test_corrected_by_divergence_or_recovery(self):
        self.assertEqual(self.classify(report={"divergences": [{"replica": 1}]}), "corrected")
        self.assertEqual(self.classify(report={"divergences": [], "recoveries": [{}]}),
                         "corrected")

    def test_report_missing_or_malformed_is_not_a_detection(self):
        for report in (None, [], "x", {"divergences": 3}, {"divergences": None}, {}):
            self.assertEqual(self.classify(report=report), "benign", report)

    def test_detected_is_exit_122(self):
        self.assertEqual(self.classify(status={"code": 122}, stdout=b""), "detected")
        self.assertEqual(self.classify(status={"code": 122}, report={"outcome": "no-majority"}),
                         "detected")

    def test_program_that_exits_122_itself(self):
        # The golden run exits 122 and the report says the program exited: not a detection.
        self.assertEqual(self.classify(status={"code": 122}, golden_status={"code": 122},
                                       report={"outcome": "exit", "divergences": []}), "benign")
        self.assertEqual(self.classify(status={"code": 122}, golden_status={"code": 122},
                                       report={"outcome": "no-majority"}), "detected")

    def test_sdc_is_same_status_different_output(self):
        self.assertEqual(self.classify(stdout=b"apple\nbanaNa\n"), "sdc")
        self.assertEqual(self.classify(stdout=b""), "sdc")
        # Even with a divergence in the report: the output is wrong, nothing was masked.
        self.assertEqual(self.classify(stdout=b"x", report={"divergences": [{}]}), "sdc")
        # A failing golden run: the same failure with other output is still sdc.
        self.assertEqual(self.classify(stdout=b"x", status={"code": 2},
                                       golden_status={"code": 2}), "sdc")

    def test_crash_is_signal_or_other_status(self):
        self.assertEqual(self.classify(status={"signal": 11}), "crash")
        self.assertEqual(self.classify(status={"signal": 9}, stdout=b""), "crash")
        self.assertEqual(self.classify(status={"code": 1}), "crash")
        self.assertEqual(self.classify(status={"code": 125}), "crash")
        self.assertEqual(self.classify(status={"code": 0}, golden_status={"code": 1}), "crash")

    def test_hang_wins(self):
        self.assertEqual(self.classify(timed_out=True, status={"signal": 9}), "hang")
        self.assertEqual(self.classify(timed_out=True, status={"code": 122}), "hang")
        self.assertEqual(self.classify(timed_out=True), "hang")


class PlanTest(unittest.TestCase):
    def test_deterministic(self):
        a = core.plan_trials(1, ["kill", "stop"], 20, 1000.0)
        b = core.plan_trials(1, ["kill", "stop"], 20, 1000.0)
        self.assertEqual(a, b)
        c = core.plan_trials(2, ["kill", "stop"], 20, 1000.0)
        self.assertNotEqual([t["seed"] for t in a], [t["seed"] for t in c])

    def test_pinned_values(self):
        # Recorded campaigns are replayed from (seed, kind, index): the draws must never change.
        t = core.plan_trials(1, ["corrupt-vote"], 1, 1.0)[0]
        self.assertEqual((t["seed"], t["at_vote"], t["tmr_replica"], t["after_ms"]),
                         (2124599145, 24, 2, None))
        rng = core.trial_rng(1, "kill", 3)
        self.assertEqual(rng.randrange(core.FAULT_SEED_RANGE),
                         core.trial_rng(1, "kill", 3).randrange(core.FAULT_SEED_RANGE))

    def test_trial_independent_of_rest_of_campaign(self):
        # A trial's fault depends on (seed, kind, index) only, not on the other kinds or K.
        big = core.plan_trials(5, ["kill", "stop", "bitflip-memory"], 30, 800.0)
        small = core.plan_trials(5, ["bitflip-memory"], 10, 800.0)
        by_key = {(t["kind"], t["index"]): t for t in big}
        for t in small:
            b = by_key[(t["kind"], t["index"])]
            for key in ("seed", "after_ms", "tmr_replica", "at_vote"):
                self.assertEqual(t[key], b[key])

    def test_ranges_and_order(self):
        plan = core.plan_trials(3, ["kill", "corrupt-vote"], 200, 250.0)
        self.assertEqual([t["global_index"] for t in plan], list(range(400)))
        self.assertEqual([t["kind"] for t in plan], ["kill"] * 200 + ["corrupt-vote"] * 200)
        for t in plan[:200]:
            self.assertTrue(1 <= t["after_ms"] < 250, t)
            self.assertIsNone(t["at_vote"])
        for t in plan[200:]:
            self.assertTrue(1 <= t["at_vote"] <= core.AT_VOTE_MAX, t)
            self.assertIsNone(t["after_ms"])
        for t in plan:
            self.assertIn(t["tmr_replica"], (0, 1, 2))
            self.assertTrue(0 <= t["seed"] < core.FAULT_SEED_RANGE)
        self.assertEqual({t["tmr_replica"] for t in plan}, {0, 1, 2})
        # uniform over [0, golden): the times spread over the whole run
        times = [t["after_ms"] for t in plan[:200]]
        self.assertLess(min(times), 50)
        self.assertGreater(max(times), 200)

    def test_short_golden_run_gives_at_least_one_ms(self):
        for t in core.plan_trials(0, ["kill"], 50, 0.4):
            self.assertEqual(t["after_ms"], 1)


class ShardTest(unittest.TestCase):
    def test_parse(self):
        self.assertEqual(core.parse_shard("1/1"), (1, 1))
        self.assertEqual(core.parse_shard("3/16"), (3, 16))
        for bad in ("0/4", "5/4", "1/0", "1", "a/b", "-1/4", "", "1/4/2", None):
            with self.assertRaises(ValueError, msg=bad):
                core.parse_shard(bad)

    def test_shards_partition_the_trials(self):
        for k in (1, 2, 3, 7):
            owners = {i: [s for s in range(1, k + 1) if core.in_shard(i, (s, k))]
                      for i in range(50)}
            self.assertTrue(all(len(v) == 1 for v in owners.values()), owners)
            self.assertEqual(owners[0], [1])
            self.assertEqual(owners[k - 1 if k > 1 else 0], [k])
        self.assertTrue(all(core.in_shard(i, None) for i in range(10)))


class CommandTest(unittest.TestCase):
    def test_inject_spec_time_kinds(self):
        t = trial(kind="bitflip-memory", seed=99, after_ms=37, tmr_replica=2)
        self.assertEqual(core.inject_spec(t, "native"),
                         "kind=bitflip-memory,replica=0,after_ms=37,seed=99")
        self.assertEqual(core.inject_spec(t, "tmr"),
                         "kind=bitflip-memory,replica=2,after_ms=37,seed=99")

    def test_inject_spec_corrupt_vote(self):
        t = trial(kind="corrupt-vote", after_ms=None, at_vote=12, tmr_replica=1)
        self.assertEqual(core.inject_spec(t, "native"), "kind=corrupt-vote,replica=0,at_vote=12")
        self.assertEqual(core.inject_spec(t, "tmr"), "kind=corrupt-vote,replica=1,at_vote=12")

    def test_preflight_spec_keeps_the_keys(self):
        t = trial(kind="stop", seed=4, after_ms=9, tmr_replica=1)
        p = core.preflight_trial(t)
        self.assertEqual(core.inject_spec(p, "tmr"),
                         "kind=stop,replica=1,after_ms=%d,seed=4" % core.PREFLIGHT_AFTER_MS)
        self.assertEqual(t["after_ms"], 9)  # the trial itself is unchanged
        v = core.preflight_trial(trial(kind="corrupt-vote", after_ms=None, at_vote=3))
        self.assertEqual(core.inject_spec(v, "native"),
                         "kind=corrupt-vote,replica=0,at_vote=%d" % core.PREFLIGHT_AT_VOTE)

    def test_commands(self):
        t = trial(kind="kill", seed=4, after_ms=9, tmr_replica=1)
        self.assertEqual(core.nmr_command("/b/nmr-run", "native", t, "/p.yaml", "r.json",
                                          ["sort", "-r", "f"]),
                         ["/b/nmr-run", "-n", "1", "--report", "r.json", "--inject",
                          "kind=kill,replica=0,after_ms=9,seed=4", "--", "sort", "-r", "f"])
        self.assertEqual(core.nmr_command("/b/nmr-run", "tmr", t, "/p.yaml", "r.json", ["sort"]),
                         ["/b/nmr-run", "-n", "3", "-p", "/p.yaml", "--report", "r.json",
                          "--inject", "kind=kill,replica=1,after_ms=9,seed=4", "--", "sort"])
        # control runs: no fault
        self.assertEqual(core.nmr_command("nmr-run", "tmr", None, "/p.yaml", None, ["ls"]),
                         ["nmr-run", "-n", "3", "-p", "/p.yaml", "--", "ls"])

    def test_timeouts(self):
        self.assertEqual(core.vote_timeout_ms(core.policy_yaml("restart")), 2000)
        self.assertEqual(core.vote_timeout_ms(None), 2000)
        self.assertEqual(core.vote_timeout_ms("replicas: 3\nvote:\n  timeout_ms: 500\n"), 500)
        self.assertEqual(core.vote_timeout_ms("vote: {timeout_ms: '750'}\n"), 750)
        self.assertEqual(core.vote_timeout_ms("# vote: {timeout_ms: 750}\n"), 2000)
        # the floor, the factor, and nmr-run's hang detection (10 vote timeouts) under TMR
        self.assertEqual(core.run_timeouts(0.003, 10, 2000), {"native": 10.0, "tmr": 30.0})
        self.assertEqual(core.run_timeouts(4.0, 10, 2000), {"native": 40.0, "tmr": 60.0})
        self.assertEqual(core.run_timeouts(4.0, 2.5, 100), {"native": 10.0, "tmr": 11.0})

    def test_policy(self):
        self.assertIn("on_divergence: restart\n", core.policy_yaml("restart"))


def record(kind, index, mode, outcome, k_index=0, trials_per_kind=3):
    return {"kind": kind, "index": index, "global_index": k_index * trials_per_kind + index,
            "mode": mode, "outcome": outcome, "seed": index, "status": OK}


class AggregateTest(unittest.TestCase):
    def test_counts_list_every_outcome(self):
        trials = [record("kill", 0, "native", "crash"), record("kill", 0, "tmr", "corrected"),
                  record("kill", 1, "native", "crash"), record("kill", 1, "tmr", "benign"),
                  record("stop", 0, "native", "hang", 1), record("stop", 0, "tmr", "corrected", 1)]
        native, tmr, by_kind = core.aggregate(["kill", "stop", "bitflip-memory"], trials)
        self.assertEqual(list(native), list(core.OUTCOMES))
        self.assertEqual(native, {"benign": 0, "corrected": 0, "detected": 0, "sdc": 0,
                                  "crash": 2, "hang": 1})
        self.assertEqual(tmr["corrected"], 2)
        self.assertEqual(tmr["benign"], 1)
        self.assertEqual(by_kind["stop"]["native"]["hang"], 1)
        self.assertEqual(by_kind["bitflip-memory"], {"native": core.empty_counts(),
                                                     "tmr": core.empty_counts()})

    def test_bad_records(self):
        with self.assertRaises(core.CampaignError):
            core.aggregate(["kill"], [record("kill", 0, "native", "exploded")])
        with self.assertRaises(core.CampaignError):
            core.aggregate(["kill"], [record("stop", 0, "native", "benign")])


def campaign_doc(trials, seed=1, kinds=("kill", "stop"), k=2, shard=None):
    doc = {"format": 1, "program": ["/usr/bin/sort", "f"], "seed": seed,
           "trials_per_kind": k, "kinds": list(kinds), "shard": shard,
           "golden": {"status": OK, "stdout_sha256": "ab", "wall_ms": 3.0},
           "policy": {"file": "/p.yaml", "yaml": "on_divergence: restart\n"},
           "trials": trials}
    return core.with_counts(doc)


def full_trials():
    outcomes = ["benign", "crash", "hang", "sdc"]
    out = []
    for ki, kind in enumerate(("kill", "stop")):
        for i in range(2):
            out.append(record(kind, i, "native", outcomes[(ki * 2 + i) % 4], ki, 2))
            out.append(record(kind, i, "tmr", "corrected" if i else "detected", ki, 2))
    return out


class MergeTest(unittest.TestCase):
    def shards(self, k):
        trials = full_trials()
        return [("s%d.json" % s, campaign_doc([t for t in trials
                                               if core.in_shard(t["global_index"], (s, k))],
                                              shard="%d/%d" % (s, k)))
                for s in range(1, k + 1)]

    def test_merge_equals_unsharded(self):
        full = campaign_doc(full_trials())
        for k in (1, 2, 3):
            merged, warnings = core.merge_docs(self.shards(k))
            self.assertEqual(warnings, [])
            for key in ("native", "tmr", "by_kind", "trials"):
                self.assertEqual(merged[key], full[key], (k, key))
            self.assertIsNone(merged["shard"])
            self.assertEqual(len(merged["merged_from"]), k)
            self.assertEqual(sum(m["runs"] for m in merged["merged_from"]), 8)

    def test_counts_add_up(self):
        (n1, a), (n2, b) = self.shards(2)
        merged, _ = core.merge_docs([(n2, b), (n1, a)])  # any order
        for mode in core.MODES:
            for o in core.OUTCOMES:
                self.assertEqual(merged[mode][o], a[mode][o] + b[mode][o])
        self.assertEqual([t["global_index"] for t in merged["trials"]], [0, 0, 1, 1, 2, 2, 3, 3])

    def test_different_campaigns_refused(self):
        (n1, a), (n2, b) = self.shards(2)
        for key, value in (("seed", 2), ("program", ["/bin/cat"]), ("kinds", ["kill", "hang"]),
                           ("trials_per_kind", 5)):
            other = dict(b, **{key: value})
            with self.assertRaises(core.CampaignError) as cm:
                core.merge_docs([(n1, a), (n2, other)])
            self.assertIn(key, str(cm.exception))
            self.assertIn("s1.json", str(cm.exception))
            self.assertIn("s2.json", str(cm.exception))

    def test_overlap_refused(self):
        (n1, a), _ = self.shards(2)
        with self.assertRaises(core.CampaignError) as cm:
            core.merge_docs([(n1, a), ("again.json", a)])
        self.assertIn("again.json", str(cm.exception))

    def test_not_a_campaign(self):
        for doc in ({}, [], {"trials": []}, {"trials": "x", "program": []}):
            with self.assertRaises(core.CampaignError):
                core.merge_docs([("x.json", doc)])

    def test_missing_shard_and_golden_mismatch_warn(self):
        shards = self.shards(3)
        merged, warnings = core.merge_docs(shards[:2])
        self.assertTrue(any("missing" in w for w in warnings), warnings)
        name, doc = shards[2]
        odd = dict(doc, golden={"status": {"code": 1}, "stdout_sha256": "cd"})
        _, warnings = core.merge_docs(shards[:2] + [(name, odd)])
        self.assertTrue(any("golden" in w for w in warnings), warnings)


class TableTest(unittest.TestCase):
    def test_rows_and_columns(self):
        doc = campaign_doc(full_trials())
        text = core.format_table(doc["kinds"], doc["by_kind"], doc["native"], doc["tmr"])
        lines = text.splitlines()
        self.assertIn("unprotected (N=1)", lines[0])
        self.assertIn("TMR (N=3)", lines[0])
        self.assertEqual(lines[1].split(), ["fault", "kind"] + list(core.OUTCOMES) * 2)
        rows = {line.split()[0]: [int(x) for x in line.split()[1:]]
                for line in lines[2:] if line and not line.startswith("-")}
        self.assertEqual(list(rows), ["kill", "stop", "total"])
        expect = lambda c: [c[o] for o in core.OUTCOMES]  # noqa: E731
        for kind in ("kill", "stop"):
            self.assertEqual(rows[kind], expect(doc["by_kind"][kind]["native"])
                             + expect(doc["by_kind"][kind]["tmr"]))
        self.assertEqual(rows["total"], expect(doc["native"]) + expect(doc["tmr"]))
        self.assertEqual(rows["total"], [a + b for a, b in zip(rows["kill"], rows["stop"])])
        # columns line up: every row as long as the header
        widths = {len(line) for line in lines[1:] if not line.startswith("-")}
        self.assertEqual(len(widths), 1, lines)

    def test_wide_numbers(self):
        counts = dict(core.empty_counts(), benign=1234567)
        text = core.format_table(["k"], {"k": {"native": counts, "tmr": counts}}, counts, counts)
        self.assertIn("1234567", text)


class ChartTest(unittest.TestCase):
    def test_svg_and_png(self):
        import campaign_chart
        doc = campaign_doc(full_trials())
        with tempfile.TemporaryDirectory() as d:
            svg = os.path.join(d, "c.svg")
            campaign_chart.draw_chart(doc, svg)
            with open(svg) as f:
                text = f.read()
            self.assertIn("<svg", text)
            self.assertIn("kill", text)
            png = os.path.join(d, "c.png")
            campaign_chart.draw_chart(doc, png)
            with open(png, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
            self.assertEqual(sorted(os.listdir(d)), ["c.png", "c.svg"])
        with self.assertRaises(ValueError):
            campaign_chart.chart_format("chart.xyz")
        self.assertEqual(campaign_chart.chart_format("x/Chart.SVG"), "svg")

    def test_every_outcome_has_its_own_colour(self):
        import campaign_chart
        self.assertEqual(set(campaign_chart.OUTCOME_COLOURS), set(core.OUTCOMES))
        self.assertEqual(len(set(campaign_chart.OUTCOME_COLOURS.values())), len(core.OUTCOMES))


class RunnerTest(unittest.TestCase):
    """The process runner: a timeout kills the whole group, orphans are reaped."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.registry = campaign_run.ProcessRegistry()

    def tearDown(self):
        self.registry.shutdown()
        self.registry.reap_all()
        self.dir.cleanup()

    def run_sh(self, script, timeout):
        d = self.dir.name
        return self.registry.run(["/bin/sh", "-c", script], stdin_path=None, cwd=d,
                                 env=dict(os.environ), timeout=timeout,
                                 stdout_path=os.path.join(d, "out"),
                                 stderr_path=os.path.join(d, "err"))

    def test_exit_status_and_output(self):
        r = self.run_sh("echo hi; echo oops >&2; exit 3", 10)
        self.assertEqual((r.returncode, r.timed_out), (3, False))
        self.assertEqual(r.stdout_size(), 3)
        self.assertEqual(r.stderr_tail(), "oops\n")
        r = self.run_sh("kill -SEGV $$", 10)
        self.assertEqual(core.status_from_returncode(r.returncode), {"signal": signal.SIGSEGV})

    def test_timeout_kills_the_group_and_reaps(self):
        pidfile = os.path.join(self.dir.name, "pid")
        start = time.monotonic()
        r = self.run_sh("sleep 30 & echo $! > %s; exec sleep 31" % pidfile, 0.5)
        self.assertTrue(r.timed_out)
        self.assertEqual(r.returncode, -signal.SIGKILL)
        self.assertLess(time.monotonic() - start, 10)
        with open(pidfile) as f:
            grandchild = int(f.read())
        deadline = time.monotonic() + 5
        while os.path.exists("/proc/%d" % grandchild) and time.monotonic() < deadline:
            self.registry.reap_all(grace_s=0.1)
            time.sleep(0.05)
        self.assertFalse(os.path.exists("/proc/%d" % grandchild),
                         "the background sleep of a timed-out run is still there")

    def test_closed_registry_starts_nothing(self):
        self.registry.shutdown()
        with self.assertRaises(campaign_run.Interrupted):
            self.run_sh("touch %s/never" % self.dir.name, 5)
        self.assertFalse(os.path.exists(os.path.join(self.dir.name, "never")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
