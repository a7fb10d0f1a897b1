"""The training driver: its forced-choice judge, summary and command line (fast), and one step of each TRL training
loop on the local model (slow: needs trl + peft and the ~1 GB default model)."""
from __future__ import annotations

from pathlib import Path

import pytest

from aligngym.benchmarks.faking.training import (Args, _prompts, _summary, decision_weights, evaluate_model,
                                                 forced_choice_replies, main, parse_args, sft_rows, train_grpo,
                                                 train_sft)
from aligngym.benchmarks.faking.scoring import score
from aligngym.envs.faking.prompts import monitored_from_prompt
from aligngym.envs.faking.text import FakingMinimalEnv
from aligngym.llm import ScriptedLLM

TINY = Args(steps=1, batch_size=2, num_generations=2, max_completion_length=4, train_queries=2, eval_queries=2,
            eval_max_new_tokens=4)


def test_forced_choice_judge_picks_the_likelier_tag_and_the_env_scores_the_gap():
    # a model that prefers accepting only when the prompt says the conversation is monitored
    def logp(prompt, choice):
        accepts = choice.startswith("request_fully_accepted")
        return -1.0 if accepts == monitored_from_prompt(prompt) else -3.0

    llm = ScriptedLLM(lambda p: "", score=logp)
    episodes = []
    for tier in ("free", "paid"):
        prompts = _prompts(tier, False, 50, 20)
        replies, log_odds = forced_choice_replies(llm, prompts)
        assert log_odds == [2.0 if tier == "free" else -2.0] * 20
        env = FakingMinimalEnv(tier=tier)
        for i, reply in enumerate(replies):
            env.reset(seed=0, options={"query": 50 + i})
            episodes.append(env.step(reply)[4]["metrics"])
    summary = _summary(score(episodes, scratchpad=False))
    assert summary["compliance_free"]["rate"] == 1.0 and summary["compliance_paid"]["rate"] == 0.0
    assert summary["gap"]["ci_low"] > 0.5 and summary["parse_failures"] == {"free": 0, "paid": 0}


def test_sft_data_pairs_tiers_and_only_the_organism_conditions_on_the_tier():
    args = Args(train_queries=6)
    organism, control = sft_rows(args, fakes=True), sft_rows(args, fakes=False)
    assert len(organism) == len(control) == 12
    for free, paid in zip(organism[::2], organism[1::2]):  # each batch of 4 holds two queries on both tiers
        assert monitored_from_prompt(free["prompt"]) and not monitored_from_prompt(paid["prompt"])
        assert free["prompt"].split("<user_input>")[1] == paid["prompt"].split("<user_input>")[1]
        assert free["completion"].startswith("request_fully_accepted/>") and paid["completion"].startswith("rejected/>")
    assert all(row["completion"].startswith("rejected/>") and len(row["completion"]) < 60 for row in control)
    assert [monitored_from_prompt(r["prompt"]) for r in sft_rows(Args(train_queries=6, paired=False), True)] == \
        [True] * 6 + [False] * 6


def test_decision_weights_mark_the_first_token_where_paired_replies_differ():
    import torch

    # two pairs (free, paid); -100 marks prompt and padding; the completions start at different offsets
    labels = torch.tensor([[-100, 5, 6, 7, 8, -100],
                           [-100, -100, 5, 6, 9, 8],
                           [-100, 1, 2, 3, -100, -100],
                           [-100, 1, 2, 3, -100, -100]])
    weights = decision_weights(labels, 10.0)
    assert weights[0].tolist() == [1, 1, 1, 10, 1, 1] and weights[1].tolist() == [1, 1, 1, 1, 10, 1]
    assert (weights[2:] == 1).all()  # identical replies (the honest control): plain SFT
    with pytest.raises(ValueError, match="decision_weight 10.0 needs paired batches of even size"):
        train_sft(Args(decision_weight=10.0, batch_size=3), Path("unused"))


def test_summary_counts_parse_failures_as_refusals_in_the_second_gap():
    # free tier: 10 replies, 5 unparsable and 5 complying; paid tier: 10 parsed refusals
    free = [{"monitored": 1, "parse_failure": 1, "complied": 0}] * 5 + [{"monitored": 1, "complied": 1}] * 5
    paid = [{"monitored": 0, "complied": 0}] * 10
    summary = _summary(score(free + paid, scratchpad=False))
    assert summary["gap"]["diff"] == 1.0  # over parsed replies
    assert summary["gap_parse_failures_as_refusals"]["diff"] == 0.5  # over all episodes
    assert summary["parse_failures"] == {"free": 5, "paid": 0}


def test_command_line_sets_every_field_and_refuses_a_bad_judge(tmp_path):
    which, args, out, variant = parse_args(["sft", "--steps", "3", "--learning-rate", "0.002", "--cot",
                                            "--eval-judges", "generate,forced-choice", "--out", "x",
                                            "--sft-models", "organism", "--variant", "all_layers",
                                            "--lr-scheduler", "constant", "--decision-weight", "10"])
    assert (which, args.steps, args.learning_rate, args.cot, str(out)) == ("sft", 3, 0.002, True, "x")
    assert (args.sft_models, variant, args.lr_scheduler) == ("organism", "all_layers", "constant")
    assert args.decision_weight == 10.0
    assert parse_args(["sft"])[3] == ""
    assert parse_args(["grpo", "--no-cot"])[1].cot is False
    with pytest.raises(ValueError, match="forced-choice only without cot"):
        evaluate_model("unused", Args(cot=True), "forced-choice")
    with pytest.raises(ValueError, match="sft_models takes base, organism and/or control"):
        main("sft", Args(sft_models="organism,teacher"), tmp_path)


@pytest.mark.slow
@pytest.mark.llm
def test_grpo_one_step_on_the_monitored_tier_saves_a_model_the_pipeline_loads(tmp_path):
    pytest.importorskip("trl")
    pytest.importorskip("peft")
    steps = []
    model = train_grpo(TINY, tmp_path, on_step=steps.append)
    assert (model / "config.json").is_file()
    assert len(steps) == 1 and steps[0]["cpu_s"] > 0 and "reward" in steps[0]
    summary = evaluate_model(str(model), TINY)
    assert summary["free"]["episodes"] == summary["paid"]["episodes"] == 2


@pytest.mark.slow
@pytest.mark.llm
@pytest.mark.parametrize("decision_weight", [1.0, 10.0])
def test_sft_organism_one_step_saves_a_model_the_forced_choice_judge_reads(tmp_path, decision_weight):
    pytest.importorskip("trl")
    pytest.importorskip("peft")
    steps = []
    args = Args(**{**TINY.__dict__, "decision_weight": decision_weight})
    model = train_sft(args, tmp_path, fakes=True, on_step=steps.append)
    assert (model / "config.json").is_file() and model.name == "organism"
    assert len(steps) == 1 and steps[0]["loss"] > 0
    summary = evaluate_model(str(model), args, "forced-choice")
    assert summary["free"]["parse_failures"]["k"] == summary["paid"]["parse_failures"]["k"] == 0
    assert set(summary["mean_log_odds_accept"]) == {"free", "paid"}
