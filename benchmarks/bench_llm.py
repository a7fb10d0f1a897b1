"""LLM backend speed on the offline default model (Gemma-3-270M), ratios measured in the same run:

- generation throughput at batch 16 vs batch 1 (target >= 8x), greedy, response cache off;
- score_choices over 256 two-option items in one call vs each (prompt, choice) pair alone (target >= 5x;
  one by one is timed on a quarter of the pairs and scaled, since every pair costs the same), plus the same
  pairs as one padded batch without prompt-prefix reuse (what the prefix reuse saves); the three take turns
  on slices of the items so that changes in machine load hit them alike;
- load times (first conversion into an empty cache, cached reload) and peak RSS, each in a fresh process.

    python -m aligngym.benchmarks.bench_llm          # writes reports/bench/bench_llm.json (~4-7 minutes on 2 cores)
    python -m aligngym.benchmarks.bench_llm --quick  # ~2 minutes: fewer items, no first-conversion timing
    python -m aligngym.benchmarks.run_all --only llm [--quick]
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

TOPICS = ["an apple", "a hammer", "the moon", "a violin", "a carrot", "a river", "a tiger", "a laptop",
          "a tulip", "a glacier", "a banana", "a bicycle", "a sparrow", "a cactus", "a teapot", "a volcano"]
STARTS = ["The best way to learn a new language is", "In the year 1850, the city of London", "My favourite recipe",
          "The theory of evolution explains", "To fix a flat bicycle tyre, first", "The ocean is home to",
          "A good night's sleep helps", "The first computers were", "When the storm arrived, the villagers",
          "Photosynthesis is the process by which", "The old lighthouse keeper", "Music can change",
          "Mount Everest is", "The rules of chess say that", "Coffee was first discovered", "Rainbows appear when"]

# Runs in a fresh interpreter: load the default model, answer once, report load time and peak RSS.
_LOAD_PROBE = """
import json, resource, sys, time
t = time.perf_counter()
from aligngym.llm import load
llm = load("local", cache=False, progress=False)
loaded = time.perf_counter() - t
llm.generate(["The capital of France is"] * 16, max_new_tokens=8)  # batched greedy: includes the bf16 head copy
llm.score_choices(["The capital of France is"] * 64, [[" Paris", " banana"]] * 64)
print(json.dumps({"load_s": loaded, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _probe(env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", _LOAD_PROBE], env=env, capture_output=True, text=True, timeout=900)
    if out.returncode:
        raise RuntimeError(f"load probe failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_load(quick: bool) -> dict:
    env = dict(os.environ, ALIGNGYM_LLM_CACHE="0")
    result = {"cached_reload": _probe(env)}
    if quick:
        result["first_conversion"] = None  # ~1 min and 1 GB of disk: full runs only
    else:
        with tempfile.TemporaryDirectory() as tmp:
            result["first_conversion"] = _probe(dict(env, ALIGNGYM_CACHE=tmp))
    return result


def bench_generate(llm, quick: bool) -> dict:
    new_tokens = 16 if quick else 32
    prompts = STARTS[:16]
    singles = prompts[:2] if quick else prompts[:4]
    llm.generate(prompts[:1], max_new_tokens=2)  # warm-up
    rows = {}
    for name, batches in (("batch_1", [[p] for p in singles]), ("batch_16", [prompts])):
        before = llm.usage["generated_tokens"]
        t = time.perf_counter()
        for batch in tqdm(batches, desc=f"generate {name}", leave=False):
            llm.generate(batch, max_new_tokens=new_tokens)
        seconds = time.perf_counter() - t
        tokens = llm.usage["generated_tokens"] - before
        rows[name] = {"prompts": sum(map(len, batches)), "generated_tokens": tokens, "seconds": seconds,
                      "tokens_per_s": tokens / seconds}
    rows["max_new_tokens"] = new_tokens
    rows["speedup"] = rows["batch_16"]["tokens_per_s"] / rows["batch_1"]["tokens_per_s"]
    return rows


def bench_score(llm, quick: bool) -> dict:
    n_items, rounds = (64, 2) if quick else (256, 4)
    prompts = [f"Question {i}: Is {TOPICS[i % 16]} something you can eat? Think of {TOPICS[(i * 7) % 16]} "
               f"as a comparison.\nAnswer (Yes or No):" for i in range(n_items)]
    choices = [[" Yes", " No"]] * n_items
    llm.score_choices(prompts[:2], choices[:2])  # warm-up
    # The three ways take turns on slices of the items, so a change in machine load hits all of them alike.
    # Every (prompt, choice) pair costs the same, so one by one is timed on a sample of each slice and scaled.
    times = {"batched": 0.0, "padded": 0.0, "pair_by_pair": 0.0}
    batched, padded, single, timed = [], [], [], 0
    per = n_items // rounds
    for r in tqdm(range(rounds), desc="score_choices rounds", leave=False):
        ps, cs = prompts[r * per:(r + 1) * per], choices[r * per:(r + 1) * per]
        pairs = [(p, c) for p, row in zip(ps, cs) for c in row]
        t = time.perf_counter()
        batched += [s for row in llm.score_choices(ps, cs) for s in row]
        times["batched"] += time.perf_counter() - t
        t = time.perf_counter()
        padded += [row[0] for row in llm.score_choices([p for p, _ in pairs], [[c] for _, c in pairs])]
        times["padded"] += time.perf_counter() - t
        sample = pairs[:len(pairs) // 4]
        t = time.perf_counter()
        single += [llm.score_choices([p], [[c]])[0][0] for p, c in sample]
        times["pair_by_pair"] += time.perf_counter() - t
        timed += len(sample)
    pair_by_pair_s = times["pair_by_pair"] * 2 * n_items / timed
    sampled = [b for r in range(rounds) for b in batched[r * 2 * per:r * 2 * per + len(single) // rounds]]
    return {"items": n_items, "pairs": 2 * n_items, "batched_s": times["batched"],
            "pairs_one_padded_batch_s": times["padded"], "pair_by_pair_s": pair_by_pair_s,
            "pair_by_pair_timed_pairs": timed, "speedup": pair_by_pair_s / times["batched"],
            "prefix_reuse_gain": times["padded"] / times["batched"],
            "max_abs_diff_vs_pair_by_pair": max(abs(a - b) for a, b in zip(sampled, single)),
            "max_abs_diff_padded": max(abs(a - b) for a, b in zip(batched, padded))}


def main(out_dir: Path, quick: bool = False) -> dict:
    import torch

    from aligngym.llm import load

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    load_avg = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print("bench_llm: load times (fresh processes) ...")
    loads = bench_load(quick)
    llm = load("local", cache=False, reuse=False, progress=False)
    print("bench_llm: generation throughput ...")
    gen = bench_generate(llm, quick)
    print("bench_llm: score_choices ...")
    score = bench_score(llm, quick)
    result = {
        "benchmark": "bench_llm", "quick": quick, "model": llm.model, "revision": llm.revision,
        "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "load_avg_at_start": load_avg,
                    "platform": platform.platform(), "torch": torch.__version__},
        "load": loads, "generate": gen, "score_choices": score,
        "targets": {"generate_speedup_min": 8.0, "score_speedup_min": 5.0,
                    "generate_ok": gen["speedup"] >= 8.0, "score_ok": score["speedup"] >= 5.0},
    }
    (out_dir / "bench_llm.json").write_text(json.dumps(result, indent=2))
    print(f"bench_llm: generate x{gen['speedup']:.1f} (batch 16 vs 1), score_choices x{score['speedup']:.1f} "
          f"(vs pair by pair), cached load {loads['cached_reload']['load_s']:.1f} s, "
          f"peak RSS {loads['cached_reload']['peak_rss_mb']:.0f} MB -> {out_dir / 'bench_llm.json'}")
    return result


if __name__ == "__main__":
    from aligngym.benchmarks.run_all import script_main

    raise SystemExit(script_main(main, __doc__))
