"""Local weights are shared by content and freed with the last backend that uses them (a tiny random model)."""
from __future__ import annotations

import gc
import shutil

import pytest

from aligngym.llm import load
from aligngym.llm import local


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny")
    vocab = {w: i for i, w in enumerate(["<unk>", "<eos>", "hello", "world", "yes", "no"])}
    raw = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="<unk>", eos_token="<eos>").save_pretrained(folder)
    config = GPT2Config(vocab_size=len(vocab), n_positions=32, n_embd=8, n_layer=1, n_head=2,
                        bos_token_id=1, eos_token_id=1)
    GPT2LMHeadModel(config).save_pretrained(folder)
    return folder


def test_the_same_files_under_two_paths_share_one_copy_of_the_weights(tiny_model, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_model, copy)
    link = tmp_path / "link"
    link.symlink_to(tiny_model)
    a, b, c = (load(f"path:{p}", cache=False) for p in (tiny_model, copy, link))
    assert a.lm is b.lm is c.lm
    private = load(f"path:{tiny_model}", cache=False, reuse=False)
    assert private.lm is not a.lm
    assert a.generate(["hello world"], max_new_tokens=2) == c.generate(["hello world"], max_new_tokens=2)


def test_weights_are_freed_when_no_backend_uses_them(tiny_model):
    gc.collect()
    before = len(local._WEIGHTS)
    backend = load(f"path:{tiny_model}", cache=False)
    assert len(local._WEIGHTS) == before + 1
    del backend
    gc.collect()
    assert len(local._WEIGHTS) == before
