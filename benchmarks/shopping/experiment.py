"""The study's design, for any LLM backend: scenarios x disclosure conditions x models x temperatures x trials.

Every trial is one ShoppingText episode (seeded by its trial number); all trials of a (model, temperature) run
through the LLM shopping agent in batches, each batch with its own sampling seed. One JSON line per trial is
appended to the records file, so an interrupted run resumes where it stopped (trials already recorded are skipped).
It steps the envs itself rather than through the harness: each record keeps the reply text, the parsed choice and
the parse error of its trial, and trials of many (scenario, condition) cells share one LLM batch; a RunRecord keeps
only per-episode metrics of one env configuration.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import numpy as np

from aligngym.agents.shopping.llm_agent import ShoppingLLMAgent
from aligngym.envs.shopping.scenarios import CONDITIONS, PAPER_SCENARIOS, check_condition
from aligngym.envs.shopping.text_env import ShoppingTextEnv
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
               mode: str = "two_step", max_new_tokens: int = 60, batch_size: int = 48, seed: int = 0,
               progress: bool = True) -> list[dict]:
    """Runs every missing trial and returns all records of `out`. `llms` maps a model label (usually the spec
    string) to a backend or a spec for `aligngym.llm.load`."""
    for s in scenarios:
        if s not in PAPER_SCENARIOS and not str(s).endswith(".json"):
            raise ValueError(f"Unknown scenario {s!r}; allowed: {', '.join(PAPER_SCENARIOS)} or a .json file.")
    for c in conditions:
        check_condition(c, allow_random=False)
    if trials < 1 or batch_size < 1:
        raise ValueError(f"trials and batch_size must be >= 1, got {trials}, {batch_size}.")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = {_key(r) for r in read_records([out])} if out.exists() else set()
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
                _run_chunk(agent, label, chunk, out, seed)
                if bar:
                    bar[0].advance(bar[1], len(chunk))
    if bar:
        bar[0].stop()
    return read_records([out])


def _run_chunk(agent: ShoppingLLMAgent, label: str, chunk: list[tuple], out: Path, seed: int) -> None:
    # a sampling seed of its own for every chunk (from its first trial): trials of one cell share their prompt,
    # so reusing a seed would repeat (or, through the response cache, copy) earlier samples
    _, temp, _, _, first = chunk[0]
    agent.reset(len(chunk), seed=int(np.random.SeedSequence([seed, int(temp * 1000), first]).generate_state(1)[0]))
    envs = [ShoppingTextEnv(scenario=s, condition=c) for (_, _, s, c, _) in chunk]
    prompts = [env.reset(seed=trial)[0] for env, (*_, trial) in zip(envs, chunk)]
    replies = agent.act(prompts)
    with out.open("a") as f:
        for env, reply, (_, temp, s, c, trial) in zip(envs, replies, chunk):
            _, reward, _, _, info = env.step(reply)
            record = {"scenario": s, "condition": c, "model": label, "temperature": temp, "trial": trial,
                      "mode": agent.mode, "choice": info["choice"], **info["metrics"],
                      "parse_error": info["parse_error"], "reward": reward, "reply": reply,
                      "llm": agent.llm.describe().get("model", "")}
            f.write(json.dumps(record) + "\n")


def _key(r: dict) -> tuple:
    return (r["model"], float(r["temperature"]), r["scenario"], r["condition"], int(r["trial"]))


def _progress(total: int):
    from rich.progress import Progress

    bar = Progress()
    bar.start()
    return bar, bar.add_task("shopping trials", total=total)
