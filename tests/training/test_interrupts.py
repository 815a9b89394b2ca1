"""Ctrl-C and SIGTERM held while a block runs, then handed to their own handlers."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from facetwin.training.interrupts import interrupts_held


def test_a_held_ctrl_c_waits_for_the_block_then_interrupts():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts_held() as held:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)  # a second Ctrl-C does not cut the block short either
            done.append("finished")
            assert held == [signal.SIGINT, signal.SIGINT]
    assert done == ["finished"] and signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_sigterm_goes_to_its_own_handler_after_the_block():
    seen = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(signum))
    try:
        with interrupts_held() as held:
            os.kill(os.getpid(), signal.SIGTERM)
            assert seen == [] and held == [signal.SIGTERM]
        assert seen == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_an_error_in_the_block_is_what_comes_out():
    with pytest.raises(ValueError, match="the save failed"):
        with interrupts_held():
            os.kill(os.getpid(), signal.SIGINT)
            raise ValueError("the save failed")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ignored_signals_stay_ignored():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with interrupts_held() as held:
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGINT)
        assert held == []
    finally:
        signal.signal(signal.SIGINT, previous)


def test_outside_the_main_thread_nothing_is_held():
    result = {}

    def work():
        with interrupts_held() as held:
            result["handler"] = signal.getsignal(signal.SIGINT)
            result["held"] = held

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert result == {"handler": signal.default_int_handler, "held": []}
