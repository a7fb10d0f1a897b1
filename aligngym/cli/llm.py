"""`aligngym llm …`: try a backend, prepare the default model, serve any backend over HTTP."""
from __future__ import annotations

import json
from typing import List, Optional

import typer

from aligngym.cli.common import console, fail

app = typer.Typer(help="LLM backends: try one, prepare the offline default, or serve one as an OpenAI-compatible API.",
                  no_args_is_help=True)

LLM_HELP = "Backend spec: local | hf:<id> | path:<dir> | openai:<model>@<base_url>."


def _load(spec: str, cache: bool = True):
    from aligngym.llm import load

    try:
        return load(spec, cache=cache)
    except (ValueError, FileNotFoundError, OSError, ImportError) as e:
        fail(str(e))


@app.command("generate")
def generate_cmd(prompts: List[str] = typer.Argument(..., help="One or more prompts (batched together)."),
                 llm: str = typer.Option("local", help=LLM_HELP),
                 max_new_tokens: int = typer.Option(32, help="Tokens to generate per prompt."),
                 temperature: float = typer.Option(0.0, help="0 = greedy (deterministic)."),
                 seed: Optional[int] = typer.Option(None, help="Seed for sampling."),
                 stop: List[str] = typer.Option([], "--stop", help="Stop string (repeat the flag)."),
                 cache: bool = typer.Option(True, help="Use the on-disk response cache.")):
    """Complete prompts with a backend; prints each prompt with its reply, then the backend description."""
    model = _load(llm, cache)
    outs = model.generate(prompts, max_new_tokens=max_new_tokens, temperature=temperature, stop=stop, seed=seed)
    for prompt, out in zip(prompts, outs):
        console.print(f"[bold]{prompt}[/]{out}", highlight=False)
    console.print(json.dumps(model.describe()), style="dim", highlight=False)


@app.command("score")
def score_cmd(prompt: str = typer.Argument(..., help="The prompt."),
              choices: List[str] = typer.Option(..., "--choice", help="A continuation to score (repeat the flag)."),
              llm: str = typer.Option("local", help=LLM_HELP)):
    """Log-probability of each continuation given the prompt (what multiple-choice agents use)."""
    model = _load(llm)
    for choice, score in sorted(zip(choices, model.score_choices([prompt], [choices])[0]), key=lambda x: -x[1]):
        console.print(f"{score:9.3f}  {choice!r}", highlight=False)


@app.command("prepare")
def prepare_cmd():
    """Convert the default model into the cache now (otherwise the first `load("local")` does it)."""
    from aligngym.llm.default_model import default_model_dir

    console.print(f"Default model ready at {default_model_dir(progress=True)}")


@app.command("cache")
def cache_cmd(clear: bool = typer.Option(False, "--clear", help="Delete every cached LLM response.")):
    """Where the converted model and the response cache live, and how big they are."""
    from aligngym.llm.cache import ResponseCache
    from aligngym.llm.default_model import cache_dir

    root = cache_dir()
    responses = ResponseCache.default()
    if clear:
        responses.clear()
        console.print("Cleared the LLM response cache.")
    for path in sorted(root.iterdir()):
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else path.stat().st_size
        console.print(f"{size / 2**20:10.1f} MB  {path}", highlight=False, soft_wrap=True)
    console.print(f"{responses.count()} cached responses (ALIGNGYM_LLM_CACHE=0 turns the cache off)")


@app.command("serve")
def serve_cmd(llm: str = typer.Option("local", help=LLM_HELP),
              host: str = typer.Option("127.0.0.1", help="Interface to listen on (keep it local unless you mean it)."),
              port: int = typer.Option(8000, help="TCP port."),
              model_name: Optional[str] = typer.Option(None, help="Model id clients send (default: the backend's)."),
              cache: bool = typer.Option(True, help="Use the on-disk response cache.")):
    """Serve a backend as an OpenAI-compatible API (/v1/models, /v1/completions, /v1/chat/completions).
    Clients then use `--llm openai:<model-name>@http://HOST:PORT/v1`."""
    import uvicorn

    from aligngym.llm.server import make_app

    model = _load(llm, cache)
    name = model_name or ("local" if llm == "local" else model.model)
    console.print(f"Serving {model.model} as {name!r}: use --llm openai:{name}@http://{host}:{port}/v1")
    uvicorn.run(make_app(model, name), host=host, port=port, log_level="info")
