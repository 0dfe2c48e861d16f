"""Ctrl-C / SIGTERM: the main process finishes the step (a second signal stops at once);
loader workers ignore them and leave them to the main process."""
import os
import signal


def catch_stop():
    """Installs the SIGINT / SIGTERM handlers; returns the list the signals are appended to
    (empty while none came)."""
    stop_sig = []

    def on_signal(sig, _frame):
        if stop_sig:  # a second signal: stop now
            signal.signal(sig, signal.SIG_DFL)
            os.kill(os.getpid(), sig)
        stop_sig.append(sig)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    return stop_sig


def quiet_worker(_):
    """A loader worker leaves Ctrl-C / SIGTERM to the main process, which finishes the step."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
