"""The fast greedy vocabulary head picks the float32 argmax; the sampler draws from the float32 softmax."""
import pytest
import torch

from aligngym.llm.local import _GreedyHead, _InverseCdfSampler


def test_fast_head_argmax_matches_float32_and_other_paths_are_exact():
    torch.manual_seed(0)
    head = torch.nn.Linear(64, 5000, bias=True)
    fast = _GreedyHead.wrap(head)
    assert fast.weight is head.weight  # tied parameters stay shared
    x = torch.randn(2, 8, 64)
    exact = head(x)
    assert torch.equal(fast(x), exact)  # not greedy: the plain float32 head
    fast.greedy = True
    out = fast(x)
    assert torch.equal(out.argmax(-1), exact.argmax(-1))
    best = exact.topk(5, dim=-1).indices  # the top candidates carry their exact float32 logits
    assert torch.allclose(out.gather(-1, best), exact.gather(-1, best), atol=1e-5)
    assert torch.equal(fast(x[:1, :2]), head(x[:1, :2]))  # fewer than 4 rows: exact path
    with torch.no_grad():
        head.bias[123] = 50.0  # a token only the bias makes the best: the shortlist must include the bias
    assert torch.equal(fast(x).argmax(-1), torch.full((2, 8), 123))


@pytest.mark.parametrize("max_block", [1024, 16])  # one block, and 4 blocks of 15 tokens
def test_sampler_matches_the_softmax_and_never_draws_masked_tokens(max_block):
    torch.manual_seed(0)
    logits = torch.randn(60) * 2
    logits[[0, 17, 59]] = -float("inf")  # masked tokens, at block edges too
    temperature, draws = 0.7, 40_000
    sampler = _InverseCdfSampler(temperature, max_block=max_block)
    out = sampler(None, logits.repeat(draws, 1))
    assert sampler.block == (60 if max_block == 1024 else 15)
    assert torch.equal((out != 0).sum(-1), torch.ones(draws, dtype=torch.long))  # one token per row to pick
    freq = torch.bincount(out.argmax(-1), minlength=60).double() / draws
    p = torch.softmax(logits.double() / temperature, -1)
    assert freq[[0, 17, 59]].sum() == 0
    _assert_close(freq, p, draws)
    cooler = _InverseCdfSampler(0.2)(None, logits.repeat(draws, 1)).argmax(-1)  # temperature sharpens
    assert (cooler == logits.argmax()).double().mean() > freq[logits.argmax()] + 0.1


def _assert_close(freq, p, n):
    sd = (p * (1 - p) / n).sqrt()
    assert ((freq - p).abs() <= 4.5 * sd + 1e-12).all(), ((freq - p).abs() / (sd + 1e-12)).max()


def test_sampler_refuses_rows_it_cannot_sample():
    bad = torch.zeros(3, 8)
    bad[1] = -float("inf")
    with pytest.raises(ValueError, match="all -inf"):
        _InverseCdfSampler(1.0)(None, bad)
    bad[1, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        _InverseCdfSampler(1.0)(None, bad)
