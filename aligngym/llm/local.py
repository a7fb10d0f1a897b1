"""Local transformers backend: any causal LM folder or Hugging Face id, batched, on CPU (or GPU if present).

- `generate`: prompts sorted by length and run in batches with left padding; greedy when temperature == 0
  (deterministic), seeded sampling from the full softmax otherwise (by inverse CDF: `_InverseCdfSampler`).
  Each sequence stops at its stop strings or EOS. Prompts that share a long token prefix (repeated trials of
  one prompt, or one prompt with different continuations appended) are batched together and their prefix is
  prefilled once, its KV cache repeated for each row (`share_prefixes`).
- `score_choices`: each batch of prompts runs once; its KV cache is repeated for every choice and all choice
  continuations run in one more pass, so the shared prompt prefix is computed once. Only the rows needed for
  the choice tokens go through the (large) vocabulary head.
- Chat templates are applied when the tokenizer has one and the model is instruction-tuned (the name says
  instruct/chat/-it, or `chat=True`); base models get plain completion prompts.
"""
from __future__ import annotations

import hashlib
import inspect
import os
import re
import weakref
from typing import Sequence

import torch

from aligngym.llm.base import LLM


class _Weights:
    """A loaded tokenizer and model. Backends hold it; `_WEIGHTS` only points at it, so it is freed with the last
    backend that uses it."""

    def __init__(self, tokenizer, lm):
        self.tokenizer, self.lm = tokenizer, lm


# (content of the source, revision, dtype, device) -> the weights every backend over that content shares
_WEIGHTS: "weakref.WeakValueDictionary[tuple, _Weights]" = weakref.WeakValueDictionary()
_INSTRUCT_NAME = re.compile(r"instruct|chat|(^|[-_/])it($|[-_/])", re.I)


def _default_threads() -> int:
    """`$ALIGNGYM_LLM_THREADS`, else torch's default, or 1 when the CPU is already oversubscribed: torch's
    spinning worker threads then run about 10x slower than one thread (measured on 2 shared cores)."""
    if os.environ.get("ALIGNGYM_LLM_THREADS"):
        return max(1, int(os.environ["ALIGNGYM_LLM_THREADS"]))
    busy = hasattr(os, "getloadavg") and os.getloadavg()[0] >= (os.cpu_count() or 1)
    return 1 if busy else torch.get_num_threads()


class _StopOnStrings:
    """Stopping criterion: a sequence is done once its new text contains one of the stop strings."""

    def __init__(self, tokenizer, stop: Sequence[str], prompt_len: int):
        self.tokenizer, self.stop, self.prompt_len = tokenizer, [s for s in stop if s], prompt_len

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        texts = self.tokenizer.batch_decode(input_ids[:, self.prompt_len:], skip_special_tokens=True)
        return torch.tensor([any(s in t for s in self.stop) for t in texts], device=input_ids.device)


class _GreedyHead(torch.nn.Linear):
    """The vocabulary head, with a fast path for greedy decoding of batches on CPU. A bfloat16 pass (about 2x
    faster on CPUs with AMX) picks the `k` best tokens per row; their logits are then recomputed exactly in
    float32, so the argmax is the float32 one unless `k` tokens lie within bfloat16 rounding (~0.1) of the best.
    Other entries stay approximate, so the fast path is on only while `greedy` is set (greedy `generate`) and
    for 4+ rows; a single row is bound by memory, not compute, and takes the exact path. (Sampling needs every
    logit exact: a rigorous bound on the bfloat16 error is ~0.9 on Gemma's logits against ~0.1 seen, too loose
    to sample exactly by rejection against it.)"""

    k = 64
    greedy = False
    _low = None  # the bfloat16 copy of the weights, made on first use

    @classmethod
    def wrap(cls, head: torch.nn.Linear) -> "_GreedyHead":
        fast = cls(head.in_features, head.out_features, bias=head.bias is not None, device="meta")
        fast.weight, fast.bias = head.weight, head.bias  # the same parameters: tied weights stay tied
        return fast

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, x.shape[-1])
        if not self.greedy or rows.shape[0] < 4:
            return super().forward(x)
        if self._low is None:
            self._low = self.weight.detach().to(torch.bfloat16)
        logits = (rows.to(torch.bfloat16) @ self._low.t()).float()
        if self.bias is not None:
            logits += self.bias
        best = logits.topk(self.k, dim=-1).indices
        exact = torch.einsum("rd,rkd->rk", rows, self.weight[best])
        if self.bias is not None:
            exact = exact + self.bias[best]
        logits.scatter_(1, best, exact)
        return logits.reshape(*x.shape[:-1], -1)


