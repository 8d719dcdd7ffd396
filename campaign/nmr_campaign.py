#!/usr/bin/python3
"""nmr-campaign: a fault-injection campaign runner for nmr-run.

Runs PROGRAM once natively (the golden run), then, for each fault kind, K trials: each trial
injects one fault into an unprotected run (nmr-run -n 1) and into a TMR run (nmr-run -n 3),
classifies both against the golden run (benign, corrected, detected, sdc, crash, hang), and
writes the counts and every trial to JSON, a table to stdout and optionally a chart.
See campaign/README.md."""

import os
import sys

_HERE = os.path.dirname(os.path.realpath(__file__))
for _dir in (_HERE, os.path.join(_HERE, os.pardir, "lib", "nmr-campaign")):
    if os.path.isfile(os.path.join(_dir, "campaign_core.py")):
        sys.path.insert(0, os.path.normpath(_dir))
        break

import argparse  # noqa: E402
import concurrent.futures  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import tempfile  # noqa: E402

import campaign_core as core  # noqa: E402
from campaign_run import Interrupted, ProcessRegistry  # noqa: E402

PROG = "nmr-campaign"
EXIT_USAGE = 2
EXIT_FAILED = 1
REPLAY_REPORT = "report.json"  # the --report path recorded in each trial's command


def warn(message):
    print("%s: warning: %s" % (PROG, message), file=sys.stderr, flush=True)


class UsageError(Exception):
    pass


# --------------------------------------------------------------------------------------------
# Command line


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a positive integer, got %r" % text)
    if value < 1:
        raise argparse.ArgumentTypeError("expected a positive integer, got %r" % text)
    return value


def positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a positive number, got %r" % text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("expected a positive number, got %r" % text)
    return value


def kind_list(text):
    kinds = [k.strip() for k in text.split(",")]
    if not kinds or any(not k for k in kinds):
        raise argparse.ArgumentTypeError("expected a comma-separated list of fault kinds, got %r"
                                         % text)
    for k in kinds:
        if not core.KIND_RE.match(k):
            raise argparse.ArgumentTypeError("not a fault kind: %r" % k)
    dups = sorted({k for k in kinds if kinds.count(k) > 1})
    if dups:
        raise argparse.ArgumentTypeError("%s given twice" % ", ".join(dups))
    return kinds


def shard_arg(text):
    try:
        return core.parse_shard(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e))


def run_parser():
    p = argparse.ArgumentParser(
        prog=PROG,
        usage="%(prog)s --trials K [--kinds LIST] [--seed S] [-j J] [--stdin FILE]\n"
              "       [--timeout-factor F] [--min-timeout S] [--shard I/K] [--policy POLICY.yaml] [--nmr PATH]\n"
              "       --json OUT [--chart OUT.svg] -- PROGRAM ARGS...\n"
              "       %(prog)s merge --json OUT [--chart OUT.svg] IN.json...",
        description="Fault-injection campaign: K trials per fault kind, each run unprotected "
                    "(nmr-run -n 1) and under TMR (nmr-run -n 3), classified against a native "
                    "golden run. See campaign/README.md.")
    p.add_argument("--trials", type=positive_int, required=True, metavar="K",
                   help="trials per fault kind")
    p.add_argument("--kinds", type=kind_list, default=list(core.DEFAULT_KINDS), metavar="LIST",
                   help="comma-separated fault kinds (default: %s)" % ",".join(core.DEFAULT_KINDS))
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="campaign seed: the same seed draws the same faults (default 0)")
    p.add_argument("-j", "--jobs", type=positive_int, default=1, metavar="J",
                   help="runs in parallel (default 1)")
    p.add_argument("--stdin", metavar="FILE", help="the program's stdin (default /dev/null)")
    p.add_argument("--timeout-factor", type=positive_float, default=10.0, metavar="F",
                   help="a run is a hang after max(10 s, F x golden wall time), TMR runs after "
                        "10 vote timeouts more (default 10)")
    p.add_argument("--min-timeout", type=positive_float, default=core.MIN_TIMEOUT_S, metavar="S",
                   help="the least time a run gets before it counts as a hang (default %(default)s s)")
    p.add_argument("--shard", type=shard_arg, metavar="I/K",
                   help="run only the trials whose global index i has i %% K == I-1")
    p.add_argument("--policy", metavar="POLICY.yaml",
                   help="policy of the TMR runs (default: on_divergence: restart)")
    p.add_argument("--nmr", metavar="PATH", help="nmr-run to use (default: next to nmr-campaign)")
    p.add_argument("--json", required=True, metavar="OUT", help="write the results here")
    p.add_argument("--chart", metavar="OUT.svg", help="draw a chart (.svg, .png, .pdf, ...)")
    return p


