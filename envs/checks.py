"""Argument checks every env, agent factory and CLI shares.

Declare the arguments beside the signature and let the constructor check them:

    class MyEnv(RefusesUnknownKwargs, gym.Env):
        ARGS = {"awareness": Float(0, 1), "horizon": Int(1), "preset": Choice(PRESETS), "path": Opt(Str())}

        def __init__(self, awareness=0.9, horizon=20, preset="default", path=None, render_mode=None): ...

`RefusesUnknownKwargs` (envs/checked_init.py) refuses kwargs the constructor does not take and, with `ARGS`,
validates every declared argument (defaults included) before `__init__` runs. `validate(ARGS, values, what)` does
the same for a plain dict (agent factories, CLIs). Errors are `ArgumentError` (a ValueError) naming the argument,
the value and what is allowed.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any, Callable

Rule = Callable[[str, Any], None]  # raises ArgumentError when the value is not allowed


class ArgumentError(ValueError):
    pass


def _fail(name: str, value: Any, allowed: str):
    raise ArgumentError(f"{name} must be {allowed}, got {value!r}.")


def _bounds(low, high) -> str:
    if low is not None and high is not None:
        return f" in [{low}, {high}]"
    return f" >= {low}" if low is not None else f" <= {high}" if high is not None else ""


class Int:
    def __init__(self, low: int | None = None, high: int | None = None):
        self.low, self.high = low, high

    def __call__(self, name, value):
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        if not ok or (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            _fail(name, value, "an integer" + _bounds(self.low, self.high))


class Float:
    """A finite real number (ints accepted) within closed bounds."""

    def __init__(self, low: float | None = None, high: float | None = None):
        self.low, self.high = low, high

    def __call__(self, name, value):
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            _fail(name, value, "a finite number" + _bounds(self.low, self.high))


class Bool:
    def __call__(self, name, value):
        if not isinstance(value, bool):
            _fail(name, value, "True or False")


class Str:
    def __call__(self, name, value):
        if not isinstance(value, str):
            _fail(name, value, "a string")


class Choice:
    def __init__(self, options):
        self.options = tuple(options)

    def __call__(self, name, value):
        try:
            if value in self.options:
                return
        except TypeError:  # unhashable values are simply not among the options
            pass
        _fail(name, value, "one of " + ", ".join(map(repr, self.options)))


class Opt:
    """None, or what `rule` allows."""

    def __init__(self, rule: Rule):
        self.rule = rule

    def __call__(self, name, value):
        if value is not None:
            self.rule(name, value)


def validate(rules: Mapping[str, Rule], values: Mapping[str, Any], what: str = "") -> None:
    """Checks each value that has a rule; `what` prefixes the message (e.g. the env's name)."""
    for name, rule in rules.items():
        if name in values:
            try:
                rule(name, values[name])
            except ArgumentError as e:
                raise ArgumentError(f"{what}: {e}" if what else str(e)) from None


class UnsupportedRenderMode(ValueError, TypeError):
    """Also a TypeError because SB3's `make_vec_env` asks for `render_mode="rgb_array"` and retries without it
    only on TypeError; anyone else sees a plain ValueError."""


def check_render_mode(render_mode: str | None, metadata: Mapping[str, Any]) -> str | None:
    allowed = metadata.get("render_modes", [])
    if render_mode is not None and render_mode not in allowed:
        raise UnsupportedRenderMode(f"render_mode must be None or one of {allowed}, got {render_mode!r}.")
    return render_mode
