"""What a run reports as it goes: metrics.jsonl lines (docs/TRAIN.md), times as h:mm:ss for
the progress lines, and the charts our plot tool draws from metrics.jsonl."""
import json
import os
import subprocess

from tvtrain.common import log


def hms(sec):
    sec = int(max(sec, 0))
    return f"{sec // 3600}:{sec // 60 % 60:02d}:{sec % 60:02d}" if sec >= 3600 \
        else f"{sec // 60}:{sec % 60:02d}"


def append_line(path, rec):
    with open(path, "a") as f:
        f.write(json.dumps(rec, separators=(",", ":")) + "\n")


def plot(plot_bin, log_path, out_dir):
    """OUT/plots from metrics.jsonl by build/bin/plot; a note when it is missing, a warning
    when it fails (the run stands either way)."""
    if os.access(plot_bin, os.X_OK):
        r = subprocess.run([plot_bin, "--log", log_path, "--out", out_dir],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            log(f"warning: no plots: {r.stdout.strip()[-500:]}")
    else:
        log(f"note: no plots ({plot_bin} is missing)")
