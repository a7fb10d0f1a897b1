"""The study's design, for any LLM backend: scenarios x disclosure conditions x models x temperatures x trials.

Every trial is one ShoppingText episode (seeded by its trial number); all trials of a (model, temperature) run
through the LLM shopping agent in batches, each batch with its own sampling seed. One JSON line per trial is
appended to the records file, so an interrupted run resumes where it stopped (trials already recorded are skipped).
It steps the envs itself rather than through the harness: each record keeps the reply text, the parsed choice and
the parse error of its trial, and trials of many (scenario, condition) cells share one LLM batch; a RunRecord keeps
only per-episode metrics of one env configuration.

Protocol `paper` (the default) words the prompt as the authors did (see envs/shopping/prompts.py). With
`order="counterbalanced"` (the default) trial t of every cell lists its products in arrangement t mod 4 (order
reversed or not, IDs ascending or descending), so each cell sees every arrangement equally often (within one).
Every record carries the run's `settings` (protocol, order, mode, max_new_tokens, seed, batch_size, detector);
resuming a file written with other settings is refused, naming what differs.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import numpy as np

from aligngym.agents.shopping.llm_agent import MAX_NEW_TOKENS, MODES, ShoppingLLMAgent
from aligngym.envs.shopping.prompts import ARRANGEMENTS
from aligngym.envs.shopping.scenarios import CONDITIONS, PAPER_SCENARIOS, check_condition, check_protocol
from aligngym.envs.shopping.text_env import ORDERS, ShoppingTextEnv
from aligngym.llm.base import LLM

DESIGN = {"scenarios": ("ethics", "corporate"), "conditions": CONDITIONS, "temperatures": (0.2, 0.6), "trials": 30}


def read_records(paths: Iterable[str | Path]) -> list[dict]:
    records = []
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise ValueError(f"No records file {path}.")
        for i, line in enumerate(path.read_text().splitlines()):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise ValueError(f"{path}:{i + 1} is not a JSON line: {e}") from e
    return records


def run_design(llms: dict[str, LLM | str], out: str | Path, temperatures=DESIGN["temperatures"],
               trials: int = DESIGN["trials"], scenarios=DESIGN["scenarios"], conditions=DESIGN["conditions"],
               protocol: str = "paper", order: str = "counterbalanced", mode: str = "one_shot",
               max_new_tokens: int = MAX_NEW_TOKENS, batch_size: int = 48, seed: int = 0,
               progress: bool = True) -> list[dict]:
    """Runs every missing trial and returns all records of `out`. `llms` maps a model label (usually the spec
    string) to a backend or a spec for `aligngym.llm.load`."""
    check_protocol(protocol)
    if order not in ORDERS:
        raise ValueError(f"Unknown order {order!r}; allowed: {', '.join(ORDERS)}.")
    if mode not in MODES:
        raise ValueError(f"Unknown mode {mode!r}; allowed: {', '.join(MODES)}.")
    for s in scenarios:
        if s not in PAPER_SCENARIOS and not str(s).endswith(".json"):
            raise ValueError(f"Unknown scenario {s!r}; allowed: {', '.join(PAPER_SCENARIOS)} or a .json file.")
    for c in conditions:
        check_condition(c, allow_random=False)
    if trials < 1 or batch_size < 1 or max_new_tokens < 1:
        raise ValueError(f"trials, batch_size and max_new_tokens must be >= 1, got {trials}, {batch_size}, "
                         f"{max_new_tokens}.")
    settings = {"protocol": protocol, "order": order, "mode": mode, "max_new_tokens": int(max_new_tokens),
                "seed": int(seed), "batch_size": int(batch_size), "detector": "rules"}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    old = read_records([out]) if out.exists() else []
    check_settings(old, settings, out)
    done = {_key(r) for r in old}
    # trial-major order, so that a run stopped early still has about as many trials in every cell
    jobs = [(label, float(t), s, c, i) for label in llms for t in temperatures for i in range(trials)
            for s in scenarios for c in conditions]
    todo = [j for j in jobs if j not in done]
    bar = _progress(len(todo)) if progress and todo else None
    for label in llms:
        agent = None
        for temp in temperatures:
            cell = [j for j in todo if j[0] == label and j[1] == float(temp)]
            if not cell:
                continue
            agent = agent or ShoppingLLMAgent(llms[label], max_new_tokens=max_new_tokens, mode=mode, seed=seed)
            agent.temperature = float(temp)
            for start in range(0, len(cell), batch_size):
                chunk = cell[start:start + batch_size]
                _run_chunk(agent, label, chunk, out, settings)
                if bar:
                    bar[0].advance(bar[1], len(chunk))
    if bar:
        bar[0].stop()
    return read_records([out])


def check_settings(records: list[dict], settings: dict, out: Path) -> None:
    """Refuses to add trials to records written with other settings (a table mixing them would mean nothing)."""
    for r in records:
        old = r.get("settings")
        if old != settings:
            if old is None:
                raise ValueError(f"{out} holds records without settings (an older AlignGym run); resuming it could "
                                 "mix protocols. Use another --out, or `aligngym shopping table` to read it.")
            diff = ", ".join(f"{k}: file {old.get(k)!r} vs now {settings.get(k)!r}"
                             for k in sorted(set(old) | set(settings)) if old.get(k) != settings.get(k))
            raise ValueError(f"{out} was written with other settings ({diff}); rerun with the file's settings to "
                             "resume it, or choose another --out.")


def _run_chunk(agent: ShoppingLLMAgent, label: str, chunk: list[tuple], out: Path, settings: dict) -> None:
    # a sampling seed of its own for every chunk (from its first trial): trials of one cell share their prompt,
    # so reusing a seed would repeat (or, through the response cache, copy) earlier samples
    _, temp, _, _, first = chunk[0]
    agent.reset(len(chunk), seed=int(np.random.SeedSequence([settings["seed"], int(temp * 1000), first])
                                    .generate_state(1)[0]))
    envs = [ShoppingTextEnv(scenario=s, condition=c, protocol=settings["protocol"], order=settings["order"],
                            detector=settings["detector"]) for (_, _, s, c, _) in chunk]
    arrangement = (lambda trial: trial % ARRANGEMENTS) if settings["order"] == "counterbalanced" else (lambda _: 0)
    starts = [env.reset(seed=trial, options={"arrangement": arrangement(trial)}) for env, (*_, trial) in zip(envs, chunk)]
    # the prompts, and the same text as system + user messages for chat backends (one_shot mode)
    replies = agent.act([prompt for prompt, _ in starts], messages=[info["messages"] for _, info in starts])
    with out.open("a") as f:
        for env, reply, (_, temp, s, c, trial) in zip(envs, replies, chunk):
            _, reward, _, _, info = env.step(reply)
            record = {"scenario": s, "condition": c, "model": label, "temperature": temp, "trial": trial,
                      "mode": agent.mode, "choice": info["choice"], **info["metrics"],
                      "arrangement": info["arrangement"], "customer_listed_first": info["customer_listed_first"],
                      "customer_has_id_1": info["customer_has_id_1"],
                      "aligned_with": env.scenario.aligned_with,
                      "explanation": info["explanation"], "parse_error": info["parse_error"], "reward": reward,
                      "reply": reply, "llm": agent.llm.describe().get("model", ""), "settings": settings}
            f.write(json.dumps(record) + "\n")


def _key(r: dict) -> tuple:
    return (r["model"], float(r["temperature"]), r["scenario"], r["condition"], int(r["trial"]))


def _progress(total: int):
    from rich.progress import Progress

    bar = Progress()
    bar.start()
    return bar, bar.add_task("shopping trials", total=total)
