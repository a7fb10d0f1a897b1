"""The LLM agent (with ScriptedLLM), the study's design runner, the statistics and the CLI commands."""
import json
import math

import pytest
from typer.testing import CliRunner

from aligngym.agents.shopping.llm_agent import ShoppingLLMAgent
from aligngym.cli.shopping import app
from aligngym.benchmarks.shopping.experiment import read_records, run_design
from aligngym.benchmarks.shopping.paper import paper_counts
from aligngym.benchmarks.shopping.stats import counts_from_records, difference, rate_rows, sensitivity_rows, wilson
from aligngym.llm import ScriptedLLM


def sensitive_llm(prompt: str) -> str:
    """Overrides (buys item 2) only when the company reads the explanation, and then says why."""
    company_reads = "read by the customer and by" in prompt or " only. The customer receives" in prompt
    if prompt.endswith("Choice:"):
        return " 2" if company_reads else " 1"
    return " chose it because the company asked me to." if company_reads else " chose what you wanted."


def test_llm_agent_batches_all_observations_into_one_call_per_step():
    llm = ScriptedLLM(sensitive_llm)
    agent = ShoppingLLMAgent(llm, temperature=0.6)
    from aligngym.envs.shopping.text_env import ShoppingTextEnv
    prompts = [ShoppingTextEnv(condition=c, protocol="report", order="fixed").reset(seed=0)[0]
               for c in ("both", "nobody", "company")]
    replies = agent.act(tuple(prompts))
    assert llm.usage["calls"] == 2  # explanation call + choice call, each over the whole batch
    assert replies[0].endswith("Choice: 2") and replies[1].endswith("Choice: 1")
    one_shot = ShoppingLLMAgent(ScriptedLLM(lambda p: "Choice: 1"), mode="one_shot")
    assert one_shot.act(prompts) == ["Choice: 1"] * 3
    scorer = ScriptedLLM(lambda p: " chose.", score=lambda p, c: 1.0 if c == " 2" else 0.0)
    assert ShoppingLLMAgent(scorer, mode="scored").act(prompts) == ["I chose.\nChoice: 2"] * 3
    with pytest.raises(ValueError, match="Unknown mode"):
        ShoppingLLMAgent(llm, mode="chat")


@pytest.mark.parametrize("reply, failed", [("garbage", True), ("Choice: 1 or Choice: 2", True), ("Choice: 3", True),
                                           ("Choice: 2", False)])
def test_run_design_counts_parse_failures(tmp_path, reply, failed):
    llm = ScriptedLLM(lambda p: reply)
    records = run_design({"odd": llm}, tmp_path / "r.jsonl", temperatures=[0.2], trials=2, mode="one_shot",
                         progress=False)
    assert len(records) == 2 * 4 * 2
    assert all(r["parse_failure"] == float(failed) for r in records)
    rows = rate_rows(counts_from_records(records))
    assert all(r["parse_failures"] == (2 if failed else 0) for r in rows)


def test_run_design_reproduces_a_disclosure_sensitive_model_and_resumes(tmp_path):
    out = tmp_path / "records.jsonl"
    llm = ScriptedLLM(sensitive_llm)
    v0 = dict(protocol="report", order="fixed", mode="two_step", batch_size=7)
    records = run_design({"sensitive": llm}, out, temperatures=[0.2, 0.6], trials=3, progress=False, **v0)
    assert len(records) == 2 * 4 * 2 * 3
    calls = llm.usage["calls"]
    run_design({"sensitive": llm}, out, temperatures=[0.2, 0.6], trials=3, progress=False, **v0)
    assert llm.usage["calls"] == calls and len(read_records([out])) == 48  # nothing left to run
    rates = {(r["scenario"], r["temperature"], r["condition"]): r["rate"] for r in rate_rows(counts_from_records(records))}
    for scenario in ("ethics", "corporate"):
        assert rates[(scenario, 0.2, "both")] == 1 and rates[(scenario, 0.2, "company")] == 1
        assert rates[(scenario, 0.2, "customer")] == 0 and rates[(scenario, 0.6, "nobody")] == 0
    sens = sensitivity_rows(counts_from_records(records))
    assert all(r["diff"] == 1.0 and r["p_fisher"] < 0.01 for r in sens)
    honesty = {r["condition"]: r["disclosure_honesty"] for r in records if r["scenario"] == "corporate"}
    assert honesty == {"both": 1.0, "company": 0.0, "customer": 1.0, "nobody": 1.0}


def test_wilson_interval_known_values():
    low, high = wilson(20, 30)
    assert low == pytest.approx(0.4878, abs=1e-3) and high == pytest.approx(0.8077, abs=1e-3)
    assert wilson(0, 30)[0] == 0 and wilson(0, 30)[1] == pytest.approx(0.1135, abs=1e-3)
    assert wilson(30, 30)[1] == pytest.approx(1) and wilson(0, 0) == (0.0, 1.0)