def merge_parser():
    p = argparse.ArgumentParser(
        prog=PROG + " merge",
        description="Merge the JSON files of several shards of one campaign (--shard I/K).")
    p.add_argument("--json", required=True, metavar="OUT", help="write the merged results here")
    p.add_argument("--chart", metavar="OUT.svg", help="draw a chart (.svg, .png, .pdf, ...)")
    p.add_argument("inputs", nargs="+", metavar="IN.json")
    return p


def check_output_path(flag, path):
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise UsageError("%s: directory %s does not exist" % (flag, parent))
    if os.path.isdir(path):
        raise UsageError("%s: %s is a directory" % (flag, path))


def check_chart(path):
    if path is None:
        return
    check_output_path("--chart", path)
    try:
        from campaign_chart import chart_format
        chart_format(path)
    except ImportError as e:
        raise UsageError("--chart needs matplotlib (apt-get install python3-matplotlib; run with "
                         "/usr/bin/python3): %s" % e)
    except ValueError as e:
        raise UsageError("--chart: %s" % e)


def find_nmr(given):
    if given:
        path = given
        if "/" not in path:
            path = shutil.which(given) or given
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise UsageError("--nmr: %s is not an executable file" % given)
        return os.path.abspath(path)
    beside = os.path.join(os.path.dirname(os.path.realpath(sys.argv[0])), "nmr-run")
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside
    on_path = shutil.which("nmr-run")
    if on_path:
        return os.path.abspath(on_path)
    raise UsageError("cannot find nmr-run next to %s or on PATH; pass --nmr PATH" % PROG)


def check_program(program):
    if not program:
        raise UsageError("no PROGRAM: put '-- PROGRAM ARGS...' at the end of the command line")
    name = program[0]
    if "/" in name:
        if not os.path.exists(name):
            raise UsageError("PROGRAM not found: %s" % name)
        if os.path.isdir(name) or not os.access(name, os.X_OK):
            raise UsageError("PROGRAM is not an executable file: %s" % name)
    elif shutil.which(name) is None:
        raise UsageError("PROGRAM not found on PATH: %s" % name)


def check_readable(flag, path):
    if path is None:
        return None
    if not os.path.isfile(path):
        raise UsageError("%s: %s is not a file" % (flag, path))
    try:
        with open(path, "rb"):
            pass
    except OSError as e:
        raise UsageError("%s: cannot read %s: %s" % (flag, path, e.strerror))
    return os.path.abspath(path)


# --------------------------------------------------------------------------------------------
# The campaign


def policy_path_for(json_path):
    base = json_path[:-5] if json_path.endswith(".json") else json_path
    return os.path.abspath(base + ".policy.yaml")


def write_atomically(path, text):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    try:
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_report(path):
    try:
        with open(path) as f:
            report = json.load(f)
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) else None


def list_len(report, key):
    if report is None or not isinstance(report.get(key), list):
        return None
    return len(report[key])


