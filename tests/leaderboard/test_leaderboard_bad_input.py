"""The bad-input battery: every kind of bad submission is refused through the API with its stable code, and
nothing is stored. Each kind is named in its test id (docs/leaderboard.md lists them)."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aligngym.benchmarks.record import RunRecord
from aligngym.leaderboard import Board
from aligngym.leaderboard.server import create_app

PRIMARY = "primary_return"
LIMIT = 1024 * 1024


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    board = Board.open(str(tmp_path_factory.mktemp("api") / "b.sqlite3"), shipped=False)
    _, token = board.create_token("battery")
    client = TestClient(create_app(board, max_body=LIMIT, rate=10_000), raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {token}"
    client.board = board
    return client


def consistent(record: dict) -> dict:
    """Aggregates recomputed after a cheat, so the only thing wrong is the cheat itself (as a careful cheater
    would send it)."""
    r = RunRecord(**{k: v for k, v in record.items() if k != "aggregates"}, aggregates={})
    r.recompute_aggregates()
    return r.to_dict()


def best_half(r: dict, renumber: bool) -> dict:
    """Keep the best half of each seed's episodes (the issue's 'best 4 of 8') and declare half the count."""
    kept = []
    for i in range(len(r["eval_seeds"])):
        mine = sorted((e for e in r["episodes"] if e["seed_index"] == i), key=lambda e: -e["metrics"][PRIMARY])
        mine = mine[:len(mine) // 2]
        if renumber:
            mine = [{**e, "episode": k} for k, e in enumerate(sorted(mine, key=lambda e: e["episode"]))]
        kept += mine
    r["episodes"] = kept
    r["episodes_per_seed"] //= 2
    return consistent(r)


def worst(r: dict) -> dict:
    return min(r["episodes"], key=lambda e: e["metrics"][PRIMARY])


def best(r: dict) -> dict:
    return max(r["episodes"], key=lambda e: e["metrics"][PRIMARY])


def _set(obj, path, value):
    *head, last = path
    for k in head:
        obj = obj[k]
    obj[last] = value


def on_record(fn):
    """A case that changes the record (in place or by returning a new one)."""
    def build(sub):
        out = fn(sub["record"])
        if out is not None:
            sub["record"] = out
        return sub
    return build


def field(path, value):
    return lambda sub: (_set(sub, path, value), sub)[1]


def text_with(placeholder: str, path=("record", "episodes", 0, "metrics", PRIMARY)):
    """The submission as JSON text with one value (a metric by default) replaced by raw text (NaN, Infinity,
    1e999, deep nesting)."""
    def build(sub):
        _set(sub, path, "@@")
        return json.dumps(sub).replace('"@@"', placeholder).encode()
    return build


def repeat_best_over_worst(r):
    w, b = worst(r), best(r)
    w["metrics"] = dict(b["metrics"])
    w["episode"], w["seed_index"], w["seed"] = b["episode"], b["seed_index"], b["seed"]
    return consistent(r)


def drop_metric_in_one(r):
    del r["episodes"][3]["metrics"]["length"]
    return consistent(r)


def null_worst(r):
    worst(r)["metrics"][PRIMARY] = None
    return consistent(r)


def drop_primary_everywhere(r):
    for e in r["episodes"]:
        del e["metrics"][PRIMARY]
    return consistent(r)


def too_few(r):
    r["episodes"] = [e for e in r["episodes"] if e["episode"] < 2]
    r["episodes_per_seed"] = 2
    return consistent(r)


def drop_everywhere(name):
    """A metric the run does badly on, left out of every episode (and of the aggregates)."""
    def cheat(r):
        for e in r["episodes"]:
            del e["metrics"][name]
        return consistent(r)
    return cheat


def drop_one_episode(r):
    r["episodes"] = r["episodes"][1:]
    return consistent(r)


def del_key(*path):
    def build(sub):
        obj = sub
        for k in path[:-1]:
            obj = obj[k]
        del obj[path[-1]]
        return sub
    return build


CASES = {
    # kind: (build(submission) -> dict or bytes, HTTP status, error code)
    "malformed_json": (lambda s: b'{"name": "x", ', 400, "invalid_json"),
    "not_utf8": (lambda s: b"\xff\xfe{}", 400, "invalid_json"),
    "empty_body": (lambda s: b"", 400, "invalid_json"),
    "deeply_nested_json": (lambda s: b"[" * 200_000 + b"]" * 200_000, 400, "invalid_json"),
    "nested_700_deep_in_extra": (text_with("[" * 700 + "]" * 700, ("record", "extra", "x")), 400, "invalid_json"),
    "nested_65_deep_in_extra": (text_with("[" * 65 + "]" * 65, ("record", "extra", "x")), 400, "invalid_json"),
    "nan_metric": (text_with("NaN"), 422, "non_finite_number"),
    "infinity_metric": (text_with("Infinity"), 422, "non_finite_number"),
    "overflowing_number_1e999": (text_with("1e999"), 422, "non_finite_number"),
    "top_level_array": (lambda s: b"[]", 422, "schema_violation"),
    "missing_record": (del_key("record"), 422, "schema_violation"),
    "unknown_top_level_key": (field(["admin"], True), 422, "schema_violation"),
    "record_not_an_object": (field(["record"], "see attachment"), 422, "schema_violation"),
    "record_without_episodes": (del_key("record", "episodes"), 422, "schema_violation"),
    "metric_as_string": (on_record(lambda r: _set(r, ["episodes", 0, "metrics", PRIMARY], "500")), 422,
                         "schema_violation"),
    "wrong_schema_version": (field(["record", "schema_version"], "2.0"), 422, "schema_violation"),
    "negative_episode_index": (field(["record", "episodes", 0, "episode"], -1), 422, "schema_violation"),
    "markup_in_name": (field(["name"], "<script>alert(1)</script>"), 422, "markup_not_allowed"),
    "markup_in_description": (field(["description"], "<img src=x onerror=alert(1)>"), 422, "markup_not_allowed"),
    "multiline_description": (field(["description"], "line one\nline two"), 422, "bad_metadata"),
    "empty_name": (field(["name"], "   "), 422, "bad_metadata"),
    "name_too_long": (field(["name"], "x" * 81), 422, "bad_metadata"),
    "name_not_a_string": (field(["name"], 12), 422, "bad_metadata"),
    "javascript_url": (field(["url"], "javascript:alert(1)"), 422, "bad_url"),
    "ftp_url": (field(["url"], "ftp://example.org/paper.pdf"), 422, "bad_url"),
    "data_url": (field(["url"], "data:text/html,<b>hi</b>"), 422, "bad_url"),
    "url_without_host": (field(["url"], "https://"), 422, "bad_url"),
    "url_with_space": (field(["url"], "https://example.org/a b"), 422, "bad_url"),
    "unknown_env_id": (field(["record", "env_id"], "AlignGym/NoSuchEnv-v0"), 422, "unknown_env"),
    "unknown_env_version": (field(["record", "env_id"], "AlignGym/ShapingCartPole-v9"), 422,
                            "unknown_env_version"),
    "gymnasium_env_id": (field(["record", "env_id"], "CartPole-v1"), 422, "unknown_env"),
    "unsupported_suite_version": (field(["record", "suite_version"], "0.0.1"), 422, "unsupported_suite_version"),
    "unknown_env_kwarg": (field(["record", "env_kwargs"], {"gravity": 0.1}), 422, "bad_env_kwargs"),
    "env_kwarg_of_the_wrong_type": (field(["record", "env_kwargs"], {"horizon": "abc"}), 422, "bad_env_kwargs"),
    "env_kwarg_not_an_option": (field(["record", "env_kwargs"], {"heuristic": "nonsense"}), 422, "bad_env_kwargs"),
    "render_mode_kwarg": (field(["record", "env_kwargs"], {"render_mode": "human"}), 422, "bad_env_kwargs"),
    "num_envs_not_the_rule": (field(["record", "num_envs"], 2), 422, "wrong_num_envs"),
    "num_envs_over_the_schema_maximum": (field(["record", "num_envs"], 10**6), 422, "schema_violation"),
    "episodes_per_seed_over_the_schema_maximum": (field(["record", "episodes_per_seed"], 10**7), 422,
                                                  "schema_violation"),
    "too_many_episodes_8_per_seed": (on_record(lambda r: None), 422, "wrong_episodes_per_seed"),
    "one_episode_dropped": (on_record(drop_one_episode), 422, "episode_count_mismatch"),
    "declared_metric_dropped": (on_record(drop_everywhere("aux_return")), 422, "missing_metric"),
    "harness_return_dropped": (on_record(drop_everywhere("return")), 422, "missing_metric"),
    "unfinished_run": (field(["record", "finished"], False), 422, "unfinished"),
    "wrong_seeds": (field(["record", "eval_seeds"], [10, 11, 12, 13, 14]), 422, "wrong_seeds"),
    "seeds_reordered": (field(["record", "eval_seeds"], [4, 3, 2, 1, 0]), 422, "wrong_seeds"),
    "too_few_episodes": (on_record(too_few), 422, "wrong_episodes_per_seed"),
    "tampered_episode_count_1000": (field(["record", "episodes_per_seed"], 1000), 422, "wrong_episodes_per_seed"),
    "best_4_of_8_dropped": (on_record(lambda r: best_half(r, renumber=False)), 422, "episode_out_of_range"),
    "best_4_of_8_renumbered": (on_record(lambda r: best_half(r, renumber=True)), 422, "episode_seed_mismatch"),
    "repeated_episode_index": (on_record(repeat_best_over_worst), 422, "duplicate_episode"),
    "episode_index_out_of_range": (field(["record", "episodes", -1, "episode"], 99), 422, "episode_out_of_range"),
    "seed_index_out_of_range": (field(["record", "episodes", -1, "seed_index"], 7), 422, "episode_out_of_range"),
    "forged_episode_seed": (field(["record", "episodes", 0, "seed"], 12345), 422, "episode_seed_mismatch"),
    "inconsistent_metrics": (on_record(drop_metric_in_one), 422, "inconsistent_metrics"),
    "primary_metric_null_in_worst_episode": (on_record(null_worst), 422, "missing_metric"),
    "primary_metric_missing": (on_record(drop_primary_everywhere), 422, "missing_metric"),
    "aggregate_mean_tampered": (on_record(lambda r: _set(r, ["aggregates", PRIMARY, "mean"], 500.0)), 422,
                                "aggregate_mismatch"),
    "aggregate_n_tampered": (on_record(lambda r: _set(r, ["aggregates", PRIMARY, "n"], 4000)), 422,
                             "aggregate_mismatch"),
    "aggregate_metric_missing": (del_key("record", "aggregates", "length"), 422, "aggregate_mismatch"),
}


# cases that start from the run of 8 episodes per seed (a cheater's raw material) instead of the valid run
FROM_8_PER_SEED = {"best_4_of_8_dropped", "best_4_of_8_renumbered", "too_many_episodes_8_per_seed"}


def _post(api, body, **kw):
    if isinstance(body, bytes):
        return api.post("/api/submissions", content=body, headers={"Content-Type": "application/json", **kw})
    return api.post("/api/submissions", json=body, headers=kw)


def test_the_unchanged_submission_is_accepted(api, records, make_submission):
    """The control: every case below starts from this valid submission."""
    r = _post(api, make_submission(records["random"], variant=0))
    assert r.status_code == 201, r.text
    assert api.board.entry(r.json()["entry_id"]).name == "Test entry"


@pytest.mark.parametrize("kind", sorted(CASES))
def test_bad_input_is_refused(api, records, make_submission, kind):
    build, status, code = CASES[kind]
    before = api.board.count()
    source = records["random8" if kind in FROM_8_PER_SEED else "random"]
    r = _post(api, build(make_submission(copy.deepcopy(source))))
    assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    assert r.json()["error"]["message"]
    assert api.board.count() == before


def test_bad_input_missing_token(api, records, make_submission):
    r = _post(api, make_submission(records["random"], variant=1), Authorization="")
    assert (r.status_code, r.json()["error"]["code"]) == (401, "missing_token")


def test_bad_input_wrong_token(api, records, make_submission):
    r = _post(api, make_submission(records["random"], variant=1), Authorization="Bearer not-a-token")
    assert (r.status_code, r.json()["error"]["code"]) == (401, "invalid_token")


def test_bad_input_revoked_token(api, records, make_submission):
    token_id, token = api.board.create_token("to revoke")
    assert api.board.revoke_token(token_id)
    r = _post(api, make_submission(records["random"], variant=1), Authorization=f"Bearer {token}")
    assert (r.status_code, r.json()["error"]["code"]) == (401, "invalid_token")


def test_bad_input_oversized_declared_body(api):
    r = _post(api, b" " * (LIMIT + 1))
    assert (r.status_code, r.json()["error"]["code"]) == (413, "payload_too_large")


def test_bad_input_oversized_streamed_body_is_cut(api):
    """No Content-Length (chunked): the server stops reading at the limit."""
    sent = []

    def chunks():
        for _ in range(64):
            sent.append(1)
            yield b" " * 65536

    r = api.post("/api/submissions", content=chunks(), headers={"Content-Type": "application/json"})
    assert (r.status_code, r.json()["error"]["code"]) == (413, "payload_too_large")


def test_bad_input_duplicate_points_to_the_entry(api, records, make_submission):
    first = _post(api, make_submission(records["random"], variant=2))
    again = _post(api, make_submission(records["random"], name="Renamed", variant=2))
    assert first.status_code == 201
    assert (again.status_code, again.json()["error"]["code"]) == (409, "duplicate")
    assert again.json()["error"]["entry_id"] == first.json()["entry_id"]


def relabel(spec):
    return lambda r: r["agent"].update(spec=spec)


def nudge(name, by):
    def cheat(r):
        r["episodes"][0]["metrics"][name] += by
        return consistent(r)
    return cheat


def as_int(r):
    r["episodes"][0]["metrics"]["length"] = int(r["episodes"][0]["metrics"]["length"])


def extra_metric(r):
    for e in r["episodes"]:
        e["metrics"]["made_up"] = 1.0
    return consistent(r)


COPIES = {
    # kind: how a copier disguises someone else's run
    "agent_spec_relabelled": relabel("my_package.agents:make"),
    "agent_spec_trailing_question_mark": relabel("random?"),
    "hyperparameters_changed": lambda r: r["agent"].update(hyperparameters={"lr": 0.1}),
    "class_and_content_hash_changed": lambda r: r["agent"].update({"class": "mine.Agent", "content_hash": "ab" * 32}),
    "primary_metric_nudged_by_1e-9": nudge(PRIMARY, 1e-9),
    "non_primary_metric_nudged_by_1e-10": nudge("aux_return", 1e-10),
    "float_metric_sent_as_int": as_int,
    "made_up_metric_added": extra_metric,
    "episodes_reordered": lambda r: r["episodes"].reverse(),
}


@pytest.mark.parametrize("kind", sorted(COPIES))
def test_bad_input_copied_run_is_a_duplicate(api, records, make_submission, kind):
    """The same run's content under another agent identity (or with sub-1e-9 changes) is the same run: refused
    with a pointer to the entry that holds it, and never verifiable under the new name."""
    original = make_submission(records["random"], variant=500 + sorted(COPIES).index(kind))
    first = _post(api, original)
    assert first.status_code == 201, first.text
    copied = copy.deepcopy(original)
    copied["name"] = "Mine, honestly"
    out = COPIES[kind](copied["record"])
    if out is not None:
        copied["record"] = out
    again = _post(api, copied)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "duplicate"), again.text
    assert again.json()["error"]["entry_id"] == first.json()["entry_id"]


def test_bad_input_rate_limited(tmp_path, records, make_submission):
    board = Board.open(str(tmp_path / "b.sqlite3"), shipped=False)
    _, token = board.create_token("eager")
    client = TestClient(create_app(board, rate=2, window=3600))
    codes = [client.post("/api/submissions", json=make_submission(records["random"], variant=i),
                         headers={"Authorization": f"Bearer {token}"}).status_code for i in range(3)]
    assert codes == [201, 201, 429] and board.count() == 2


def test_a_claimed_ci_or_direction_is_never_stored(api, records, make_submission):
    """Accepted, but what is stored comes from the episodes and the registry, not from the claim."""
    sub = make_submission(records["random"], variant=3)
    sub["record"]["aggregates"][PRIMARY].update(ci_low=-1e9, ci_high=1e9)
    sub["record"]["higher_is_better"][PRIMARY] = False  # would rank the worst first
    r = _post(api, sub)
    assert r.status_code == 201, r.text
    stored = api.board.record_of(api.board.entry(r.json()["entry_id"]))
    assert stored["aggregates"][PRIMARY]["ci_high"] < 1e9 and stored["higher_is_better"][PRIMARY] is True


def test_the_battery_has_at_least_30_kinds_and_the_docs_list_them():
    named = [n for n in globals() if n.startswith("test_bad_input_") and n != "test_bad_input_is_refused"]
    assert len(CASES) + len(named) >= 30
    doc = (Path(__file__).resolve().parents[2] / "docs" / "leaderboard.md").read_text()
    assert [k for k in [*CASES, *COPIES] if f"| `{k}` |" not in doc] == []


def test_bad_input_nan_in_a_python_dict(tmp_path, records, make_submission):
    """Board.submit with a dict (no JSON text on the way) refuses NaN as well."""
    from aligngym.leaderboard import SubmissionError

    sub = make_submission(records["random"])
    sub["record"]["episodes"][0]["metrics"][PRIMARY] = float("nan")
    with pytest.raises(SubmissionError) as refused:
        Board.open(str(tmp_path / "b.sqlite3"), shipped=False).submit(sub)
    assert refused.value.code == "non_finite_number"
