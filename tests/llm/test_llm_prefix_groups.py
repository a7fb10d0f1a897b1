"""Prefix groups: the prompts whose common prefix is prefilled once, chosen to prefill the fewest tokens."""
from types import SimpleNamespace

from aligngym.llm.local import TransformersLLM


def groups(encoded, batch_size=64):
    backend = SimpleNamespace(share_prefixes=True, batch_size=batch_size)
    return sorted((sorted(rows), shared) for rows, shared in TransformersLLM._prefix_groups(backend, encoded))


def test_repeated_prompts_share_all_of_it_not_just_the_part_other_prompts_share():
    scenario = list(range(1, 136))  # 135 tokens that four conditions share
    conditions = [scenario + [1000 + c] * 55 for c in range(4)]
    encoded = [conditions[i % 4] for i in range(20)]  # 5 trials of each condition, interleaved
    assert groups(encoded) == [(list(range(c, 20, 4)), 190) for c in range(4)]


def test_continuations_of_one_prompt_share_the_prompt_and_unrelated_prompts_share_nothing():
    prompt = list(range(1, 191))
    follow_ups = [prompt + [2000 + i] * 27 for i in range(10)]
    unrelated = [[0, 5, 6, 7], [0, 5, 8, 9, 10], [0, 9]]  # less than half shared: not worth a prefill
    assert groups(follow_ups + unrelated) == [(list(range(10)), 190), ([10], 4), ([11], 5), ([12], 2)]


def test_a_group_holds_at_most_a_batch():
    rows = groups([[1, 2, 3, 4]] * 10, batch_size=4)
    assert sorted(len(r) for r, _ in rows) == [2, 4, 4] and all(shared == 4 for _, shared in rows)
