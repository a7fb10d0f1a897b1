"""Lifelong and extrapolative DPO on the questionnaire face: ProgressGym's preference-learning baselines, trained with
TRL's `DPOTrainer` and a peft LoRA adapter on any transformers backend (`llm=local`, `hf:<id>`, `path:<dir>`).

Before answering the questions of a new survey year, the examinee turns the in-context elicitation items into
preference pairs and takes `steps` DPO steps on them:
- lifelong (`order=0`): chosen = the option most of the current population picks, rejected = the least picked;
- extrapolative (`order=1` or `2`): the same, from each option's vote share extrapolated `ahead` survey years with
  ProgressGym's finite-difference formula (`baselines.extrapolate`) over the shares in view.
Then it answers by `score_choices` (on `answer="probability"` envs, the softmax of the option log-probabilities).
A question shows the elicitation block of its own dimension, so over a timestep every elicitation item yields a
pair, once. The defaults are a tiny CPU budget (one step of two pairs per block); the same code runs at paper
scale on a GPU with `llm=hf:<model>` and larger `steps` / `batch_size`.

    aligngym evaluate AlignGym/ProgressPredictText-v1 --agent "progress.dpo?order=1&steps=2" -k orders=cyclic
"""
from __future__ import annotations

import re
import tempfile
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from aligngym.agents.base import Agent, AgentContext
from aligngym.agents.progress.baselines import extrapolate
from aligngym.agents.progress.examinee import _SHARES, LLMExaminee


@dataclass(frozen=True)
class DPOArgs:
    order: int = 0
    """0 = lifelong DPO; 1 or 2 = extrapolative DPO of that finite-difference order"""
    ahead: int = 0
    """survey years the extrapolative shares look ahead (the factory sets k on Predict, 1 on Coevolve)"""
    steps: int = 1
    """DPO optimiser steps per elicitation block and survey year (the CPU budget)"""
    batch_size: int = 2
    """preference pairs per step"""
    beta: float = 0.1
    """DPO's KL temperature"""
    learning_rate: float = 5e-5
    """AdamW step size of the adapter weights"""
    max_length: int = 512
    """tokens of prompt + completion kept"""
    lora_rank: int = 8
    """LoRA rank r"""
    lora_alpha: int = 16
    """LoRA scaling alpha"""
    target_modules: tuple[str, ...] = field(default=("q_proj", "v_proj"))
    """attention projections that get adapters"""


def preference_pairs(text: str, order: int, ahead: int) -> list[dict]:
    """{prompt, chosen, rejected} for every elicitation item shown in `text`, from its vote shares by year."""
    pairs = []
    for m in _SHARES.finditer(text):
        years = [[float(x) for x in re.findall(r"\d\) (\d+)%", y)] for y in m.group("shares").split(" | ")]
        shares = np.array([y for y in years if y]) / 100.0  # (years, options), oldest first
        if not len(shares):
            continue
        target = extrapolate(shares, order, ahead) if order and len(shares) > 1 else shares[-1]
        best, worst = int(np.argmax(target)), int(np.argmin(target))
        if best != worst:
            prompt = f"Question: {m.group('q')}\n{m.group('opts')}Answer:"
            pairs.append({"prompt": prompt, "chosen": f" {best + 1}", "rejected": f" {worst + 1}"})
    return pairs


class DPOExaminee(LLMExaminee):
    def __init__(self, llm, args: DPOArgs, probability: bool = False):
        super().__init__(llm, mode="score", probability=probability)
        self.args = args
        self.name = "progress.dpo"
        self.hyperparameters.update(asdict(args))
        self._peft_model = None  # the peft wrapper of llm.lm after the first training call

    def act(self, obs_batch):
        pairs = []
        for text in obs_batch:
            blocks = list(_SHARES.finditer(text))
            key = (text.split("\n", 1)[0], blocks[0].group("q") if blocks else "")
            if key not in self._tuned_on:
                self._tuned_on.add(key)
                pairs += preference_pairs(text, self.args.order, self.args.ahead)
        if pairs:
            self.train(pairs)
        return super().act(obs_batch)

    def train(self, pairs: list[dict]) -> None:
        """`steps` DPO steps on the pairs; the adapter persists from one call to the next."""
        import torch
        from datasets import Dataset
        from peft import LoraConfig
        from trl import DPOConfig, DPOTrainer

        a = self.args
        with tempfile.TemporaryDirectory() as tmp:
            config = DPOConfig(output_dir=tmp, beta=a.beta, learning_rate=a.learning_rate, max_steps=a.steps,
                               per_device_train_batch_size=a.batch_size, max_length=a.max_length, report_to=[],
                               save_strategy="no", logging_strategy="no", disable_tqdm=True,
                               bf16=torch.cuda.is_available(), use_cpu=not torch.cuda.is_available())
            lora = None if self._peft_model is not None else LoraConfig(
                r=a.lora_rank, lora_alpha=a.lora_alpha, lora_dropout=0.0, target_modules=list(a.target_modules),
                task_type="CAUSAL_LM")
            trainer = DPOTrainer(model=self._peft_model or self.llm.lm, args=config,
                                 train_dataset=Dataset.from_list(pairs), processing_class=self.llm.tokenizer,
                                 peft_config=lora)
            trainer.train()
        # peft injects the adapters into llm.lm's own modules, so the backend scores with them from now on
        self._peft_model = trainer.model.eval()


def dpo(ctx: AgentContext, llm="local", order: int = 0, ahead: int | None = None, steps: int = DPOArgs.steps,
        batch_size: int = DPOArgs.batch_size, learning_rate: float = DPOArgs.learning_rate) -> Agent:
    """`llm`: a transformers backend spec (local, hf:<id>, path:<dir>) or such a backend object."""
    if order not in (0, 1, 2):
        raise ValueError(f"order must be 0 (lifelong), 1 or 2 (extrapolative), got {order!r}.")
    for name, value in (("steps", steps), ("batch_size", batch_size)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    try:
        import peft  # noqa: F401
        import trl  # noqa: F401
    except ImportError:
        raise ValueError("progress.dpo needs trl and peft: `pip install aligngym[trl]`.") from None
    env = ctx.make_env()
    sim = env.unwrapped.sim
    env.close()
    if ahead is None:
        ahead = {"follow": 0, "predict": sim.k, "coevolve": 1}[sim.challenge] if order else 0
    if isinstance(llm, str):
        from aligngym.llm import load
        llm = load(llm, cache=False, reuse=False)  # training changes the weights: a private copy, no cache
    if not (hasattr(llm, "lm") and hasattr(llm, "tokenizer")):
        raise ValueError(f"progress.dpo needs a transformers backend (local, hf:, path:), not "
                         f"{llm.describe()['backend']}.")
    args = replace(DPOArgs(), order=order, ahead=ahead, steps=steps, batch_size=batch_size,
                   learning_rate=learning_rate)
    return DPOExaminee(llm, args, probability=ctx.env_kwargs.get("answer") == "probability")
