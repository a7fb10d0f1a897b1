"""`aligngym shopping …`: rerun the "Of Models and Tin Men" design on any LLM backend and print its table."""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from aligngym.cli.common import console, fail, parse_kv

app = typer.Typer(no_args_is_help=True, help="Shopping family: LLM shopping agents torn between customer and company.")




@app.command("run")
def run_cmd(llm: List[str] = typer.Option(["local"], "--llm", help="LLM spec (repeat for several models): local, "
                                          "hf:<id>, path:<dir>, openai:<model>@<url>."),
            out: Path = typer.Option(Path("reports/shopping/records.jsonl"), help="Records file (JSON lines; resumes)."),
            temperature: List[float] = typer.Option([0.2, 0.6], "--temperature", help="Sampling temperatures (repeat)."),
            trials: int = typer.Option(30, help="Trials per cell (the study used 30)."),
            scenario: List[str] = typer.Option(["ethics", "corporate"], "--scenario", help="ethics, corporate or a .json file."),
            condition: List[str] = typer.Option(["both", "company", "customer", "nobody"], "--condition",
                                                help="Disclosure conditions (repeat)."),
            mode: str = typer.Option("two_step", help="two_step (explanation, then choice) or one_shot."),
            max_new_tokens: int = typer.Option(60, help="Tokens for the explanation."),
            batch_size: int = typer.Option(48, help="Trials per LLM call."),
            seed: int = typer.Option(0, help="Sampling seed.")):
    """The study's design (2 scenarios x 4 conditions x models x temperatures {0.2, 0.6} x 30 trials); then the table."""
    from aligngym.benchmarks.shopping.experiment import run_design
    from aligngym.benchmarks.shopping.stats import counts_from_records

    try:
        records = run_design({spec: spec for spec in llm}, out, temperatures=temperature, trials=trials,
                             scenarios=scenario, conditions=condition, mode=mode, max_new_tokens=max_new_tokens,
                             batch_size=batch_size, seed=seed)
    except ValueError as e:
        fail(str(e))
    console.print(f"{len(records)} trials in {out}")
    _print_tables(counts_from_records(records))


@app.command("table")
def table_cmd(records: List[Path] = typer.Argument(None, help="Records files written by `aligngym shopping run`."),
              paper: bool = typer.Option(False, "--paper", help="Add the study's published numbers."),
              as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON.")):
    """Override rate per scenario x condition x model x temperature (Wilson 95% CI) and disclosure sensitivity."""
    from aligngym.benchmarks.shopping.experiment import read_records
    from aligngym.benchmarks.shopping.paper import paper_counts
    from aligngym.benchmarks.shopping.stats import counts_from_records

    if not records and not paper:
        fail("Give at least one records file (or --paper for the study's own numbers).")
    try:
        counts = counts_from_records(read_records(records or []))
    except (ValueError, KeyError) as e:
        fail(f"Cannot read the records: {e}")
    if paper:
        counts.update(paper_counts())
    _print_tables(counts, as_json)


def _print_tables(counts: dict, as_json: bool = False) -> None:
    from aligngym.benchmarks.shopping.stats import rate_rows, sensitivity_rows

    rates, sens = rate_rows(counts), sensitivity_rows(counts)
    if as_json:
        print(json.dumps({"override_rates": rates, "disclosure_sensitivity": sens}, indent=2))
        return
    t = Table(title="Override rate (chose against the customer's preference), 95% Wilson CI")
    for col in ("scenario", "model", "T", "condition", "overrides / parsed", "rate", "95% CI", "parse failures"):
        t.add_column(col)
    for r in rates:
        t.add_row(r["scenario"], r["model"], f"{r['temperature']:g}", r["condition"], f"{r['overrides']}/{r['n']}",
                  "-" if r["rate"] is None else f"{r['rate']:.2f}", f"[{r['ci_low']:.2f}, {r['ci_high']:.2f}]",
                  str(r["parse_failures"]))
    console.print(t)
    s = Table(title="Disclosure sensitivity: override rate when the company reads the explanation (both, company) "
                    "minus when it does not (customer, nobody)")
    for col in ("scenario", "model", "T", "seen", "unseen", "difference [95% CI]", "z-test p", "Fisher p"):
        s.add_column(col)
    for r in sens:
        s.add_row(r["scenario"], r["model"], f"{r['temperature']:g}", f"{r['seen']:.2f} (n={r['n_seen']})",
                  f"{r['unseen']:.2f} (n={r['n_unseen']})", f"{r['diff']:+.2f} [{r['ci_low']:+.2f}, {r['ci_high']:+.2f}]",
                  f"{r['p_z']:.2g}", f"{r['p_fisher']:.2g}")
    console.print(s)


@app.command("conditions")
def conditions_cmd(agent: str = typer.Option("shopping.disclosure_sensitive", help="Agent spec for the numeric face."),
                   episodes: int = typer.Option(2000, help="Sessions per condition."),
                   env_kwarg: List[str] = typer.Option([], "--env-kwarg", "-k", help="KEY=VALUE for the env."),
                   seed: int = typer.Option(0),
                   out: Optional[Path] = typer.Option(None, help="JSON file for the results.")):
    """A numeric-face agent's metrics per disclosure condition (does it override only where it is not seen?)."""
    import aligngym  # noqa: F401  (registers the ids)
    import gymnasium as gym

    from aligngym.agents.base import AgentContext
    from aligngym.agents.spec import make_agent
    from aligngym.benchmarks.shopping.by_condition import by_condition

    kwargs = parse_kv(env_kwarg)
    env_id = "AlignGym/ShoppingAssistant-v0"
    try:
        env = gym.make(env_id, **kwargs)
        ctx = AgentContext(env_id, env.observation_space, env.action_space, env_kwargs=kwargs, seed=seed)
        result = by_condition(make_agent(agent, ctx), kwargs, episodes=episodes, seed=seed)
    except (ValueError, TypeError) as e:
        fail(str(e))
    t = Table(title=f"{agent} on {env_id}: mean per disclosure condition ({episodes} sessions each)")
    names = list(next(iter(result.values())))
    for col in ["condition", *names]:
        t.add_column(col)
    for condition, metrics in result.items():
        t.add_row(condition, *(f"{metrics[m]:.3f}" for m in names))
    console.print(t)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"agent": agent, "env_kwargs": kwargs, "episodes": episodes, "by_condition": result},
                                  indent=2))
