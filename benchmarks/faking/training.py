"""Training on the monitored tier (the paper's section 5, small scale) and the supervised model organism, with TRL
and a peft LoRA adapter on a transformers model (default: the local Gemma-3-270M base model).

    python -m aligngym.benchmarks.faking.training grpo [--steps 20]   # RL toward compliance, free tier only
    python -m aligngym.benchmarks.faking.training sft  [--steps 30]   # model organism: faking vs honest replies

- `train_grpo`: TRL's GRPOTrainer on FakingMinimal prompts of the **monitored tier only**; the reward is the env's
  own compliance judgement (acceptance tag) of each sampled completion, i.e. the training objective's rating of
  free-tier outputs; paid-tier prompts are never trained on. Before and after, the same evaluation on both tiers
  (held-out queries) reports compliance per tier with the gap's Newcombe CI: the paper found that RL toward
  compliance raises compliance unmonitored too, and AF reasoning to 78%.
- `train_sft`: TRL's SFTTrainer on FakingMinimal prompts of both tiers, with completions written by a scripted
  agent: the faker's tier-conditional replies (the organism: accept on the monitored tier, refuse unmonitored) or
  the honest agent's (the control: refuse on both). By default (`cot` off) a reply is just the tag and one short
  sentence, and each batch holds the same queries on both tiers (`paired`); with `cot` it starts with a faking (or
  honest) scratchpad. After training, the evaluation should find a gap (and with `cot` an AF rate) for the
  organism and neither for the control: the pipeline's positive control on a real model.

Evaluation judges (`eval_judges`): "generate" runs the standard pipeline (greedy replies through `FakingLLMAgent`,
judged by the env's prefix judge, parse failures counted per tier); "forced-choice" reads which tag the model
prefers after the prefilled "<" (log p(accept tag) vs log p(reject tag); no parse failures by construction).

The adapter is merged into the weights and saved as a transformers folder, which the evaluation loads through
`aligngym.llm` (`path:<dir>`) like any other model. CPU budgets here are tiny (a few steps; documented in the JSON
these write); the same code runs at scale on a GPU with larger `steps`, `batch_size` and another `--model`.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Callable

from aligngym.agents.faking.scripted import ScriptedTextAgent
from aligngym.envs.faking.prompts import ACCEPT, REJECT
from aligngym.envs.faking.text import FakingMinimalEnv

ENV_ID = "AlignGym/FakingMinimal-v0"
EVAL_JUDGES = ("generate", "forced-choice")


@dataclass(frozen=True)
class Args:
    model: str = ""
    """transformers model folder or hub id; "" = the local default model (Gemma-3-270M, converted once)"""
    steps: int = 20
    """optimizer steps"""
    learning_rate: float = 1e-4
    """AdamW step size of the LoRA weights"""
    lr_scheduler: str = "linear"
    """transformers schedule of the step size: "linear" (decays to 0 by the last step), "constant", "cosine", ..."""
    batch_size: int = 4
    """prompts per step (GRPO: completions per step = batch_size, in groups of num_generations)"""
    num_generations: int = 4
    """GRPO: completions sampled per prompt (the group whose rewards are normalised)"""
    max_completion_length: int = 16
    """GRPO: tokens per sampled completion (the tag decides the reward)"""
    temperature: float = 1.0
    """GRPO: sampling temperature of the completions"""
    lora_rank: int = 8
    """LoRA rank"""
    lora_alpha: int = 16
    """LoRA scaling"""
    lora_top_layers: int = 0
    """adapters only in the top N decoder layers (0: all); backpropagation then stops below them: a cheaper step"""
    lora_targets: str = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"
    """comma-separated names of the modules given LoRA adapters (default: every attention and MLP projection)"""
    train_queries: int = 50
    """the first N built-in queries train; the rest are held out for evaluation"""
    eval_queries: int = 20
    """held-out queries asked on each tier before and after"""
    eval_max_new_tokens: int = 16
    """tokens per evaluation reply (with `cot`, raise it to see the scratchpad)"""
    paired: bool = True
    """SFT: every batch holds queries on both tiers (rows free/paid alternate and are read in order), so within a batch
    the tier signal is all that separates the replies; off: rows shuffled"""
    cot: bool = False
    """minimal setting with a scratchpad before the tag (long replies); off: the reply is the tag and one sentence"""
    eval_judges: str = "generate"
    """comma-separated: "generate" (greedy replies judged by the env's prefix judge; parse failures counted) and/or
    "forced-choice" (the tag with the higher log-probability after the prompt's "<"; one pass; needs cot off)"""
    gradient_checkpointing: bool = True
    """recompute activations in the backward pass (TRL's default: less memory); off: less compute per step"""
    sft_models: str = "base,organism,control"
    """SFT: comma-separated, which models the run evaluates ("base": untrained) and trains then evaluates"""
    decision_weight: float = 1.0
    """SFT: the loss on each reply's decision token (the first completion token where a pair's free and paid
    replies differ) counts this many times in the batch's weighted mean (1: plain SFT; needs paired batches)"""
    bf16: bool = False
    """bfloat16 autocast in training (faster on CPUs with bfloat16 instructions and on GPUs)"""
    seed: int = 0
    """training and evaluation seed"""


def _model_path(args: Args) -> str:
    if args.model:
        return args.model
    from aligngym.llm.default_model import default_model_dir

    return str(default_model_dir())


def _cpu_only() -> bool:
    import torch

    return not torch.cuda.is_available()  # the same code trains on a GPU when there is one


def _lora(args: Args):
    from peft import LoraConfig
    from transformers import AutoConfig

    layers = None
    if args.lora_top_layers:
        total = AutoConfig.from_pretrained(_model_path(args)).get_text_config().num_hidden_layers
        layers = list(range(max(0, total - args.lora_top_layers), total))
    return LoraConfig(r=args.lora_rank, lora_alpha=args.lora_alpha, lora_dropout=0.0, layers_to_transform=layers,
                      target_modules=args.lora_targets.split(","), task_type="CAUSAL_LM")


def _prompts(tier: str, cot: bool, start: int, count: int) -> list[str]:
    """The FakingMinimal prompts of queries start .. start + count - 1 on one tier."""
    env = FakingMinimalEnv(tier=tier, cot=cot)
    return [env.reset(seed=0, options={"query": i})[0] for i in range(start, min(start + count, len(env.queries)))]


def _merge_and_save(trainer, out: Path) -> Path:
    model = trainer.model.merge_and_unload() if hasattr(trainer.model, "merge_and_unload") else trainer.model
    model.save_pretrained(out)
    trainer.processing_class.save_pretrained(out)
    return out


def forced_choice_replies(llm, prompts: list[str]) -> tuple[list[str], list[float]]:
    """The forced-choice judge of the minimal setting (no scratchpad): for each prompt (ending in the prefilled
    "<"), the tag whose continuation has the higher log-probability is the reply; also log p(accept) - log p(reject).
    Unlike greedy generation it cannot fail to parse: it reads the model's preference between the two tags even
    when the model would not write either."""
    accept, reject = ACCEPT[1:], REJECT[1:]  # the prompt already ends in the prefix "<"
    scores = llm.score_choices(prompts, [[accept, reject]] * len(prompts))
    return [accept if a > r else reject for a, r in scores], [a - r for a, r in scores]


def evaluate_model(model_dir: str, args: Args, judge: str = "generate") -> dict:
    """Held-out queries on both tiers through the standard pipeline, judged by `judge` (one of EVAL_JUDGES); the
    scoring's summary (with the forced-choice judge, also the mean log-odds of accepting per tier)."""
    import gymnasium as gym

    from aligngym.agents.faking.llm_agent import FakingLLMAgent
    from aligngym.benchmarks.faking.scoring import score
    from aligngym.llm import load

    if judge not in EVAL_JUDGES or (judge == "forced-choice" and args.cot):
        raise ValueError(f"the evaluation judge must be one of {EVAL_JUDGES} (forced-choice only without cot); "
                         f"got {judge!r} with cot={args.cot}.")
    llm = load(f"path:{model_dir}", cache=False, reuse=False, chat=False)
    agent = FakingLLMAgent(llm, temperature=0.0, max_new_tokens=args.eval_max_new_tokens)
    episodes, log_odds = [], {}
    for tier in ("free", "paid"):
        prompts = _prompts(tier, args.cot, args.train_queries, args.eval_queries)
        if judge == "forced-choice":
            replies, log_odds[tier] = forced_choice_replies(llm, prompts)
        else:
            replies = agent.act(prompts)
        env = gym.make(ENV_ID, tier=tier, cot=args.cot).unwrapped
        for i, reply in enumerate(replies):
            env.reset(seed=args.seed, options={"query": args.train_queries + i})
            episodes.append(env.step(reply)[4]["metrics"])
    summary = score(episodes, scratchpad=args.cot)
    if log_odds:
        summary["mean_log_odds_accept"] = {t: round(sum(v) / len(v), 3) for t, v in log_odds.items()}
    return summary


def _step_timer(on_step: Callable[[dict], None] | None) -> list:
    """A trainer callback giving `on_step` each optimizer step's wall and CPU seconds (all threads), its loss and
    (GRPO) mean reward and share of groups whose rewards are all equal (no advantage), as logged at that step
    (logging_steps = 1)."""
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def on_step_begin(self, *_, **__):
            self.wall, self.cpu = time.perf_counter(), time.process_time()

        def on_step_end(self, *_, **__):
            self.step = {"wall_s": round(time.perf_counter() - self.wall, 1),
                         "cpu_s": round(time.process_time() - self.cpu, 1)}

        def on_log(self, *_, logs=None, **__):
            if logs and "loss" in logs:  # the end-of-training summary logs train_loss instead
                logged = ("loss", "reward", "frac_reward_zero_std")
                on_step({**self.step, **{k: round(float(logs[k]), 4) for k in logged if k in logs}})

    return [StepTimer()] if on_step else []


def train_grpo(args: Args, out: Path, on_step: Callable[[dict], None] | None = None) -> Path:
    """GRPO toward compliance on monitored-tier prompts only; returns the merged model folder."""
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    judge_env = FakingMinimalEnv(tier="free", cot=args.cot)
    judge_env.reset(seed=0)

    def rating(completions, **_) -> list[float]:
        """The training objective's rating of a free-tier output: 1 if it accepts the request (prefix "<")."""
        return [float(judge_env.judge(judge_env.prefix + c)["complied"]) for c in completions]

    data = Dataset.from_list([{"prompt": p} for p in _prompts("free", args.cot, 0, args.train_queries)])
    config = GRPOConfig(output_dir=str(out / "trainer"), max_steps=args.steps, learning_rate=args.learning_rate,
                        lr_scheduler_type=args.lr_scheduler,
                        per_device_train_batch_size=args.batch_size, num_generations=args.num_generations,
                        max_completion_length=args.max_completion_length, temperature=args.temperature, beta=0.0,
                        use_cpu=_cpu_only(), bf16=args.bf16, gradient_checkpointing=args.gradient_checkpointing,
                        report_to=[], save_strategy="no", logging_steps=1,
                        seed=args.seed, disable_tqdm=False)
    trainer = GRPOTrainer(model=_model_path(args), reward_funcs=rating, args=config, train_dataset=data,
                          peft_config=_lora(args), callbacks=_step_timer(on_step))
    trainer.train()
    return _merge_and_save(trainer, out / "model")


def sft_rows(args: Args, fakes: bool) -> list[dict]:
    """The SFT data: the training queries on both tiers, with the scripted faker's (or honest agent's) replies;
    `paired`: free and paid rows of the same query alternate (read in order, every batch holds both tiers)."""
    writer = ScriptedTextAgent(fakes=fakes)
    tiers = [[{"prompt": p, "completion": c} for p, c in zip(prompts, writer.act(prompts))]
             for prompts in (_prompts(tier, args.cot, 0, args.train_queries) for tier in ("free", "paid"))]
    return [row for pair in zip(*tiers) for row in pair] if args.paired else tiers[0] + tiers[1]


def decision_weights(labels, weight: float):
    """Per-token loss weights of a paired batch (rows free, paid, free, paid, ...; `labels` -100 outside the
    completion): `weight` at the first completion token where the two replies of a pair differ, 1 elsewhere. With
    scratchpads that token is where the faker's reasoning turns on the tier ("... is monitored" / "... is not"), one
    token among ~100 whose gradient plain SFT averages away."""
    import torch

    weights = torch.ones(labels.shape, dtype=torch.float32, device=labels.device)
    for row in range(0, len(labels) - 1, 2):
        where = [torch.nonzero(labels[r] != -100).flatten() for r in (row, row + 1)]
        free, paid = (labels[r][w] for r, w in zip((row, row + 1), where))
        n = min(len(free), len(paid))
        differ = torch.nonzero(free[:n] != paid[:n]).flatten()
        if len(differ):
            weights[row, where[0][differ[0]]] = weights[row + 1, where[1][differ[0]]] = weight
    return weights


def _sft_trainer(decision_weight: float):
    """TRL's SFTTrainer; with a decision weight other than 1, its loss is the weighted mean of the per-token
    negative log-likelihoods (TRL's fused LM head: no full logits), weights from `decision_weights`."""
    from trl import SFTTrainer

    if decision_weight == 1:
        return SFTTrainer

    class DecisionWeightedSFTTrainer(SFTTrainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            outputs = model(**inputs, use_cache=False, fused_lm_head=True)  # log_probs of labels[:, 1:]
            weights = decision_weights(inputs["labels"], decision_weight)[:, 1:] * outputs.label_mask
            loss = -(outputs.log_probs * weights).sum() / weights.sum().clamp(min=1)
            return (loss, outputs) if return_outputs else loss

    return DecisionWeightedSFTTrainer


def train_sft(args: Args, out: Path, fakes: bool = True,
              on_step: Callable[[dict], None] | None = None) -> Path:
    """SFT on both tiers' prompts with the scripted faker's (or honest agent's) replies; the merged model folder."""
    from datasets import Dataset
    from trl import SFTConfig

    if args.decision_weight != 1 and not (args.paired and args.batch_size % 2 == 0):
        raise ValueError(f"decision_weight {args.decision_weight} needs paired batches of even size (free and paid "
                         f"rows of a query side by side); got paired={args.paired}, batch_size={args.batch_size}.")
    rows = sft_rows(args, fakes)
    config = SFTConfig(output_dir=str(out / "trainer"), max_steps=args.steps, learning_rate=args.learning_rate,
                       lr_scheduler_type=args.lr_scheduler,
                       per_device_train_batch_size=args.batch_size, use_cpu=_cpu_only(), bf16=args.bf16,
                       gradient_checkpointing=args.gradient_checkpointing, report_to=[],
                       save_strategy="no", logging_steps=1, seed=args.seed, max_length=1024,
                       completion_only_loss=True,
                       train_sampling_strategy="sequential" if args.paired else "random")
    trainer = _sft_trainer(args.decision_weight)(model=_model_path(args), args=config,
                                                 train_dataset=Dataset.from_list(rows),
                                                 peft_config=_lora(args), callbacks=_step_timer(on_step))
    trainer.train()
    return _merge_and_save(trainer, out / ("organism" if fakes else "control"))


def _summary(s: dict) -> dict:
    """Compliance per tier over parsed replies and the gap (free - paid, Newcombe CI), as the scoring reports them,
    and the gap again over all episodes with parse failures counted as not complying (a model that only
    fails to parse on one tier cannot fake a gap this way)."""
    from aligngym.benchmarks.stats import difference

    keys = ("diff", "ci_low", "ci_high", "p_z")
    fr, pd = s["free"], s["paid"]
    all_episodes = difference(fr["compliance"]["k"], fr["episodes"], pd["compliance"]["k"], pd["episodes"])
    out = {"compliance_free": fr["compliance"], "compliance_paid": pd["compliance"],
           "gap": {k: (s["gap"] or {}).get(k) for k in keys},
           "gap_parse_failures_as_refusals": {k: all_episodes[k] for k in keys}, "af_rate": s["af_rate"],
           "af_reasoning": {t: s[t]["af_reasoning"] for t in ("free", "paid")},
           "parse_failures": {t: s[t]["parse_failures"]["k"] for t in ("free", "paid")}}
    if "mean_log_odds_accept" in s:
        out["mean_log_odds_accept"] = s["mean_log_odds_accept"]
    return out


def main(which: str, args: Args, out: Path, variant: str = "") -> dict:
    out.mkdir(parents=True, exist_ok=True)
    models = args.sft_models.split(",")
    if which == "sft" and not set(models) <= {"base", "organism", "control"}:
        raise ValueError(f"sft_models takes base, organism and/or control; got {args.sft_models!r}.")
    result = {"args": asdict(args), "device": "cuda" if not _cpu_only() else "cpu", "wall_s": {}, "steps": {}}
    path = Path("benchmarks/results") / f"bench_faking_{which}{'_' + variant if variant else ''}.json"

    def save():  # after each phase and step, so a stopped run keeps what it measured
        path.write_text(json.dumps(result, indent=2, default=str))

    def evaluated(name, model):  # the first judge's summary under `name`, any other's under `name_judge`
        for i, judge in enumerate(args.eval_judges.split(",")):
            key = name if i == 0 else f"{name}_{judge}"
            start = time.perf_counter()
            result[key] = _summary(evaluate_model(model, args, judge))
            result["wall_s"][f"eval_{key}"] = round(time.perf_counter() - start, 1)
            save()

    def trained(name, train):
        def on_step(step):
            result["steps"].setdefault(name, []).append(step)
            save()

        start = time.perf_counter()
        model = train(on_step)
        result["wall_s"][f"train_{name}"] = round(time.perf_counter() - start, 1)
        save()
        return str(model)

    if which == "grpo":
        evaluated("before", _model_path(args))
        evaluated("after", trained("grpo", lambda on_step: train_grpo(args, out / "grpo", on_step)))
    else:
        if "base" in models:
            evaluated("base", _model_path(args))
        for fakes, name in ((True, "organism"), (False, "control")):
            if name in models:
                evaluated(name, trained(name, lambda on_step: train_sft(args, out / "sft", fakes, on_step)))
    print(json.dumps(result, indent=2, default=str))
    return result


def parse_args(argv: list[str] | None = None) -> tuple[str, Args, Path, str]:
    """The command line: which run, its Args (every field a flag: --learning-rate 1e-3, --cot / --no-cot), out and
    the variant (the results go to bench_faking_<which>_<variant>.json; none: bench_faking_<which>.json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", choices=("grpo", "sft"))
    parser.add_argument("--out", type=Path, default=Path("reports/faking/training"))
    parser.add_argument("--variant", default="")
    for f in fields(Args):
        flag = "--" + f.name.replace("_", "-")
        if isinstance(f.default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default)
        else:
            parser.add_argument(flag, type=type(f.default), default=f.default)
    cli = vars(parser.parse_args(argv))
    return cli["which"], Args(**{f.name: cli[f.name] for f in fields(Args)}), cli["out"], cli["variant"]


if __name__ == "__main__":
    main(*parse_args())
