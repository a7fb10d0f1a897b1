"""Constructors that refuse unknown keyword arguments and check declared ones.

`gym.make(id, **kwargs)` and `make_vec` pass kwargs straight to the env class, where Python's own TypeError names
only the bad argument. Env classes inherit `RefusesUnknownKwargs` so the error also lists what is allowed, and a
class-level `ARGS` table (see envs/checks.py) validates every declared argument, defaults included."""
from __future__ import annotations

import difflib
import functools
import inspect

from aligngym.envs.checks import validate


class RefusesUnknownKwargs:
    ARGS: dict = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return
        signature = inspect.signature(init)
        params = signature.parameters.values()
        if any(p.kind is p.VAR_KEYWORD for p in params):  # takes anything: a subclass names the real options
            return
        allowed = [p.name for p in params if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]

        @functools.wraps(init)
        def checked_init(self, *args, **kw):
            if set(kw) - set(allowed):
                raise TypeError(unknown_kwargs_message(type(self).__name__, kw, allowed))
            if type(self).ARGS:
                bound = signature.bind(self, *args, **kw)
                bound.apply_defaults()
                validate(type(self).ARGS, bound.arguments, type(self).__name__)
            init(self, *args, **kw)

        cls.__init__ = checked_init


def unknown_kwargs_message(what: str, kwargs, allowed: list[str]) -> str:
    """"<what> does not take x (did you mean y?); allowed kwargs: ...", for the kwargs not in `allowed`."""
    unknown = sorted(set(kwargs) - set(allowed))
    close = [m for u in unknown for m in difflib.get_close_matches(u, allowed, n=1)]
    return (f"{what} does not take {', '.join(unknown)}" + (f" (did you mean {', '.join(close)}?)" if close else "")
            + f"; allowed kwargs: {', '.join(allowed) or '(none)'}.")
