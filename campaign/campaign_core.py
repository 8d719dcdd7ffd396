"""The pure parts of nmr-campaign: trial planning, the --inject spec, classification,
aggregation, merging and the text table. No processes, no files, no clock: everything here
is a function of its arguments, so test_campaign.py can check it exactly."""

import random
import re

# Every outcome, in the order tables, JSON and the chart list them (best to worst).
OUTCOMES = ("benign", "corrected", "detected", "sdc", "crash", "hang")

# The kinds a campaign injects when --kinds is not given.
DEFAULT_KINDS = ("kill", "stop", "bitflip-register", "bitflip-memory")

# Kinds whose moment is a vote count (at_vote) rather than a time (after_ms).
VOTE_COUNTED_KINDS = frozenset({"corrupt-vote"})
AT_VOTE_MAX = 50  # corrupt-vote: at_vote is drawn uniformly in 1..AT_VOTE_MAX

MODES = ("native", "tmr")
MODE_REPLICAS = {"native": 1, "tmr": 3}

EXIT_NO_MAJORITY = 122  # nmr-run: the replicas disagree and no majority is left
EXIT_OWN_ERROR = 125  # nmr-run: a bad flag or policy, an OS failure

FAULT_SEED_RANGE = 2**31  # fault seeds are drawn in [0, FAULT_SEED_RANGE)

KIND_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")

JSON_FORMAT = 1  # bumped when the JSON layout changes incompatibly


class CampaignError(Exception):
    """A problem the user has to fix (bad input files, mismatched shards)."""


# --------------------------------------------------------------------------------------------
# Statuses


def status_from_returncode(returncode):
    """Popen's returncode as {"code": N} or {"signal": N} (a negative returncode is a signal)."""
    if returncode < 0:
        return {"signal": -returncode}
    return {"code": returncode}


def status_text(status):
    if status is None:
        return "none"
    if "signal" in status:
        return "signal %d" % status["signal"]
    return "exit %d" % status["code"]


def status_ok(status):
    return status == {"code": 0}


# --------------------------------------------------------------------------------------------
# Classification


def report_detected(report):
    """Whether nmr-run's report shows that anything was detected: a divergence or a recovery.

    report is the parsed JSON (a dict) or None when it is missing or unparsable."""
    if not isinstance(report, dict):
        return False
    for key in ("divergences", "recoveries"):
        value = report.get(key)
        if isinstance(value, list) and value:
            return True
    return False


def classify(golden_stdout, golden_status, stdout, status, timed_out, report):
    """The outcome of one run, compared with the golden (native, fault-free) run.

    golden_stdout/stdout: bytes (or any comparable digest of them); statuses as
    status_from_returncode gives them; timed_out: the run was killed at the timeout;
    report: nmr-run's JSON report as a dict, or None.

    hang      the run did not finish before the timeout
    detected  nmr-run exited 122: no majority left, the fault was caught but not masked
    benign    same output, same status, and nothing detected
    corrected same output, same status, and the report shows a divergence or recovery
    sdc       same status as the golden run but different output: silent data corruption
    crash     anything else: killed by a signal, or a different exit status
    """
    if timed_out:
        return "hang"
    if status == {"code": EXIT_NO_MAJORITY} and not _program_exited_122(golden_status, report):
        return "detected"
    if status == golden_status:
        if stdout == golden_stdout:
            return "corrected" if report_detected(report) else "benign"
        return "sdc"
    return "crash"


def _program_exited_122(golden_status, report):
    """A 122 that is the program's own (the golden run exits 122 and the report says 'exit')
    rather than nmr-run's "no majority"."""
    if golden_status != {"code": EXIT_NO_MAJORITY}:
        return False
    return isinstance(report, dict) and report.get("outcome") == "exit"


# --------------------------------------------------------------------------------------------
# Planning: which fault each trial injects


def trial_rng(campaign_seed, kind, index):
    """The random generator of one trial: a function of (campaign seed, kind, trial index)
    only, so a trial draws the same fault in every shard, on every machine, in any order.
    (random.Random seeds a str through SHA-512: stable across runs and Python versions.)"""
    return random.Random("nmr-campaign/%d/%s/%d" % (campaign_seed, kind, index))


def plan_trials(campaign_seed, kinds, trials_per_kind, golden_ms):
    """Every trial of the campaign, in global order (kind by kind, index by index).

    Each trial draws, in this order: its fault seed, a fraction of the golden run's wall
    time, the TMR replica to hit, and a vote number. after_ms is that fraction of golden_ms
    (at least 1); vote-counted kinds (corrupt-vote) use at_vote instead and have no after_ms.
    The campaign plans once per mode, with that mode's fault-free run time as golden_ms: the
    draws are the same, so a trial's fault lands at the same fraction of both runs."""
    plan = []
    for k, kind in enumerate(kinds):
        for index in range(trials_per_kind):
            rng = trial_rng(campaign_seed, kind, index)
            fault_seed = rng.randrange(FAULT_SEED_RANGE)
            fraction = rng.random()
            tmr_replica = rng.randrange(MODE_REPLICAS["tmr"])
            at_vote = rng.randint(1, AT_VOTE_MAX)
            trial = {
                "kind": kind,
                "index": index,
                "global_index": k * trials_per_kind + index,
                "seed": fault_seed,
                "after_ms": None,
                "at_vote": None,
                "tmr_replica": tmr_replica,
            }
            if kind in VOTE_COUNTED_KINDS:
                trial["at_vote"] = at_vote
            else:
                trial["after_ms"] = max(1, int(fraction * golden_ms))
            plan.append(trial)
    return plan


