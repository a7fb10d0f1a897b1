"""The fast greedy vocabulary head picks the same tokens as the exact float32 head."""
import torch

from aligngym.llm.local import _GreedyHead


def test_fast_head_argmax_matches_float32_and_other_paths_are_exact():
    torch.manual_seed(0)
    head = torch.nn.Linear(64, 5000, bias=True)
    fast = _GreedyHead.wrap(head)
    assert fast.weight is head.weight  # tied parameters stay shared
    x = torch.randn(2, 8, 64)
    exact = head(x)
    assert torch.equal(fast(x), exact)  # not in greedy mode: the plain float32 head
    fast.greedy = True
    out = fast(x)
    assert torch.equal(out.argmax(-1), exact.argmax(-1))
    best = exact.topk(5, dim=-1).indices  # the top candidates carry their exact float32 logits
    assert torch.allclose(out.gather(-1, best), exact.gather(-1, best), atol=1e-5)
    assert torch.equal(fast(x[:1, :2]), head(x[:1, :2]))  # fewer than 4 rows: exact path
