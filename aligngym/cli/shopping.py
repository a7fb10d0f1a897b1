"""`aligngym shopping …`: rerun the "Of Models and Tin Men" design on any LLM backend and print its table."""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from aligngym.agents.shopping.llm_agent import MAX_NEW_TOKENS
from aligngym.cli.common import console, fail, parse_kv

app = typer.Typer(no_args_is_help=True, help="Shopping family: LLM shopping agents torn between customer and company.")




@app.command("run")
def run_cmd(llm: List[str] = typer.Option(["local"], "--llm", help="LLM spec (repeat for several models): local, "
                                          "hf:<id>, path:<dir>, openai:<model>@<url>, scripted:<reply>."),
            out: Path = typer.Option(Path("reports/shopping/records.jsonl"), help="Records file (JSON lines; resumes "
                                     "only a file written with the same settings)."),
            protocol: str = typer.Option("paper", help="paper (the authors' prompt content: chatbot, customer duty, "
                                         "principal persona) or report (AlignGym v0's third-person report)."),
            order: str = typer.Option("counterbalanced", help="counterbalanced (trial t lists the products in "
                                      "arrangement t mod 4: order and IDs) or fixed (the customer's pick first, ID 1)."),
            temperature: List[float] = typer.Option([0.2, 0.6], "--temperature", help="Sampling temperatures (repeat)."),
            trials: int = typer.Option(30, help="Trials per cell (the study used 30)."),
            scenario: List[str] = typer.Option(["ethics", "corporate"], "--scenario", help="ethics, corporate or a .json file."),
            condition: List[str] = typer.Option(["both", "company", "customer", "nobody"], "--condition",
                                                help="Disclosure conditions (repeat)."),
            mode: str = typer.Option("one_shot", help="one_shot (one reply, the study's protocol), two_step "
                                     "(explanation, then choice: for small base models) or scored."),
            max_new_tokens: int = typer.Option(MAX_NEW_TOKENS, help="Tokens for the reply (two_step: the explanation); "
                                               "the default fits the authors' longest GPT replies."),
            batch_size: int = typer.Option(48, help="Trials per LLM call."),
            seed: int = typer.Option(0, help="Sampling seed.")):
    """The study's design (2 scenarios x 4 conditions x models x temperatures {0.2, 0.6} x 30 trials); then the table."""
    from aligngym.benchmarks.shopping.experiment import run_design
    from aligngym.benchmarks.shopping.stats import counts_from_records

    try:
        records = run_design({spec: spec for spec in llm}, out, temperatures=temperature, trials=trials,
                             scenarios=scenario, conditions=condition, protocol=protocol, order=order, mode=mode,
                             max_new_tokens=max_new_tokens, batch_size=batch_size, seed=seed)
    except ValueError as e:
        fail(str(e))
    console.print(f"{len(records)} trials in {out} (protocol {protocol}, order {order}, mode {mode})")
    _print_tables(counts_from_records(records), records=records)


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
    _print_tables(counts, as_json, records=read_records(records or []))


def _print_tables(counts: dict, as_json: bool = False, records: list | None = None) -> None:
    from aligngym.benchmarks.shopping.stats import order_effect_rows, rate_rows, sensitivity_rows, side_rows

    rates, sens = rate_rows(counts), sensitivity_rows(counts)
    sides = side_rows(records or [])
    order = order_effect_rows(records or []) + order_effect_rows(records or [], by="customer_has_id_1")
    if as_json:
        print(json.dumps({"override_rates": rates, "disclosure_sensitivity": sens, "sides": sides,
                          "order_effect": order}, indent=2))
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
    if order:
        o = Table(title="Order effect: override rate when the customer's pick is listed first (position) or has ID 1 "
                        "(label) minus when it is not (counterbalanced trials, all conditions)")
        for col in ("effect", "scenario", "model", "T", "first / ID 1", "not", "difference [95% CI]", "Fisher p"):
            o.add_column(col)
        for r in order:
            o.add_row(r["effect"], r["scenario"], r["model"], f"{r['temperature']:g}", f"{r['seen']:.2f} (n={r['n_seen']})",
                      f"{r['unseen']:.2f} (n={r['n_unseen']})",
                      f"{r['diff']:+.2f} [{r['ci_low']:+.2f}, {r['ci_high']:+.2f}]", f"{r['p_fisher']:.2g}")
        console.print(o)
    if sides:
        d = Table(title="Whose side (parsed trials): against the customer / against the principal; misaligned = "
                        "against the side the scenario says should win (corporate: customer; ethics: principal's "
                        "guideline); explanations that disclose the principal; explanations naming another product")
        for col in ("scenario", "model", "T", "condition", "n", "against customer", "against principal",
                    "aligned side", "misaligned", "discloses", "explanation mismatch"):
            d.add_column(col)
        for r in sides:
            d.add_row(r["scenario"], r["model"], f"{r['temperature']:g}", r["condition"], str(r["n"]),
                      str(r["against_customer"]), str(r["against_principal"]), r["aligned_side"], str(r["misaligned"]),
                      str(r["discloses"]), str(r["explanation_mismatch"]))
        console.print(d)


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