def parse_shard(text):
    """'I/K' (1 <= I <= K) -> (I, K); ValueError with a message otherwise."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not m:
        raise ValueError("expected I/K (for example 3/16), got %r" % text)
    i, k = int(m.group(1)), int(m.group(2))
    if k < 1 or not 1 <= i <= k:
        raise ValueError("expected I/K with 1 <= I <= K, got %r" % text)
    return i, k


def in_shard(global_index, shard):
    """Whether the trial with this global index belongs to shard (I, K) (None: every trial)."""
    if shard is None:
        return True
    i, k = shard
    return global_index % k == i - 1


def replica_for(trial, mode):
    """The replica the fault hits: 0 when unprotected, the drawn one under TMR."""
    return 0 if mode == "native" else trial["tmr_replica"]


def inject_spec(trial, mode):
    """The one place an --inject SPEC is built from a planned trial."""
    fields = [("kind", trial["kind"]), ("replica", replica_for(trial, mode))]
    if trial["at_vote"] is not None:
        fields.append(("at_vote", trial["at_vote"]))
    else:
        fields.append(("after_ms", trial["after_ms"]))
        fields.append(("seed", trial["seed"]))
    return ",".join("%s=%s" % kv for kv in fields)


PREFLIGHT_AFTER_MS = 3600 * 1000
PREFLIGHT_AT_VOTE = 10**9


def preflight_trial(trial):
    """A copy of trial whose fault comes too late for a short program ever to see it."""
    t = dict(trial)
    if t["at_vote"] is not None:
        t["at_vote"] = PREFLIGHT_AT_VOTE
    else:
        t["after_ms"] = PREFLIGHT_AFTER_MS
    return t


def nmr_command(nmr, mode, trial, policy, report, program):
    """The nmr-run command line of one run. trial=None gives the fault-free control run."""
    cmd = [nmr, "-n", str(MODE_REPLICAS[mode])]
    if mode == "tmr" and policy:
        cmd += ["-p", policy]
    if report:
        cmd += ["--report", report]
    if trial is not None:
        cmd += ["--inject", inject_spec(trial, mode)]
    return cmd + ["--"] + list(program)


MIN_TIMEOUT_S = 10.0
DEFAULT_VOTE_TIMEOUT_MS = 2000  # nmr-run's vote.timeout_ms when the policy does not set it
HUNG_AFTER_TIMEOUTS = 10  # a replica that makes no progress is declared hung after this many


def vote_timeout_ms(policy_text):
    """vote.timeout_ms of a policy file's text (the policy's only 'timeout_ms' key, in block
    or flow style), or nmr-run's default when it is not set."""
    m = re.search(r"""(?m)^[^#\n]*\btimeout_ms\s*:\s*["']?(\d+)""", policy_text or "")
    return int(m.group(1)) if m else DEFAULT_VOTE_TIMEOUT_MS


def run_timeouts(golden_s, timeout_factor, vote_timeout, min_timeout=MIN_TIMEOUT_S):
    """Seconds after which a run is killed as a hang, per mode: max(min_timeout, F x golden), plus,
    under TMR, the time nmr-run may take to declare a stalled replica hung (10 vote
    timeouts), so that a hang TMR recovers from is not counted as a hang."""
    base = max(min_timeout, timeout_factor * golden_s)
    return {"native": base, "tmr": base + HUNG_AFTER_TIMEOUTS * vote_timeout / 1000.0}


def policy_yaml(on_divergence):
    return (
        "# Written by nmr-campaign: the policy of the TMR runs.\n"
        "on_divergence: %s\n" % on_divergence
    )


# --------------------------------------------------------------------------------------------
# Aggregation


def empty_counts():
    return {o: 0 for o in OUTCOMES}


def aggregate(kinds, trials):
    """(native, tmr, by_kind) outcome counts of a list of trial records."""
    totals = {mode: empty_counts() for mode in MODES}
    by_kind = {kind: {mode: empty_counts() for mode in MODES} for kind in kinds}
    for t in trials:
        kind, mode, outcome = t["kind"], t["mode"], t["outcome"]
        if outcome not in OUTCOMES or mode not in MODES:
            raise CampaignError("trial %s #%s has mode %r, outcome %r"
                                % (kind, t.get("index"), mode, outcome))
        if kind not in by_kind:
            raise CampaignError("trial of kind %r, which is not in the campaign's kinds" % kind)
        totals[mode][outcome] += 1
        by_kind[kind][mode][outcome] += 1
    return totals["native"], totals["tmr"], by_kind


