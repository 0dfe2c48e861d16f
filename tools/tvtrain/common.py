"""What every part of tools/tv_train.py shares: its error exit, its log lines, the
exception for a non-finite loss or gradient, and strict JSON reading."""
import json
import os
import sys


class NonFinite(Exception):
    pass


def fail(msg):
    raise SystemExit(f"tv_train: {msg}")


def log(msg):
    print(f"[tv_train] {msg}", file=sys.stderr, flush=True)


def read_json(path, what):
    if not os.path.isfile(path):
        fail(f"{what} {path} does not exist")
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        fail(f"{path}: not valid JSON: {e}")
