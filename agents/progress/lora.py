"""Optional LoRA fine-tuning of a transformers-backed LLM for the progress examinee (GPU only, needs `peft`).

Adapters are injected in place (`peft.inject_adapter_in_model`), so the backend keeps scoring and generating with
the same model object; only the LoRA weights train. Load the backend with `cache=False` so cached answers of the
untuned model are never reused.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LoRAArgs:
    rank: int = 8
    """LoRA rank r of each adapter"""
    alpha: int = 16
    """LoRA scaling alpha (effective scale alpha / r)"""
    learning_rate: float = 1e-4
    """AdamW step size for the adapter weights"""
    epochs: int = 2
    """passes over one timestep's examples"""
    target_modules: tuple[str, ...] = field(default=("q_proj", "v_proj"))
    """attention projections that get adapters"""


ARGS = LoRAArgs()


def reset_adapters(model) -> None:
    """Every LoRA adapter injected into `model` back to its initial weights (B = 0: the base model's outputs), so
    a new episode, a new value history, is learned from the base model as the first one was."""
    from peft.tuners.lora import LoraLayer

    for module in model.modules():
        if isinstance(module, LoraLayer):
            for name in module.lora_A:
                module.reset_lora_parameters(name, True)


def check_available(llm) -> None:
    """Refuses, with the reason, unless peft, a CUDA GPU and a transformers backend are all there."""
    try:
        import peft  # noqa: F401
    except ImportError:
        raise ValueError("lora=true needs peft: `pip install peft` (or `pip install aligngym[lora]`).") from None
    import torch

    if not torch.cuda.is_available():
        raise ValueError("lora=true needs a CUDA GPU; on CPU use the in-context examinee (lora=false).")
    if not (hasattr(llm, "lm") and hasattr(llm, "tokenizer")):
        raise ValueError("lora=true needs a transformers backend (local, hf:, path:), not "
                         f"{llm.describe()['backend']}.")


def finetune(llm, examples: list[tuple[str, str]], args: LoRAArgs = ARGS) -> None:
    """A few epochs of next-token loss on the completions of (prompt, completion) pairs."""
    import torch
    from peft import LoraConfig, inject_adapter_in_model

    if not examples:
        return
    if not getattr(llm, "_progress_lora", False):
        config = LoraConfig(r=args.rank, lora_alpha=args.alpha, target_modules=list(args.target_modules),
                            lora_dropout=0.0)
        llm.lm = inject_adapter_in_model(config, llm.lm)
        llm._progress_lora = True
    params = [p for n, p in llm.lm.named_parameters() if "lora_" in n]
    for n, p in llm.lm.named_parameters():
        p.requires_grad = "lora_" in n
    opt = torch.optim.AdamW(params, lr=args.learning_rate)
    device = next(llm.lm.parameters()).device
    llm.lm.train()
    for _ in range(args.epochs):
        for prompt, completion in examples:
            p_ids = llm.tokenizer(prompt, add_special_tokens=True)["input_ids"]
            c_ids = llm.tokenizer(completion, add_special_tokens=False)["input_ids"]
            ids = torch.tensor([p_ids + c_ids], device=device)
            labels = ids.clone()
            labels[:, :len(p_ids)] = -100  # learn the answer only
            loss = llm.lm(input_ids=ids, labels=labels).loss
            loss.backward()
            opt.step()
            opt.zero_grad()
    llm.lm.eval()