def trial_sort_key(t):
    return (t["global_index"], MODES.index(t["mode"]))


def with_counts(doc):
    """doc with native/tmr/by_kind recomputed from its trials (trials sorted)."""
    doc["trials"] = sorted(doc["trials"], key=trial_sort_key)
    doc["native"], doc["tmr"], doc["by_kind"] = aggregate(doc["kinds"], doc["trials"])
    return doc


# --------------------------------------------------------------------------------------------
# Merging shards

MERGE_KEYS = ("program", "seed", "kinds", "trials_per_kind")


def merge_docs(named_docs):
    """Merge the JSON documents of several shards of one campaign.

    named_docs: [(name, doc)]. Returns (merged doc, warnings). Raises CampaignError when the
    inputs are not shards of the same campaign (program, seed, kinds, trials_per_kind) or
    hold the same trial twice."""
    if not named_docs:
        raise CampaignError("nothing to merge")
    for name, doc in named_docs:
        if not isinstance(doc, dict) or not isinstance(doc.get("trials"), list):
            raise CampaignError("%s: not an nmr-campaign JSON file (no 'trials' list)" % name)
        for key in MERGE_KEYS + ("golden",):
            if key not in doc:
                raise CampaignError("%s: not an nmr-campaign JSON file (no %r)" % (name, key))
    first_name, first = named_docs[0]
    for name, doc in named_docs[1:]:
        for key in MERGE_KEYS:
            if doc[key] != first[key]:
                raise CampaignError(
                    "%s and %s are not the same campaign: %s differs (%s vs %s)"
                    % (first_name, name, key, _short(first[key]), _short(doc[key])))
    warnings = []
    seen = {}
    trials = []
    for name, doc in named_docs:
        for t in doc["trials"]:
            key = (t["kind"], t["index"], t["mode"])
            if key in seen:
                raise CampaignError("trial %s #%d %s is in both %s and %s (overlapping shards?)"
                                    % (t["kind"], t["index"], t["mode"], seen[key], name))
            seen[key] = name
            trials.append(t)
    for name, doc in named_docs[1:]:
        g0, g = first["golden"], doc["golden"]
        if (g0.get("status"), g0.get("stdout_sha256")) != (g.get("status"), g.get("stdout_sha256")):
            warnings.append("%s and %s had different golden runs (status %s vs %s, or output); "
                            "each shard's trials were classified against its own"
                            % (first_name, name, status_text(g0.get("status")),
                               status_text(g.get("status"))))
        if doc.get("policy", {}).get("yaml") != first.get("policy", {}).get("yaml"):
            warnings.append("%s and %s ran TMR under different policies" % (first_name, name))
    expected = len(first["kinds"]) * first["trials_per_kind"] * len(MODES)
    if len(trials) != expected:
        warnings.append("%d of the campaign's %d runs are missing (shards not merged?)"
                        % (expected - len(trials), expected))
    merged = {k: v for k, v in first.items() if k not in ("trials", "native", "tmr", "by_kind")}
    merged["shard"] = None
    merged["merged_from"] = [
        {"file": name, "shard": doc.get("shard"), "host": doc.get("host"),
         "runs": len(doc["trials"])} for name, doc in named_docs]
    merged["trials"] = trials
    return with_counts(merged), warnings


def _short(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------------------------
# The text table

MODE_TITLES = {"native": "unprotected (N=1)", "tmr": "TMR (N=3)"}


def format_table(kinds, by_kind, native, tmr):
    """Rows: each kind, then the total; columns: the outcome counts under N=1, then TMR."""
    rows = [(kind, by_kind[kind]["native"], by_kind[kind]["tmr"]) for kind in kinds]
    rows.append(("total", native, tmr))
    kind_w = max(len("fault kind"), *(len(r[0]) for r in rows))
    col_w = {o: max(len(o), *(len(str(r[m][o])) for r in rows for m in (1, 2))) for o in OUTCOMES}
    gap = "   "
    block_w = sum(col_w.values()) + len(OUTCOMES) - 1

    def block(counts):
        return " ".join(str(counts[o]).rjust(col_w[o]) for o in OUTCOMES)

    lines = [
        " " * kind_w + gap + MODE_TITLES["native"].center(block_w).rstrip().ljust(block_w)
        + gap + MODE_TITLES["tmr"].center(block_w).rstrip(),
        "fault kind".ljust(kind_w) + gap
        + " ".join(o.rjust(col_w[o]) for o in OUTCOMES) + gap
        + " ".join(o.rjust(col_w[o]) for o in OUTCOMES),
    ]
    rule = "-" * (kind_w + 2 * (len(gap) + block_w))
    lines.append(rule)
    for i, (name, n, t) in enumerate(rows):
        if i == len(rows) - 1:
            lines.append(rule)
        lines.append(name.ljust(kind_w) + gap + block(n) + gap + block(t))
    return "\n".join(lines) + "\n"
