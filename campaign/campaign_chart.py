"""The chart of a campaign: for each fault kind, two stacked bars (unprotected N=1 and TMR),
each stacked by outcome as a fraction of that bar's trials, with a fixed colour per outcome."""

import os

from campaign_core import MODES, OUTCOMES

# One fixed colour per outcome: greens for "fine", amber for "stopped", reds for "wrong".
OUTCOME_COLOURS = {
    "benign": "#9ccc65",
    "corrected": "#2e7d32",
    "detected": "#ffb300",
    "sdc": "#c62828",
    "crash": "#6a1b9a",
    "hang": "#757575",
}
MODE_LABELS = {"native": "N=1", "tmr": "TMR"}


def supported_formats():
    """File name extensions matplotlib can write (without the dot), or raises ImportError."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    return set(FigureCanvasAgg.get_supported_filetypes())


def chart_format(path):
    """The format of an output path from its extension; ValueError if matplotlib cannot
    write it, ImportError if matplotlib is missing."""
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    formats = supported_formats()
    if ext not in formats:
        raise ValueError("cannot tell the chart format from %r: use one of .%s"
                         % (path, ", .".join(sorted(formats))))
    return ext


def title_of(doc):
    program = list(doc["program"])
    words = [os.path.basename(program[0])] + program[1:]
    text = " ".join(words)
    if len(text) > 60:
        text = text[:57] + "..."
    runs = sum(doc["native"].values())
    planned = len(doc["kinds"]) * doc["trials_per_kind"]
    if runs == planned:
        count = "%d trials per fault kind" % doc["trials_per_kind"]
    else:
        count = "%d of %d trials" % (runs, planned)
    return "nmr-campaign: %s\n%s, seed %s" % (text, count, doc["seed"])


def draw_chart(doc, path):
    """Writes the chart of a campaign document (as written to --json) to path."""
    fmt = chart_format(path)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = doc["kinds"]
    by_kind = doc["by_kind"]
    fig_w = max(6.0, 1.6 * len(kinds) + 3.0)
    fig, ax = plt.subplots(figsize=(fig_w, 4.8))
    positions, labels = [], []
    for k, kind in enumerate(kinds):
        for m, mode in enumerate(MODES):
            x = k * 2.6 + m * 1.0
            counts = by_kind[kind][mode]
            total = sum(counts.values())
            bottom = 0.0
            for outcome in OUTCOMES:
                n = counts[outcome]
                if not n:
                    continue
                frac = n / total
                ax.bar(x, frac, width=0.85, bottom=bottom, color=OUTCOME_COLOURS[outcome],
                       edgecolor="white", linewidth=0.6)
                if frac >= 0.07:
                    text_colour = "black" if outcome in ("benign", "detected") else "white"
                    ax.text(x, bottom + frac / 2, str(n), ha="center", va="center",
                            fontsize=8, color=text_colour)
                bottom += frac
            if total == 0:
                ax.text(x, 0.02, "no\ntrials", ha="center", va="bottom", fontsize=7)
            positions.append(x)
            labels.append(MODE_LABELS[mode])
        ax.text(k * 2.6 + 0.5, -0.13, kind, ha="center", va="top", fontsize=9,
                fontweight="bold", transform=ax.get_xaxis_transform())
    ax.set_xticks(positions)
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_xlim(-0.7, (len(kinds) - 1) * 2.6 + 1.7)
    ax.set_ylim(0, 1)
    ax.set_ylabel("fraction of trials")
    ax.set_title(title_of(doc), fontsize=10)
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    handles = [plt.Rectangle((0, 0), 1, 1, color=OUTCOME_COLOURS[o]) for o in OUTCOMES]
    ax.legend(handles[::-1], list(OUTCOMES)[::-1], loc="center left", bbox_to_anchor=(1.01, 0.5),
              frameon=False, fontsize=8)
    fig.subplots_adjust(bottom=0.2)
    metadata = {"Date": None} if fmt == "svg" else None
    tmp = path + ".tmp." + str(os.getpid())
    try:
        fig.savefig(tmp, format=fmt, bbox_inches="tight", metadata=metadata)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)