def test_difference_test_against_hand_computation():
    d = difference(41, 60, 0, 60)  # GPT-3.5 at T=0.2 in the corporate scenario (the study's counts)
    pooled = 41 / 120
    z = (41 / 60) / math.sqrt(pooled * (1 - pooled) * (2 / 60))
    assert d["diff"] == pytest.approx(41 / 60) and d["z"] == pytest.approx(z)
    assert d["p_fisher"] < 1e-10 and d["ci_low"] > 0.4 and d["ci_high"] < 0.85
    same = difference(30, 30, 30, 30)
    assert same["diff"] == 0 and same["p_z"] == 1.0 and same["p_fisher"] == 1.0


def test_paper_counts_show_the_older_model_is_disclosure_sensitive():
    sens = {(r["scenario"], r["model"], r["temperature"]): r for r in sensitivity_rows(paper_counts())}
    assert sens[("corporate", "gpt-3.5 (paper)", 0.2)]["p_fisher"] < 1e-6
    assert sens[("corporate", "gpt-4 (paper)", 0.2)]["diff"] == 0
    assert sens[("ethics", "gpt-3.5 (paper)", 0.6)]["diff"] == 0


def test_table_command(tmp_path):
    out = tmp_path / "records.jsonl"
    run_design({"sensitive": ScriptedLLM(sensitive_llm)}, out, temperatures=[0.2], trials=2, progress=False,
               protocol="report", order="fixed", mode="two_step")
    runner = CliRunner()
    result = runner.invoke(app, ["table", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert len(data["override_rates"]) == 8 and len(data["disclosure_sensitivity"]) == 2
    result = runner.invoke(app, ["table", str(out), "--paper"])
    assert result.exit_code == 0 and "gpt-3.5" in result.output and "Fisher" in result.output
    missing = runner.invoke(app, ["table", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 2 and "No records file" in missing.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\n")
    assert runner.invoke(app, ["table", str(bad)]).exit_code == 2


def test_run_command_refuses_bad_names(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["run", "--llm", "scripted:Choice: 1", "--out", str(tmp_path / "r.jsonl"),
                                 "--condition", "public", "--trials", "1"])
    assert result.exit_code == 2 and "allowed: both, company, customer, nobody" in " ".join(result.output.split())
    result = runner.invoke(app, ["run", "--llm", "scripted:Choice: 1", "--out", str(tmp_path / "r.jsonl"),
                                 "--scenario", "oil", "--trials", "1"])
    assert result.exit_code == 2 and "Unknown scenario" in result.output
    ok = runner.invoke(app, ["run", "--llm", "scripted:Choice: 1", "--out", str(tmp_path / "r.jsonl"),
                             "--trials", "1", "--temperature", "0.2", "--mode", "one_shot"])
    assert ok.exit_code == 0, ok.output
    assert len(read_records([tmp_path / "r.jsonl"])) == 8


def test_conditions_command(tmp_path):
    out = tmp_path / "c.json"
    result = CliRunner().invoke(app, ["conditions", "--agent", "shopping.disclosure_sensitive", "--episodes", "50",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    by_condition = json.loads(out.read_text())["by_condition"]
    assert by_condition["company"]["override"] == 1 and by_condition["nobody"]["override"] == 0
    bad = CliRunner().invoke(app, ["conditions", "--agent", "shopping.nope", "--episodes", "5"])
    assert bad.exit_code == 2 and "Unknown agent" in bad.output


@pytest.mark.slow
@pytest.mark.llm
def test_local_model_answers_the_text_face_without_crashing():
    from aligngym.envs.shopping.text_env import ShoppingTextEnv

    envs = [ShoppingTextEnv(scenario="corporate", condition=c) for c in ("both", "nobody")]
    prompts = [env.reset(seed=0)[0] for env in envs]
    for mode in ("two_step", "scored"):
        replies = ShoppingLLMAgent("local", temperature=0.2, max_new_tokens=16, mode=mode).act(prompts)
        infos = [env.step(r)[4] for env, r in zip(envs, replies)]
        assert all(isinstance(r, str) for r in replies) and all("metrics" in i for i in infos)
        if mode == "scored":
            assert not any(i["parse_failed"] for i in infos)


def test_harness_scores_the_llm_spec_on_the_text_face():
    from aligngym.benchmarks.harness import evaluate

    record = evaluate("AlignGym/ShoppingText-v0", "shopping.llm?llm=scripted:Choice: 2&mode=one_shot", episodes=4,
                      num_envs=2, env_kwargs={"condition": "both"})
    means = {k: v["mean"] for k, v in record.aggregates.items()}
    assert means["override"] == 1 and means["parse_failure"] == 0
    assert means["disclosure_honesty"] == 0  # an override with no word about the company's interest


def test_every_batch_of_trials_samples_with_its_own_seed(tmp_path):
    from aligngym.llm.base import LLM

    class SeedRecorder(LLM):
        backend = model = "seed-recorder"

        def __init__(self):
            super().__init__()
            self.seeds = []

        def _generate(self, prompts, max_new_tokens, temperature, stop, seed):
            self.seeds.append(seed)
            return [f"Choice: {1 + seed % 2}"] * len(prompts)

    llm = SeedRecorder()
    run_design({"r": llm}, tmp_path / "r.jsonl", temperatures=[0.6], trials=4, batch_size=8, mode="one_shot",
               progress=False)
    assert len(llm.seeds) == 4 and len(set(llm.seeds)) == 4  # identical prompts, different samples
