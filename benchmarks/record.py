"""RunRecord: the versioned JSON document one evaluation produces.

It carries what is needed to reproduce and compare a result (as lm-evaluation-harness and HELM records do):
the env id and full spec, suite version and git hash, Python/OS and package versions, the agent spec and its
hyperparameters, training and evaluation seeds, every episode's raw metrics, aggregates per metric with a 95%
bootstrap CI, start time and duration. `runrecord.schema.json` beside this file is the published schema.
The harness journals finished batches beside the record and writes the record once, atomically, at the end,
so an interrupted run keeps what finished.
"""
from __future__ import annotations

import functools
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field, fields
from importlib import metadata
from pathlib import Path
from typing import Any

SCHEMA_VERSION = "1.0"
SCHEMA_PATH = Path(__file__).with_name("runrecord.schema.json")
TRACKED_PACKAGES = ("aligngym", "gymnasium", "pettingzoo", "stable-baselines3", "torch", "mujoco", "transformers", "numpy")


@dataclass
class RunRecord:
    env_id: str
    env_spec: dict[str, Any]
    env_kwargs: dict[str, Any]
    agent: dict[str, Any]  # {"spec": ..., "name": ..., "class": ..., "hyperparameters": {...}}
    training_seed: int | None
    eval_seeds: list[int]
    episodes_per_seed: int
    num_envs: int
    episodes: list[dict[str, Any]] = field(default_factory=list)  # {"seed_index", "episode", "seed", "metrics"}
    aggregates: dict[str, dict[str, Any]] = field(default_factory=dict)
    higher_is_better: dict[str, bool | None] = field(default_factory=dict)
    finished: bool = False
    started_at: str = ""
    duration_s: float = 0.0
    suite_version: str = ""
    git_hash: str | None = None
    system: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    schema_version: str = SCHEMA_VERSION

    def recompute_aggregates(self) -> None:
        from aligngym.benchmarks.stats import aggregate_many

        names = sorted({k for ep in self.episodes for k in ep["metrics"]})
        columns = {n: [ep["metrics"].get(n) for ep in self.episodes] for n in names}
        self.aggregates = aggregate_many(columns, self.higher_is_better)

    def to_dict(self) -> dict[str, Any]:
        # _json_safe copies every container, so dataclasses.asdict's deep copy first would be paid twice
        return _json_safe({f.name: getattr(self, f.name) for f in fields(self)})

    def save(self, path: str | Path) -> None:
        """Validates, then writes atomically (temp file + rename), so a crash never leaves half a record."""
        data = self.to_dict()
        validate(data)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(_dumps(data))
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunRecord":
        validate(data)
        return cls(**{k: _from_json_nan(v) if k == "aggregates" else v for k, v in data.items()})

    @classmethod
    def load(cls, path: str | Path) -> "RunRecord":
        try:
            data = json.loads(Path(path).read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} is not a RunRecord: not valid JSON ({e}).") from e
        return cls.from_dict(data)


@functools.lru_cache(maxsize=1)
def _validators():
    """The schema's jsonschema validator (the schema itself checked) and the same schema compiled by fastjsonschema,
    built once per process. The compiled one checks a 1,000-episode record ~60x faster; the schema uses only
    draft-07 keywords, so it compiles under draft-07 rules."""
    import fastjsonschema
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema), fastjsonschema.compile({**schema, "$schema": "http://json-schema.org/draft-07/schema#"})


def validate(data: Any) -> None:
    """Raises ValueError (naming the first problem) when `data` is not a RunRecord."""
    import fastjsonschema
    import jsonschema

    full, fast = _validators()
    try:
        fast(data)
        return
    except fastjsonschema.JsonSchemaException:
        pass  # jsonschema decides, and names the problem with its path
    try:
        full.validate(data)
    except jsonschema.ValidationError as e:
        where = "/".join(str(p) for p in e.absolute_path) or "(top level)"
        raise ValueError(f"Not a valid RunRecord (schema {SCHEMA_VERSION}): at {where}: {e.message}") from None


@functools.lru_cache(maxsize=1)
def _system_info() -> dict[str, Any]:
    versions = {}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"python": sys.version.split()[0], "platform": platform.platform(), "machine": platform.machine(),
            "packages": versions}


def system_info() -> dict[str, Any]:
    """Python, OS and package versions (looked up once per process)."""
    info = _system_info()
    return {**info, "packages": dict(info["packages"])}  # a copy: the cached dict is never handed out


@functools.lru_cache(maxsize=1)
def git_hash() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                             text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


_ENCODER = json.JSONEncoder(allow_nan=False)  # one encoder: json.dumps(allow_nan=False) builds one per call


def _dumps(data: dict[str, Any]) -> str:
    """JSON with each field on its own line, and each item of a dict or list field (a metric's aggregate, an episode)
    on its own: about as readable as indenting everything, but written by json's C encoder (any `indent` makes json
    fall back to its pure-Python encoder, 10x slower)."""
    one = _ENCODER.encode
    fields_ = []
    for key, value in data.items():
        if isinstance(value, dict) and value:
            value = "{\n    " + ",\n    ".join(f"{one(k)}: {one(v)}" for k, v in value.items()) + "\n  }"
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            value = "[\n    " + ",\n    ".join(one(v) for v in value) + "\n  ]"
        else:
            value = one(value)
        fields_.append(f"  {one(key)}: {value}")
    return "{\n" + ",\n".join(fields_) + "\n}\n"


def _json_safe(value):
    """NaN/inf are not JSON: store them as null (the schema allows null for every aggregate number). Exact type
    checks first: this walks every value of a record."""
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _json_safe(value.item())
    return value


def _from_json_nan(aggregates):
    return {m: {k: (math.nan if v is None and k not in ("higher_is_better",) else v) for k, v in a.items()}
            for m, a in aggregates.items()}