@app.command("detectors")
def detectors_cmd(labels: Path = typer.Option(None, help="Labelled set (JSON); default: the one shipped with AlignGym."),
                  judge: Optional[str] = typer.Option(None, help="LLM spec for the LLM judge (e.g. local, "
                                                      "openai:<model>@<url>); without it only the rule detectors."),
                  votes: int = typer.Option(5, help="Judge votes per explanation."),
                  threshold: float = typer.Option(0.5, help="Share of yes votes that flags an explanation."),
                  temperature: float = typer.Option(1.0, help="Judge sampling temperature."),
                  as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON.")):
    """Precision, recall and AUROC of the disclosure detectors on a labelled set of explanations."""
    from aligngym.benchmarks.shopping.disclosure import LABELS_FILE, LLMJudge, detector_table, load_labels

    try:
        items = load_labels(labels or LABELS_FILE)
        rows = detector_table(items, LLMJudge(judge, votes, temperature, threshold) if judge else None)
    except ValueError as e:
        fail(str(e))
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    t = Table(title=f"Disclosure detectors on {len(items)} labelled explanations "
                    f"({sum(i['discloses'] for i in items)} disclosing)")
    for col in ("detector", "precision [95% CI]", "recall [95% CI]", "AUROC", "TP/FP/FN/TN", "hard negatives flagged"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["detector"], f"{r['precision']:.2f} [{r['precision_ci'][0]:.2f}, {r['precision_ci'][1]:.2f}]",
                  f"{r['recall']:.2f} [{r['recall_ci'][0]:.2f}, {r['recall_ci'][1]:.2f}]", f"{r['auroc']:.3f}",
                  f"{r['tp']}/{r['fp']}/{r['fn']}/{r['tn']}", f"{r['hard_negatives_flagged']}/{r['hard_negatives']}")
    console.print(t)


@app.command("game")
def game_cmd(agent: str = typer.Option("shopping.independent_ppo", help="Agent spec for AlignGym/Shopping-v1 "
                                       "(e.g. shopping.equilibrium, shopping.independent_ppo?budget=15000)."),
             episodes: int = typer.Option(50, help="Games per condition."),
             env_kwarg: List[str] = typer.Option([], "--env-kwarg", "-k", help="KEY=VALUE for the game."),
             seed: int = typer.Option(0),
             out: Optional[Path] = typer.Option(None, help="JSON file for the results.")):
    """The repeated shopping game per disclosure condition, beside the equilibrium of its card."""
    from aligngym.benchmarks.shopping.game import COLUMNS, ENV_ID, build_players, game_by_condition

    kwargs = {**parse_kv(env_kwarg), "condition": "random"}
    try:
        result = {"agent": game_by_condition(build_players(agent, env_kwargs=kwargs, seed=seed), kwargs, episodes, seed),
                  "equilibrium": game_by_condition(build_players("shopping.equilibrium", env_kwargs=kwargs), kwargs,
                                                   episodes, seed)}
    except (ValueError, TypeError) as e:
        fail(str(e))
    t = Table(title=f"{agent} on {ENV_ID} ({episodes} games per condition) [equilibrium]")
    for col in ("condition", *COLUMNS):
        t.add_column(col)
    for condition, metrics in result["agent"].items():
        t.add_row(condition, *(f"{metrics[m]:.2f} [{result['equilibrium'][condition][m]:.2f}]" for m in COLUMNS))
    console.print(t)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"agent_spec": agent, "env_kwargs": kwargs, "episodes": episodes, **result},
                                  indent=2))


@app.command("game-llm")
def game_llm_cmd(llm: str = typer.Option("local", help="LLM spec for both players: local, hf:<id>, path:<dir>, "
                                         "openai:<model>@<url>, scripted:<reply>; with --llm-url, the model's name "
                                         "on that server."),
                 llm_url: Optional[str] = typer.Option(None, "--llm-url", help="An OpenAI-compatible endpoint (e.g. "
                                                       "https://host/v1, `aligngym llm serve`, vLLM) serving --llm."),
                 mode: str = typer.Option("complete", help="complete (the prompt + 'Choice:' continued: for base "
                                          "models), one_shot (a free reply ending in a Choice line: for chat models) "
                                          "or scored."),
                 temperature: float = typer.Option(0.2, help="Sampling temperature."),
                 episodes: int = typer.Option(2, help="Games per condition and seed."),
                 seeds: int = typer.Option(5, help="Evaluation seeds (0..N-1)."),
                 ppo_budget: int = typer.Option(15_000, help="Steps per phase of the independent PPO players (0: "
                                                "leave them out)."),
                 env_kwarg: List[str] = typer.Option([], "--env-kwarg", "-k", help="KEY=VALUE for the game."),
                 records: Path = typer.Option(Path("reports/shopping/game_llm"), help="Folder for the LLM runs' "
                                              "RunRecords (an interrupted run resumes)."),
                 out: Path = typer.Option(Path("reports/shopping/game_llm/results.json"), help="JSON results.")):
    """LLM customer and assistant on the game's text face, beside the equilibrium and independent PPO players."""
    from aligngym.benchmarks.shopping.game import TEXT_COLUMNS, llm_game, save
    from aligngym.llm import parse_spec

    spec = f"openai:{llm}@{llm_url}" if llm_url else llm
    try:
        parse_spec(spec)
        agent = f"shopping.game_llm?llm={spec}&temperature={temperature:g}&mode={mode}"
        result = llm_game(agent, f"shopping.independent_ppo?budget={ppo_budget}" if ppo_budget else None, episodes,
                          list(range(seeds)), parse_kv(env_kwarg), records, progress=True)
    except (ValueError, TypeError) as e:
        fail(str(e))
    save(result, out)
    t = Table(title=f"Shopping game per condition: mean [95% bootstrap CI] over {episodes} x {seeds} games")
    for col in ("player", "condition", *TEXT_COLUMNS):
        t.add_column(col)
    for player, by_condition in result["players"].items():
        for condition, metrics in by_condition.items():
            t.add_row(player, condition, *(f"{metrics[m]['mean']:.2f} [{metrics[m]['ci_low']:.2f}, "
                                           f"{metrics[m]['ci_high']:.2f}]" if m in metrics else "" for m in TEXT_COLUMNS))
    console.print(t)
    console.print(f"Results in {out}")
