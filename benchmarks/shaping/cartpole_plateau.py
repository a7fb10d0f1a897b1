"""Is BARFI's loss to primary-only on CartPole with the bad heuristic (issue 17) BARFI's own doing (H2), or what
any tiny extra reward term costs REINFORCE + Adam at CartPole's 500 ceiling (H1)?

H1: at the ceiling every episode of a batch returns 500, primary-only's advantages are exactly 0 and only the
entropy bonus moves its policy, while any other reward term, however small, adds a policy gradient there (which
Adam may scale up). A control tells the two apart: the naive sum with the bad heuristic scaled down to BARFI's size
(`aux_scale`; BARFI ends with |phi1| <= 0.0075), a fixed term that carries none of what BARFI learns. If the
controls lose like BARFI, H1; if they tie, H2 (docs/shaping.md: they tie). Every run is traced as in
cartpole_normaliser.py (per inner update: all-500 batch or not, advantages, gradient norm, step size), 10 seeds x
1000 episodes in batches of 16, the table's CartPole learner (advantage floor 0.05), each method paired with
primary-only under the same learner. The controls run at 0.001, 0.01 and 0.03: the middle one matches the size of
BARFI's advantages in all-500 batches, the last is above BARFI's largest seed.

The controls tie, so the cost is BARFI's. What of it? Its reward weight phi is re-estimated every 3 episodes from a
noisy 3-episode hypergradient, which RMSprop (lr 0.001) normalises into full-size steps, and its discount drifts.
Three BARFI variants tell the parts apart: `random outer steps` (`Args.outer_random`: each outer step keeps its
size and takes a seeded random direction, a content-free non-stationary reward on BARFI's code path: if it loses
like BARFI, the cost is the moving reward itself, not what BARFI's gradient says), `one outer step per batch`
(`outer_episodes` 0: one step on all 16 episodes, fewer and better averaged) and `adam` (bias-corrected, so its
first steps are smaller than RMSprop's). A walk goes nowhere on average where BARFI's consistent gradient carries
phi steadily one way, so `random drift` (`outer_random="drift"`: one random direction per seed, BARFI's step
sizes) is a content-free control of that too. Rows ending `bad_reference` train on the authors' bad heuristic and
pair with the same primary-only runs (primary-only never sees the heuristic; the table's runs are identical).

    python -m aligngym.benchmarks.shaping.cartpole_plateau --out benchmarks/results [--learner L] [--method M]

Writes shaping_cartpole_plateau.{json,md} (runs of other learners/methods already in the JSON are kept).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path


from aligngym.benchmarks.shaping.cartpole_normaliser import ENV, PRESET, record, summarise_learner, traced_train
from aligngym.benchmarks.shaping.scoring import summarise
from aligngym.benchmarks.shaping.table import CARTPOLE_LEARNER
from aligngym.benchmarks.stats import format_cell

# method -> (reward mode, env kwargs over the bad heuristic, BARFI's outer-loop Args over the preset's)
METHODS = {"primary": ("primary", {}, {}), "barfi": ("barfi", {}, {}), "naive": ("naive", {}, {}),
           **{f"naive, aux x {scale:g}": ("naive", {"aux_scale": scale}, {}) for scale in (0.001, 0.01, 0.03)},
           # is it the non-stationary reward or BARFI's noisy outer step? (see the module docstring)
           "barfi, random outer steps": ("barfi", {}, {"outer_random": "walk"}),
           "barfi, one outer step per batch": ("barfi", {}, {"outer_episodes": 0}),
           "barfi, adam": ("barfi", {}, {"outer_optimizer": "adam"}),
           "barfi, random drift": ("barfi", {}, {"outer_random": "drift"}),
           # primary-only's runs do not depend on the heuristic, so these pair with the same primary-only
           **{f"{name}, bad_reference": ("barfi", {"heuristic": "bad_reference"}, {"outer_random": random})
              for name, random in (("barfi", "off"), ("barfi, random outer steps", "walk"),
                                   ("barfi, random drift", "drift"))}}
# learner name -> Args overrides (the same for every method)
LEARNERS = {"floor 0.05": CARTPOLE_LEARNER}


def _run(job: tuple) -> tuple:
    learner, method, seed, episodes = job
    mode, env_kwargs, outer = METHODS[method]
    return (job, *traced_train(mode, seed, episodes, {**LEARNERS[learner], **outer}, env_kwargs))


def measure(jobs: list[tuple], workers: int = 2) -> dict:
    """{learner: {method: per-seed numbers and their summaries}} for (learner, method, seed, episodes) jobs."""
    from tqdm import tqdm

    runs: dict = {}
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for (learner, method, _, _), curve, trace in tqdm(pool.map(_run, jobs), total=len(jobs), desc="traced runs"):
            record(runs.setdefault(learner, {}).setdefault(method, {}), curve, trace)
    return runs


def merge(saved: dict, new: dict) -> dict:
    """Runs of `new` over those of `saved`, per learner and method, primary-only first."""
    out = {learner: dict(by_method) for learner, by_method in saved.items()}
    for learner, by_method in new.items():
        out.setdefault(learner, {}).update(by_method)
    for learner, by_method in out.items():
        out[learner] = {m: by_method[m] for m in sorted(by_method, key=lambda m: m != "primary")}
        for entry in out[learner].values():
            entry.pop("final_minus_primary", None)
            entry.pop("summary", None)
        if "primary" in out[learner]:
            summarise_learner(out[learner])
        else:  # nothing to pair with yet
            for entry in out[learner].values():
                entry["summary"] = {k: summarise(v) for k, v in entry.items() if isinstance(v, list)}
    return out


def markdown(results: dict) -> str:
    lines = [f"CartPole, bad heuristic (rows ending bad_reference: the authors' bad heuristic), "
             f"{len(results['seeds'])} seeds x {results['episodes']} episodes (batches of 16), `{PRESET}` outer "
             "loop; late = the last fifth of the inner updates; 'all 500' = batches whose episodes all returned 500",
             "",
             "| learner | method | final: last fifth | minus primary-only (paired, Student-t) | late batches all "
             "500 | RMS advantage used there | grad norm there | step there (norm of dtheta) | step elsewhere |",
             "|---|---|---|---|---|---|---|---|---|"]
    for learner, by_method in results["runs"].items():
        for method, e in by_method.items():
            s, d = e["summary"], e.get("final_minus_primary")
            versus = (f"{d['difference']:+.1f} [{d['ci_low']:+.1f}, {d['ci_high']:+.1f}] {d['outcome']}" if d
                      else "baseline")
            cells = [format_cell(s[k], f) for k, f in (("final", ".1f"), ("share_all_equal", ".2f"),
                                                        ("used_all_equal", ".4f"), ("grad_all_equal", ".3f"),
                                                        ("step_all_equal", ".4f"), ("step_other", ".4f"))]
            lines.append(f"| {learner} | {method} | {cells[0]} | {versus} | " + " | ".join(cells[1:]) + " |")
    return "\n".join(lines) + "\n"


def main(out_dir: Path, learners, methods, seeds: int = 10, episodes: int = 1000, workers: int = 2) -> dict:
    start = time.time()
    jobs = [(name, m, s, episodes) for name in learners for m in methods for s in range(seeds)]
    path = out_dir / "shaping_cartpole_plateau.json"
    saved = json.loads(path.read_text()) if path.exists() else {"runs": {}}
    if saved["runs"] and (saved["seeds"] != list(range(seeds)) or saved["episodes"] != episodes):
        raise ValueError(f"{path} holds {len(saved['seeds'])} seeds x {saved['episodes']} episodes; use another --out.")
    runs = merge(saved["runs"], measure(jobs, workers))
    results = {"env_id": ENV, "preset": PRESET, "heuristic": "bad", "episodes": episodes, "num_envs": 16,
               "seeds": list(range(seeds)), "methods": {m: METHODS[m] for by in runs.values() for m in by},
               "learners": {name: LEARNERS[name] for name in runs}, "runs": runs,
               "seconds": round(saved.get("seconds", 0) + time.time() - start, 1)}
    out_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results))
    (out_dir / "shaping_cartpole_plateau.md").write_text(markdown(results))
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--learner", action="append", choices=tuple(LEARNERS), help="Repeat; default: all.")
    parser.add_argument("--method", action="append", choices=tuple(METHODS), help="Repeat; default: all.")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parsed = parser.parse_args()
    print(markdown(main(parsed.out, parsed.learner or tuple(LEARNERS), parsed.method or tuple(METHODS),
                        parsed.seeds, parsed.episodes, parsed.workers)))