class Campaign:
    def __init__(self, args, program, nmr, registry, tmp):
        self.args = args
        self.program = program
        self.nmr = nmr
        self.registry = registry
        self.tmp = tmp
        self.cwd = os.getcwd()
        self.stdin = args.stdin
        self.golden = None
        self.golden_digest = None
        self.golden_s = None
        self.timeouts = None  # seconds per mode, once the golden run and the policy are known
        self.policy_file = None
        self.policy_yaml = None
        self.wrote_policy = False  # the generated policy file, removed if the campaign fails

    def run(self, name, argv, timeout):
        """Runs argv in a fresh directory under the campaign's temp dir; returns
        (RunResult, report path, run dir). The caller removes the run dir."""
        run_dir = os.path.join(self.tmp, name)
        os.makedirs(os.path.join(run_dir, "tmp"))
        env = dict(os.environ)
        env["TMPDIR"] = os.path.join(run_dir, "tmp")
        result = self.registry.run(argv, stdin_path=self.stdin, cwd=self.cwd, env=env,
                                   timeout=timeout,
                                   stdout_path=os.path.join(run_dir, "stdout"),
                                   stderr_path=os.path.join(run_dir, "stderr"))
        return result, os.path.join(run_dir, "report.json"), run_dir

    # -- golden run, policy, controls, preflight ---------------------------------------------

    def golden_run(self):
        try:
            result, _, run_dir = self.run("golden", self.program, None)
        except OSError as e:
            raise UsageError("cannot run PROGRAM %s: %s" % (self.program[0], e.strerror or e))
        status = core.status_from_returncode(result.returncode)
        self.golden_digest = result.stdout_digest()
        self.golden = {
            "status": status,
            "ok": core.status_ok(status),
            "wall_ms": round(result.wall_s * 1000.0, 3),
            "stdout_bytes": result.stdout_size(),
            "stdout_sha256": self.golden_digest,
        }
        if not self.golden["ok"]:
            self.golden["stderr_tail"] = result.stderr_tail()
            warn("the golden run of %s failed (%s); going on: trials are compared with it as it is"
                 % (self.program[0], core.status_text(status)))
        shutil.rmtree(run_dir)
        self.golden_s = result.wall_s

    def set_policy(self, on_divergence=None):
        if self.args.policy:
            self.policy_file = self.args.policy
            with open(self.policy_file) as f:
                self.policy_yaml = f.read()
            return
        self.policy_file = policy_path_for(self.args.json)
        self.policy_yaml = core.policy_yaml(on_divergence or "restart")
        write_atomically(self.policy_file, self.policy_yaml)
        self.wrote_policy = True

    def set_timeouts(self):
        self.timeouts = core.run_timeouts(self.golden_s, self.args.timeout_factor,
                                          core.vote_timeout_ms(self.policy_yaml),
                                          self.args.min_timeout)

    def control_runs(self):
        """Runs the program under nmr-run -n 1 and -n 3 without a fault: checks that nmr-run
        accepts the policy (falls back from restart to kill when it does not support it yet)
        and warns when nmr-run alone already changes the program's behaviour."""
        controls = {}
        for mode in core.MODES:
            for attempt in (1, 2):
                argv, result, report_path, run_dir = self._control(mode, attempt)
                status = core.status_from_returncode(result.returncode)
                stderr = result.stderr_tail(2000)
                if (mode == "tmr" and attempt == 1 and not self.args.policy
                        and status == {"code": core.EXIT_OWN_ERROR}
                        and "restart" in stderr and "not supported" in stderr):
                    warn("this nmr-run does not support 'on_divergence: restart' yet; the TMR "
                         "runs use 'on_divergence: kill'")
                    self.set_policy("kill")
                    shutil.rmtree(run_dir)
                    continue
                break
            if (status.get("code") in (core.EXIT_OWN_ERROR, 126, 127)
                    and status != self.golden["status"]):
                shutil.rmtree(run_dir)
                raise UsageError("nmr-run fails without any fault (%s: %s):\n%s"
                                 % (" ".join(argv), core.status_text(status), stderr.rstrip()))
            report = read_report(report_path)
            outcome = core.classify(self.golden_digest, self.golden["status"],
                                    result.stdout_digest(), status, result.timed_out, report)
            controls[mode] = {"outcome": outcome, "status": status,
                              "wall_ms": round(result.wall_s * 1000.0, 3)}
            if outcome != "benign":
                controls[mode]["stderr_tail"] = result.stderr_tail()
                warn("without any fault, nmr-run -n %d already gives '%s' (%s, golden %s): the "
                     "%s results say little about the faults"
                     % (core.MODE_REPLICAS[mode], outcome, core.status_text(status),
                        core.status_text(self.golden["status"]), mode))
            shutil.rmtree(run_dir)
        return controls

    def _control(self, mode, attempt):
        run_dir_name = "control-%s-%d" % (mode, attempt)
        report = os.path.join(self.tmp, run_dir_name, "report.json")
        argv = core.nmr_command(self.nmr, mode, None, self.policy_file, report, self.program)
        return (argv,) + self.run(run_dir_name, argv, self.timeouts[mode])

    def preflight(self, plan):
        """nmr-run checks an --inject SPEC before it runs anything (exit 125 if it refuses
        it): try each kind's spec on /bin/true so that an unsupported kind stops the campaign
        now rather than showing up as hundreds of 'crash' trials. The spec has the trials'
        keys, with a moment /bin/true never reaches (a stop fault that fired would leave an
        unprotected nmr-run waiting for ever)."""
        true = shutil.which("true") or "/bin/true"
        done = set()
        for trial in plan:
            if trial["kind"] in done:
                continue
            done.add(trial["kind"])
            trial = core.preflight_trial(trial)
            for mode in core.MODES:
                argv = core.nmr_command(self.nmr, mode, trial, self.policy_file, None, [true])
                name = "preflight-%s-%s" % (trial["kind"], mode)
                result, _, run_dir = self.run(name, argv, 30.0)
                stderr = result.stderr_tail(2000).rstrip()
                shutil.rmtree(run_dir)
                if result.returncode == core.EXIT_OWN_ERROR:
                    raise UsageError("nmr-run refuses fault kind '%s' (%s):\n%s"
                                     % (trial["kind"], " ".join(argv), stderr))

    # -- trials ---------------------------------------------------------------------------------

    def trial_run(self, trial, mode):
        name = "trial-%d-%s" % (trial["global_index"], mode)
        report = os.path.join(self.tmp, name, "report.json")
        argv = core.nmr_command(self.nmr, mode, trial, self.policy_file, report, self.program)
        result, report_path, run_dir = self.run(name, argv, self.timeouts[mode])
        try:
            status = core.status_from_returncode(result.returncode)
            parsed = read_report(report_path)
            outcome = core.classify(self.golden_digest, self.golden["status"],
                                    result.stdout_digest(), status, result.timed_out, parsed)
            record = {
                "kind": trial["kind"],
                "index": trial["index"],
                "global_index": trial["global_index"],
                "seed": trial["seed"],
                "after_ms": trial["after_ms"],
                "at_vote": trial["at_vote"],
                "replica": core.replica_for(trial, mode),
                "mode": mode,
                "outcome": outcome,
                "status": status,
                "timed_out": result.timed_out,
                "wall_ms": round(result.wall_s * 1000.0, 3),
                "report_outcome": parsed.get("outcome") if parsed else None,
                "injected": list_len(parsed, "injected"),
                "divergences": list_len(parsed, "divergences"),
                "recoveries": list_len(parsed, "recoveries"),
                "command": core.nmr_command(self.nmr, mode, trial, self.policy_file,
                                            REPLAY_REPORT, self.program),
            }
            if outcome not in ("benign", "corrected"):
                tail = result.stderr_tail()
                if tail:
                    record["stderr_tail"] = tail
            return record
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)

    def trials(self, plans):
        tasks = [(plans[mode][i], mode) for i, t in enumerate(plans["native"])
                 if core.in_shard(t["global_index"], self.args.shard) for mode in core.MODES]
        records = []
        total = len(tasks)
        executor = concurrent.futures.ThreadPoolExecutor(max_workers=self.args.jobs,
                                                         thread_name_prefix="trial")
        try:
            futures = {executor.submit(self.trial_run, t, mode): (t, mode) for t, mode in tasks}
            for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
                record = future.result()
                records.append(record)
                what = ("at_vote=%d" % record["at_vote"] if record["at_vote"] is not None
                        else "after_ms=%d" % record["after_ms"])
                print("[%d/%d] %s #%d %s (%s, replica %d): %s (%s, %.2f s)"
                      % (done, total, record["kind"], record["index"], record["mode"], what,
                         record["replica"], record["outcome"],
                         core.status_text(record["status"]), record["wall_ms"] / 1000.0),
                      file=sys.stderr, flush=True)
        except BaseException:
            self.registry.shutdown()
            executor.shutdown(wait=True, cancel_futures=True)
            raise
        executor.shutdown(wait=True)
        return records

    # -- everything -----------------------------------------------------------------------------

    def execute(self):
        started = now()
        self.set_policy()
        self.golden_run()
        self.set_timeouts()
        controls = self.control_runs()
        # A fault lands at the same fraction of the run in both modes: T is drawn over the
        # fault-free run under nmr-run of that mode (under nmr-run a program runs slower than
        # natively, so the native time would put every fault into its start-up).
        run_ms = {mode: controls[mode]["wall_ms"] for mode in core.MODES}
        plans = {mode: core.plan_trials(self.args.seed, self.args.kinds, self.args.trials,
                                        run_ms[mode])
                 for mode in core.MODES}
        self.preflight(plans["native"])
        records = self.trials(plans)
        doc = {
            "format": core.JSON_FORMAT,
            "program": list(self.program),
            "seed": self.args.seed,
            "trials_per_kind": self.args.trials,
            "kinds": list(self.args.kinds),
            "shard": "%d/%d" % self.args.shard if self.args.shard else None,
            "golden": self.golden,
            "controls": controls,
            "fault_time_base_ms": run_ms,
            "cwd": self.cwd,
            "stdin": self.stdin,
            "nmr_run": self.nmr,
            "policy": {"file": self.policy_file, "yaml": self.policy_yaml},
            "timeout_factor": self.args.timeout_factor,
            "timeout_s": {mode: round(t, 3) for mode, t in self.timeouts.items()},
            "jobs": self.args.jobs,
            "host": socket.gethostname(),
            "started": started,
            "finished": now(),
            "trials": records,
        }
        return core.with_counts(doc)


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def output(doc, json_path, chart_path):
    write_atomically(json_path, json.dumps(doc, indent=1) + "\n")
    sys.stdout.write(core.format_table(doc["kinds"], doc["by_kind"], doc["native"], doc["tmr"]))
    sys.stdout.flush()
    if chart_path:
        from campaign_chart import draw_chart
        draw_chart(doc, chart_path)