class _InverseCdfSampler:
    """Logits processor that samples each row's next token from softmax(scores / temperature) over the whole
    vocabulary and returns scores on which greedy search picks exactly that token. The same distribution as
    transformers' sampling with top_k=0 and top_p=1, faster on CPU: torch.multinomial draws an exponential per
    vocabulary entry (~75 ms per step for 16 rows of Gemma's 262k vocabulary on 2 cores), while this draws by
    inverse CDF with a few in-place passes: a block of `block` tokens by the block sums, then a token in it."""

    def __init__(self, temperature: float, max_block: int = 1024):
        self.temperature, self.max_block, self.block = temperature, max_block, None

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        rows, vocab = scores.shape
        if self.block is None:  # the largest block size up to max_block that divides the vocabulary
            self.block = max(d for d in range(1, self.max_block + 1) if vocab % d == 0)
        # generate() hands over its own float32 copy of the logits, so it is reused in place
        weights = scores.sub_(scores.amax(-1, keepdim=True)).mul_(1.0 / self.temperature).exp_()
        blocks = weights.view(rows, -1, self.block)
        cdf = blocks.sum(-1).double().cumsum(-1)  # float32 sums of `block` terms: ~1e-7 relative error
        if not (torch.isfinite(cdf[:, -1]) & (cdf[:, -1] > 0)).all():
            raise ValueError("Cannot sample: a row of logits is all -inf or holds NaN or +inf.")
        block = _search(cdf, torch.rand(rows, 1, dtype=cdf.dtype, device=cdf.device) * cdf[:, -1:])
        within = blocks[torch.arange(rows, device=cdf.device), block[:, 0]].double().cumsum(-1)
        token = _search(within, torch.rand(rows, 1, dtype=cdf.dtype, device=cdf.device) * within[:, -1:])
        return weights.zero_().scatter_(1, block * self.block + token, 1.0)