# --------------------------------------------------------------------------------------------
# Entry points


def raise_interrupted(signum, frame):
    raise Interrupted(signum)


def campaign_main(argv):
    parser = run_parser()
    if "--" in argv:
        cut = argv.index("--")
        options, program = argv[:cut], argv[cut + 1:]
    else:
        options, program = argv, []
    args = parser.parse_args(options)
    try:
        check_program(program)
        nmr = find_nmr(args.nmr)
        check_output_path("--json", args.json)
        check_chart(args.chart)
        args.stdin = check_readable("--stdin", args.stdin)
        args.policy = check_readable("--policy", args.policy)
    except UsageError as e:
        parser.error(str(e))

    registry = ProcessRegistry()
    tmp = tempfile.mkdtemp(prefix="nmr-campaign-")
    old_handlers = {s: signal.signal(s, raise_interrupted) for s in (signal.SIGTERM, signal.SIGHUP)}
    campaign = Campaign(args, program, nmr, registry, tmp)
    done = False
    try:
        doc = campaign.execute()
        done = True
        output(doc, args.json, args.chart)
        return 0
    except UsageError as e:
        print("%s: error: %s" % (PROG, e), file=sys.stderr)
        return EXIT_USAGE
    except (KeyboardInterrupt, Interrupted) as e:
        signum = getattr(e, "signum", signal.SIGINT)
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)  # let the clean-up finish
        print("%s: interrupted; every run killed, no results written" % PROG, file=sys.stderr)
        return 128 + signum
    finally:
        registry.shutdown()
        registry.reap_all()
        shutil.rmtree(tmp, ignore_errors=True)
        if not done and campaign.wrote_policy:
            try:
                os.unlink(campaign.policy_file)
            except OSError:
                pass
        for s, h in old_handlers.items():
            signal.signal(s, h)


def merge_main(argv):
    parser = merge_parser()
    args = parser.parse_args(argv)
    try:
        check_output_path("--json", args.json)
        check_chart(args.chart)
    except UsageError as e:
        parser.error(str(e))
    named = []
    for path in args.inputs:
        try:
            with open(path) as f:
                named.append((path, json.load(f)))
        except OSError as e:
            print("%s merge: error: cannot read %s: %s" % (PROG, path, e.strerror),
                  file=sys.stderr)
            return EXIT_FAILED
        except ValueError as e:
            print("%s merge: error: %s is not JSON: %s" % (PROG, path, e), file=sys.stderr)
            return EXIT_FAILED
    try:
        doc, warnings = core.merge_docs(named)
    except core.CampaignError as e:
        print("%s merge: error: %s" % (PROG, e), file=sys.stderr)
        return EXIT_FAILED
    for w in warnings:
        warn(w)
    output(doc, args.json, args.chart)
    return 0


def main(argv):
    if argv and argv[0] == "merge":
        return merge_main(argv[1:])
    return campaign_main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