def _search(cdf: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Per row, the indices where u (rows x k, uniform on [0, total)) falls in the cumulative weights `cdf`.
    Indices of zero weight are never picked."""
    total = cdf[:, -1:]
    u = torch.minimum(u, torch.nextafter(total, torch.zeros_like(total)))  # keep u < total despite rounding
    return torch.searchsorted(cdf, u, right=True)


class TransformersLLM(LLM):
    """A causal LM loaded with transformers. `source` is a folder or a Hugging Face model id."""

    backend = "transformers"

    def __init__(self, source: str, model_name: str | None = None, revision: str | None = None,
                 chat: bool | None = None, batch_size: int = 64, score_batch_size: int = 128,
                 score_token_budget: int = 8192,
                 device: str | None = None, dtype: str = "float32", threads: int | None = None,
                 share_weights: bool = True, share_prefixes: bool = True):
        super().__init__()
        torch.set_num_threads(threads or _default_threads())
        self.source, self.model = str(source), model_name or str(source)
        self.batch_size, self.share_prefixes = batch_size, share_prefixes
        self.score_batch_size, self.score_token_budget = score_batch_size, score_token_budget
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        key = (_content_key(self.source), revision, dtype, self.device)
        weights = _WEIGHTS.get(key) if share_weights else None  # backends over the same files share the weights
        if weights is None:
            weights = _Weights(*_load_weights(self.source, revision, dtype, self.device))
            head = weights.lm.get_output_embeddings()
            if self.device == "cpu" and dtype == "float32" and type(head) is torch.nn.Linear:
                weights.lm.set_output_embeddings(_GreedyHead.wrap(head))
            if share_weights:
                _WEIGHTS[key] = weights
        self._weights = weights  # keeps them alive as long as this backend
        self.tokenizer, self.lm = weights.tokenizer, weights.lm
        self.revision = revision or getattr(self.lm.config, "_commit_hash", None) or ""
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.tokenizer.padding_side = "left"
        has_template = bool(getattr(self.tokenizer, "chat_template", None))
        self.chat = has_template and (bool(_INSTRUCT_NAME.search(self.model)) if chat is None else chat)
        if chat and not has_template:
            raise ValueError(f"chat=True but the tokenizer of {self.model!r} has no chat template.")
        softcap = getattr(self.lm.config, "final_logit_softcapping", None)
        self._softcap = float(softcap) if softcap else None

    def describe(self):
        return {**super().describe(), "source": self.source, "chat_template": self.chat, "device": self.device}

    def cache_identity(self):
        return {**super().cache_identity(), "chat": self.chat}

    # ---- prompts -> token ids -------------------------------------------------------------------------------

    def _encode_prompt(self, prompt: str) -> list[int]:
        if self.chat:
            ids = self.tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=True,
                                                     add_generation_prompt=True)
            ids = ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids
        else:
            ids = self.tokenizer(prompt, add_special_tokens=True)["input_ids"]
        if not ids:  # an empty prompt for a tokenizer without BOS: condition on a lone EOS
            ids = [self.tokenizer.bos_token_id if self.tokenizer.bos_token_id is not None
                   else self.tokenizer.eos_token_id]
        return list(ids)

    def _left_pad(self, seqs: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(len(s) for s in seqs)
        pad = self.tokenizer.pad_token_id
        ids = torch.tensor([[pad] * (width - len(s)) + s for s in seqs], device=self.device)
        mask = torch.tensor([[0] * (width - len(s)) + [1] * len(s) for s in seqs], device=self.device)
        return ids, mask

    # ---- generation -----------------------------------------------------------------------------------------

    @torch.inference_mode()
    def _generate(self, prompts, max_new_tokens, temperature, stop, seed):
        encoded = [self._encode_prompt(p) for p in prompts]
        groups = sorted(self._prefix_groups(encoded), key=lambda g: max(len(encoded[i]) for i in g[0]))
        order = [i for rows, _ in groups for i in sorted(rows, key=lambda i: len(encoded[i]))]  # similar lengths
        group_of = {i: k for k, (rows, _) in enumerate(groups) for i in rows}                  # share a batch
        outs: list[str] = [""] * len(prompts)
        with torch.random.fork_rng(devices=[] if self.device == "cpu" else None, enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                texts, n_new = self._generate_batch([encoded[i] for i in idx], [group_of[i] for i in idx],
                                                    [groups[group_of[i]][1] for i in idx], max_new_tokens,
                                                    temperature, stop)
                for i, t in zip(idx, texts):
                    outs[i] = t
                self.usage["prompt_tokens"] += sum(len(encoded[i]) for i in idx)
                self.usage["generated_tokens"] += n_new
        return outs

    def _prefix_groups(self, encoded: list[list[int]]) -> list[tuple[list[int], int]]:
        """Prompts grouped so that each group's common prefix is prefilled once: (rows, common prefix length)
        per group. Groups are runs of the prompts sorted by tokens (which puts shared prefixes side by side),
        chosen by dynamic programming to prefill the fewest tokens, counting a group's prefix once plus each
        row's own suffix; rows share only a prefix of at least half their length. Repeated trials of one prompt
        end up in one group even when other prompts share part of it (the study's four conditions share their
        scenario text); prompts that extend one prompt (two_step's follow-ups) share that prompt. A group holds
        at most `batch_size` rows."""
        order = sorted(range(len(encoded)), key=encoded.__getitem__)
        if not self.share_prefixes or len(order) < 2:
            return [([i], len(encoded[i])) for i in order]
        adjacent = [_common_prefix(encoded[a], encoded[b]) for a, b in zip(order, order[1:])]
        cost, cut = [0] + [float("inf")] * len(order), [0] * (len(order) + 1)  # best for order[:j], its last run
        for j in range(1, len(order) + 1):
            prefix, shortest, longest, tokens = float("inf"), float("inf"), 0, 0
            for i in range(j - 1, max(-1, j - 1 - self.batch_size), -1):  # the run order[i:j]
                n = len(encoded[order[i]])
                shortest, longest, tokens = min(shortest, n), max(longest, n), tokens + n
                if i < j - 1:
                    prefix = min(prefix, adjacent[i])
                    if 2 * prefix < longest:  # sharing less than half a prompt is not worth a separate prefill
                        break
                shared = 0 if i == j - 1 else min(prefix, shortest - 1)  # each row keeps >= 1 own token
                if cost[i] + tokens - (j - i - 1) * shared < cost[j]:
                    cost[j], cut[j] = cost[i] + tokens - (j - i - 1) * shared, i
        groups, j = [], len(order)
        while j:
            rows = order[cut[j]:j]
            shared = min([len(encoded[rows[0]])] + [adjacent[k] for k in range(cut[j], j - 1)])
            groups.append((rows, shared))
            j = cut[j]
        return groups[::-1]

    def _prefill_shared(self, seqs, group_ids, shared, max_new_tokens):
        """Run each group's shared prefix once and repeat its KV cache for the group's rows. Returns the cache
        and the batch's input ids and mask (prefix part, then each row's own suffix, left padded), or None
        where no rows share. Rows whose suffixes are shorter get padding between prefix and suffix; that gap
        changes nothing while prompts plus new tokens fit in the model's sliding attention window (whose
        distances count padding); beyond it a batch shares only when its suffixes are equally long."""
        firsts = list(dict.fromkeys(group_ids))  # the batch's groups, in order
        rows = torch.tensor([firsts.index(g) for g in group_ids], device=self.device)
        cut: dict[int, int] = {}  # each group's prefix length in this batch; every row keeps >= 1 own token
        for s, g, n in zip(seqs, group_ids, shared):
            cut[g] = min(cut.get(g, n), len(s) - 1)
        suffixes = [s[cut[g]:] for s, g in zip(seqs, group_ids)]
        window = getattr(self.lm.config, "sliding_window", None) or float("inf")
        gap_free = len({len(s) for s in suffixes}) == 1
        if len(firsts) == len(seqs) or min(cut.values()) < 1 or not (
                gap_free or max(len(s) for s in seqs) + max(len(s) for s in suffixes) + max_new_tokens <= window):
            return None
        decoder = getattr(self.lm, self.lm.base_model_prefix)
        pids, pmask = self._left_pad([seqs[group_ids.index(g)][:cut[g]] for g in firsts])
        first = decoder(input_ids=pids, attention_mask=pmask, position_ids=(pmask.cumsum(1) - 1).clamp(min=0),
                        use_cache=True)
        cache = first.cache if hasattr(first, "cache") else first.past_key_values
        _reorder_cache(cache, rows)
        sids, smask = self._left_pad(suffixes)
        return cache, torch.cat([pids[rows], sids], dim=1), torch.cat([pmask[rows], smask], dim=1)

    def _generate_batch(self, seqs, group_ids, shared, max_new_tokens, temperature, stop):
        from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteriaList

        prefilled = self._prefill_shared(seqs, group_ids, shared, max_new_tokens)
        cache_kw = {}
        if prefilled:  # generate() runs only the input columns past the cache
            cache, ids, mask = prefilled
            decoder = getattr(self.lm, self.lm.base_model_prefix)
            cache_kw = {"cache" if "cache" in inspect.signature(decoder.forward).parameters else "past_key_values":
                        cache}
        else:
            ids, mask = self._left_pad(seqs)
        # Greedy search either way: when sampling, the sampler leaves one token per row to pick. The model's own
        # generation defaults were reduced to its special tokens at load (`_load_weights`).
        samplers = LogitsProcessorList([_InverseCdfSampler(temperature)] if temperature > 0 else [])
        config = GenerationConfig(do_sample=False, max_new_tokens=max_new_tokens,
                                  pad_token_id=self.tokenizer.pad_token_id)
        criteria = StoppingCriteriaList([_StopOnStrings(self.tokenizer, stop, ids.shape[1])] if stop else [])
        head = self.lm.get_output_embeddings()
        fast = isinstance(head, _GreedyHead) and temperature == 0
        if fast:
            head.greedy = True
        try:
            out = self.lm.generate(input_ids=ids, attention_mask=mask, generation_config=config,
                                   logits_processor=samplers, stopping_criteria=criteria, **cache_kw)
        finally:
            if fast:
                head.greedy = False
        new = out[:, ids.shape[1]:]
        ends = {self.tokenizer.pad_token_id, self.tokenizer.eos_token_id,
                *(self.lm.generation_config.eos_token_id if isinstance(self.lm.generation_config.eos_token_id, list)
                  else [self.lm.generation_config.eos_token_id])}
        n_new = sum(next((j + 1 for j, t in enumerate(row.tolist()) if t in ends), len(row)) for row in new)
        return self.tokenizer.batch_decode(new, skip_special_tokens=True), n_new

    # ---- multiple-choice scoring ----------------------------------------------------------------------------

    def _choice_ids(self, choice: str) -> list[int]:
        ids = self.tokenizer(choice, add_special_tokens=False)["input_ids"]
        if not ids:
            raise ValueError(f"score_choices: the choice {choice!r} tokenizes to no tokens; every choice needs "
                             "at least one token (use a non-empty string).")
        return ids

    def _head(self, hidden: torch.Tensor) -> torch.Tensor:
        """Log-probs over the vocabulary for a few hidden states (rows x dim)."""
        logits = self.lm.get_output_embeddings()(hidden).float()
        if self._softcap:
            logits = torch.tanh(logits / self._softcap) * self._softcap
        return torch.log_softmax(logits, dim=-1)

    @torch.inference_mode()
    def _score_choices(self, prompts, choices):
        encoded = [self._encode_prompt(p) for p in prompts]
        choice_ids = [[self._choice_ids(c) for c in cs] for cs in choices]
        order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
        scores: list[list[float]] = [[] for _ in prompts]
        start = 0
        while start < len(order):
            # a batch: prompts (sorted by length) while their choices fit in score_batch_size rows and the padded
            # prompt tokens in score_token_budget; bigger batches run faster until long prompts fill memory
            idx, rows = [], 0
            while start < len(order):
                i = order[start]
                fits = (rows + len(choices[i]) <= self.score_batch_size
                        and (len(idx) + 1) * len(encoded[i]) <= self.score_token_budget)
                if idx and not fits:
                    break
                idx.append(i)
                rows += len(choices[i])
                start += 1
            for i, s in zip(idx, self._score_batch([encoded[i] for i in idx], [choice_ids[i] for i in idx])):
                scores[i] = s
        return scores

    def _score_batch(self, prompt_seqs: list[list[int]], choice_seqs: list[list[list[int]]]) -> list[list[float]]:
        decoder = getattr(self.lm, self.lm.base_model_prefix)
        ids, mask = self._left_pad(prompt_seqs)
        lengths = mask.sum(1)
        positions = (mask.cumsum(1) - 1).clamp(min=0)
        first = decoder(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True)
        cache = first.cache if hasattr(first, "cache") else first.past_key_values
        # one row per (prompt, choice): repeat each prompt's cache and state once per choice
        counts = torch.tensor([len(cs) for cs in choice_seqs], device=self.device)
        flat = [c for cs in choice_seqs for c in cs]
        rows = torch.repeat_interleave(torch.arange(len(prompt_seqs), device=self.device), counts)
        _reorder_cache(cache, rows)
        width = max(len(c) for c in flat)
        cids = torch.tensor([c + [self.tokenizer.pad_token_id] * (width - len(c)) for c in flat], device=self.device)
        cmask = torch.tensor([[1] * len(c) + [0] * (width - len(c)) for c in flat], device=self.device)
        cpos = lengths[rows, None] + torch.arange(width, device=self.device)[None, :]
        # transformers 5 calls the argument `cache`, 4.x `past_key_values`
        cache_kw = "cache" if "cache" in inspect.signature(decoder.forward).parameters else "past_key_values"
        second = decoder(input_ids=cids, attention_mask=torch.cat([mask[rows], cmask], dim=1), position_ids=cpos,
                         use_cache=True, **{cache_kw: cache})
        # the state before choice token t: the prompt's last state for t = 0, the choice's state t-1 after
        states = torch.cat([first.last_hidden_state[rows, -1:], second.last_hidden_state[:, :-1]], dim=1)
        picked = cmask.bool()
        logp = self._head(states[picked]).gather(1, cids[picked][:, None])[:, 0]
        per_row = torch.zeros(len(flat), device=self.device).index_add_(0, picked.nonzero()[:, 0], logp)
        self.usage["prompt_tokens"] += int(lengths.sum()) + sum(len(c) for c in flat)
        out, k = [], 0
        for cs in choice_seqs:
            out.append([float(v) for v in per_row[k:k + len(cs)]])
            k += len(cs)
        return out


    @torch.inference_mode()
    def token_logprobs(self, texts):
        out = []
        for text in texts:  # the server's echo path; one text at a time keeps the vocabulary head small
            enc = self.tokenizer(text, add_special_tokens=True, return_offsets_mapping=True)
            ids, spans = enc["input_ids"], enc["offset_mapping"]
            special = set(self.tokenizer.all_special_ids)
            keep = [j for j, t in enumerate(ids) if t not in special]
            if not ids or not keep:
                out.append([])
                continue
            hidden = getattr(self.lm, self.lm.base_model_prefix)(
                input_ids=torch.tensor([ids], device=self.device)).last_hidden_state[0]
            rows = [j for j in keep if j > 0]
            logp = self._head(hidden[[j - 1 for j in rows]]).gather(
                1, torch.tensor([[ids[j]] for j in rows], device=self.device))[:, 0] if rows else []
            by_pos = dict(zip(rows, (float(v) for v in logp)))
            out.append([(text[spans[j][0]:spans[j][1]], by_pos.get(j), int(spans[j][0])) for j in keep])
            self.usage["prompt_tokens"] += len(ids)
        return out


def _content_key(source: str) -> str:
    """What identifies a model's weights: for a folder, the names, sizes and sampled bytes of its files (the same
    files under another path, a link or a copy, give the same key); for a hub id, the id."""
    if not os.path.isdir(source):
        return source
    digest = hashlib.sha256()
    for root, _, files in sorted(os.walk(source)):
        for name in sorted(files):
            path = os.path.join(root, name)
            size = os.path.getsize(path)
            digest.update(f"{os.path.relpath(path, source)}:{size}".encode())
            with open(path, "rb") as f:  # 16 spread 64 KiB samples: cheap, and enough to tell model files apart
                for k in range(16):
                    f.seek(size * k // 16)
                    digest.update(f.read(1 << 16))
    return digest.hexdigest()


def _load_weights(source: str, revision: str | None, dtype: str, device: str):
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    hub = {"revision": revision, "local_files_only": os.path.isdir(source)}  # a folder (local, path:): no hub
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **hub)
        lm = AutoModelForCausalLM.from_pretrained(source, dtype=getattr(torch, dtype), **hub).to(device)
    except OSError as e:
        raise OSError(f"Cannot load the model {source!r}: {e}\n(Offline? An `hf:` id must be in the Hugging Face "
                      "cache; `path:` must be a folder with config.json and weights.)") from e
    # Keep only the special tokens of the model's generation defaults: generate() fills every field a call leaves
    # unset from them, and a default top_k, repetition penalty or suppressed token would change the distribution
    # that `temperature` promises (and beams would break the sampler).
    gen = lm.generation_config
    lm.generation_config = GenerationConfig(bos_token_id=gen.bos_token_id, eos_token_id=gen.eos_token_id,
                                            pad_token_id=gen.pad_token_id)
    return tokenizer, lm.eval()


def _common_prefix(a: list[int], b: list[int]) -> int:
    return next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def _reorder_cache(cache, rows: torch.Tensor) -> None:
    """Select (and repeat) batch rows of a transformers KV cache in place."""
    if hasattr(cache, "reorder_cache"):
        cache.reorder_cache(rows)
        return
    for layer in cache.layers:
        layer.keys, layer.values = layer.keys[rows], layer.values[rows]
