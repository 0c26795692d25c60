"""Prompt templates: load prompts/*.jinja, render one Problem, hash the template.

A template is a Jinja2 file. An optional header comment names what the text cannot say:

    {#- mwpbench
    description: one line
    kind: text | chat          (chat: role lines <|system|>, <|user|>, <|assistant|>)
    stop: official | ["...", ...]
    fewshot: fewshot/<file>.jsonl   (exemplars: {"question", "solution", "answer"} per line)
    -#}

Variables: `question`, `task`, `subset`, `language`, `level`, `meta`, `problem` (the whole
Problem) and `fewshot` (the exemplar list). The template hash is the sha256 of the template
source (followed by a NUL byte and the exemplar file's bytes when it has few-shot
exemplars); it is part of every request key, so editing a template never reuses old
generations.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox
import yaml

from mwpbench.config import shipped_dir
from mwpbench.errors import ConfigError, DataError, UnknownNameError
from mwpbench.types import GenerationRequest, Problem, SamplingParams

OFFICIAL_STOP: tuple[str, ...] = (
    "Question:",
    "Question",
    "USER:",
    "USER",
    "ASSISTANT:",
    "ASSISTANT",
    "Instruction:",
    "Instruction",
    "Response:",
    "Response",
    "</s>",
)
"""The MWPBench driver's stop strings, in its order."""

# The prompts shipped with mwpbench: one line per template in prompts/<name>.jinja.
PROMPTS: tuple[str, ...] = (
    "none",
    "alpaca",
    "alpaca_force_ans",
    "alpaca_cot",
    "chat_boxed",
    "qwen25_math_cot",
    "fewshot_boxed",
    "chat_fewshot_boxed",
)

_HEADER = re.compile(r"\A\{#-?\s*mwpbench[ \t]*\n(?P<body>.*?)-?#\}", re.DOTALL)
_ROLE_LINE = re.compile(r"^<\|(system|user|assistant)\|>[ \t]*$", re.MULTILINE)
_HEADER_KEYS = frozenset({"description", "kind", "stop", "fewshot"})

Messages = tuple[Mapping[str, str], ...]


@lru_cache(maxsize=1)
def prompts_dir() -> Path:
    """The prompts/ folder."""
    return shipped_dir("prompts")


# Sandboxed: a template file is someone else's text too. It can read the variables it is
# given, never reach Python internals (`cycler.__init__.__globals__.os`...) or run anything.
_ENV = jinja2.sandbox.ImmutableSandboxedEnvironment(  # noqa: S701 - prompts are plain text
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=False,
    autoescape=False,
)
TEMPLATE_SUFFIXES = (".jinja", ".jinja2", ".j2")
"""What `--prompt PATH` accepts: template files, nothing else."""


@dataclass(frozen=True)
class PromptTemplate:
    """A loaded template: render a Problem to a prompt string or chat messages."""

    name: str
    source: str
    hash: str
    is_chat: bool
    stop: tuple[str, ...]
    description: str = ""
    path: str | None = None
    fewshot: tuple[Mapping[str, Any], ...] = ()
    _template: jinja2.Template = field(repr=False, compare=False, default=None)  # type: ignore[assignment]

    def render(self, problem: Problem) -> str | Messages:
        """The prompt text (text templates) or a tuple of {"role", "content"} messages."""
        try:
            text = self._template.render(
                question=problem.question,
                task=problem.task,
                subset=problem.subset,
                language=problem.language,
                level=problem.level,
                meta=problem.meta,
                problem=problem,
                fewshot=self.fewshot,
            )
        except jinja2.TemplateError as exc:
            raise ConfigError(
                f"prompt {self.name!r} ({self.path}): cannot render problem {problem.id!r}: "
                f"{exc}. Fix the template."
            ) from exc
        return _to_messages(text, self) if self.is_chat else text

    def info(self) -> dict[str, Any]:
        """Name, kind, hash, stop strings: what run.json records about the prompt."""
        return {
            "name": self.name,
            "hash": self.hash,
            "kind": "chat" if self.is_chat else "text",
            "stop": list(self.stop),
            "path": self.path,
        }


def _to_messages(text: str, template: PromptTemplate) -> Messages:
    parts = _ROLE_LINE.split(text)
    if parts[0].strip():
        raise ConfigError(
            f"chat prompt {template.name!r}: text before the first role line "
            "(<|system|>, <|user|> or <|assistant|>): start the template with a role line"
        )
    messages = tuple(
        {"role": parts[i], "content": parts[i + 1].strip()} for i in range(1, len(parts), 2)
    )
    if not messages or messages[-1]["role"] != "user":
        raise ConfigError(
            f"chat prompt {template.name!r}: the last message must be a <|user|> turn"
        )
    return messages


def _parse_header(source: str, where: str) -> dict[str, Any]:
    m = _HEADER.match(source)
    if m is None:
        return {}
    try:
        header = yaml.safe_load(m.group("body")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: the mwpbench header is not valid YAML: {exc}") from exc
    if not isinstance(header, dict):
        raise ConfigError(f"{where}: the mwpbench header must be a mapping of key: value")
    unknown = set(header) - _HEADER_KEYS
    if unknown:
        raise ConfigError(
            f"{where}: unknown header key(s) {sorted(unknown)}; known: {sorted(_HEADER_KEYS)}"
        )
    return header


def _load_fewshot(path: Path) -> tuple[tuple[Mapping[str, Any], ...], bytes]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"few-shot exemplar file {path} cannot be read: {exc}") from exc
    rows = []
    for lineno, line in enumerate(raw.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"not valid JSON: {exc.msg}", path=str(path), line=lineno) from exc
        if not isinstance(row, dict) or "question" not in row or "answer" not in row:
            raise DataError(
                'each exemplar needs "question" and "answer" (and "solution")',
                path=str(path),
                line=lineno,
            )
        row.setdefault("solution", "")
        rows.append(row)
    return tuple(rows), raw


def _fewshot_path(base: Path, name: object, where: str) -> Path:
    """The exemplar file a header names: a .jsonl file in the template's own folder tree."""
    rel = Path(str(name))
    target = (base / rel).resolve()
    if rel.is_absolute() or ".." in rel.parts or rel.suffix != ".jsonl" or (
        not target.is_relative_to(base.resolve())
    ):
        raise ConfigError(
            f"{where}: fewshot must name a .jsonl file beside the template (or below its "
            f"folder), got {name!r}"
        )
    return target


def _template_from_source(name: str, source: str, path: Path | None) -> PromptTemplate:
    where = str(path) if path is not None else f"prompt {name!r}"
    header = _parse_header(source, where)
    kind = header.get("kind")
    if kind is None:
        kind = "chat" if _ROLE_LINE.search(source) else "text"
    if kind not in ("text", "chat"):
        raise ConfigError(f"{where}: kind must be 'text' or 'chat', got {kind!r}")
    stop_spec = header.get("stop", ())
    if stop_spec == "official":
        stop = OFFICIAL_STOP
    elif isinstance(stop_spec, (list, tuple)) and all(isinstance(s, str) for s in stop_spec):
        stop = tuple(stop_spec)
    else:
        raise ConfigError(f"{where}: stop must be 'official' or a list of strings")
    digest = hashlib.sha256(source.encode("utf-8"))
    fewshot: tuple[Mapping[str, Any], ...] = ()
    if header.get("fewshot"):
        base = path.parent if path is not None else prompts_dir()
        fewshot, raw = _load_fewshot(_fewshot_path(base, header["fewshot"], where))
        digest.update(b"\0" + raw)
    try:
        template = _ENV.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"{where}:{exc.lineno}: template syntax error: {exc.message}") from exc
    return PromptTemplate(
        name=name,
        source=source,
        hash=digest.hexdigest(),
        is_chat=kind == "chat",
        stop=stop,
        description=str(header.get("description", "")),
        path=str(path) if path is not None else None,
        fewshot=fewshot,
        _template=template,
    )


def list_prompts() -> list[str]:
    """Names of the shipped prompt templates."""
    return list(PROMPTS)


@lru_cache(maxsize=64)
def _load_named(name: str) -> PromptTemplate:
    path = prompts_dir() / f"{name}.jinja"
    return _template_from_source(name, path.read_text(encoding="utf-8"), path)


def load_prompt(name_or_path: str | Path) -> PromptTemplate:
    """A shipped template by name (`alpaca`, ...) or a user's template file by path."""
    text = str(name_or_path)
    if text in PROMPTS:
        return _load_named(text)
    path = Path(text).expanduser()
    if isinstance(name_or_path, Path) or path.suffix or "/" in text or "\\" in text:
        return _template_from_source(path.stem, _read_template(path), path.resolve())
    raise UnknownNameError("prompt", text, PROMPTS)


def _read_template(path: Path) -> str:
    """The text of a user's template file; anything but a readable UTF-8 .jinja file (a
    data file, a key file, a folder) is refused before it is read."""
    if path.suffix not in TEMPLATE_SUFFIXES:
        raise ConfigError(
            f"--prompt {path}: not a template file; give a prompt name (see `mwpbench "
            f"prompts`) or a Jinja template file ending in {' or '.join(TEMPLATE_SUFFIXES)}"
        )
    if not path.is_file():
        raise ConfigError(f"prompt file {path} does not exist; give a .jinja file path")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"prompt file {path} cannot be read as UTF-8 text: {exc}") from exc


def sampling_hash(sampling: SamplingParams) -> str:
    """sha256 over the canonical JSON of every sampling parameter."""
    data = dataclasses.asdict(sampling)
    data["stop"] = list(sampling.stop)
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def request_id(task: str, problem_id: str, prompt_hash: str, sampling_digest: str) -> str:
    """The stable request key: readable problem id plus a digest of everything else."""
    key = "\x1f".join((task, problem_id, prompt_hash, sampling_digest))
    return f"{problem_id}#{hashlib.sha256(key.encode('utf-8')).hexdigest()[:16]}"


def effective_sampling(prompt: PromptTemplate, sampling: SamplingParams) -> SamplingParams:
    """The sampling parameters with the template's stop strings added (order kept, no dups)."""
    stop = tuple(dict.fromkeys((*prompt.stop, *sampling.stop)))
    if stop == sampling.stop:
        return sampling
    return dataclasses.replace(sampling, stop=stop)


def build_requests(
    problems: Iterable[Problem],
    prompt: PromptTemplate | str,
    sampling: SamplingParams | None = None,
) -> list[GenerationRequest]:
    """One GenerationRequest per problem, with a stable id from (task, problem id, prompt
    hash, sampling hash). The template's stop strings join `sampling.stop`. request.meta
    carries task, problem_id, subset, gold, question, prompt name and hashes.
    """
    template = load_prompt(prompt) if isinstance(prompt, str) else prompt
    sp = effective_sampling(template, sampling or SamplingParams())
    s_hash = sampling_hash(sp)
    p_hash = template.hash
    chat = template.is_chat
    requests: list[GenerationRequest] = []
    append = requests.append
    for problem in problems:
        rendered = template.render(problem)
        meta = {
            "task": problem.task,
            "problem_id": problem.id,
            "subset": problem.subset,
            "gold": problem.answer,
            "question": problem.question,
            "prompt_name": template.name,
            "prompt_hash": p_hash,
            "sampling_hash": s_hash,
        }
        rid = request_id(problem.task, problem.id, p_hash, s_hash)
        if chat:
            append(GenerationRequest(id=rid, messages=rendered, sampling=sp, meta=meta))  # type: ignore[arg-type]
        else:
            append(GenerationRequest(id=rid, prompt=rendered, sampling=sp, meta=meta))  # type: ignore[arg-type]
    return requests


def chat_model_warning(template: PromptTemplate, tokenizer: Any, model: str) -> str | None:
    """The warning for a plain-text prompt sent to a model whose tokenizer has a chat
    template (an Instruct or chat model answers such a prompt as raw text), or None."""
    if template.is_chat or tokenizer is None:
        return None
    if not isinstance(getattr(tokenizer, "chat_template", None), str):
        return None
    return (
        f"the {template.name!r} prompt is plain text, but {model}'s tokenizer has a chat "
        "template: an Instruct/chat model usually does better with a chat prompt (--prompt "
        "chat_boxed or qwen25_math_cot). Plain text is right for base models and for "
        "reproducing the paper (alpaca, --official)."
    )


def describe_prompts(names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """info() of each shipped template (for `mwpbench prompts`)."""
    out = []
    for name in names or PROMPTS:
        t = load_prompt(name)
        out.append({**t.info(), "description": t.description})
    return out


__all__ = [
    "OFFICIAL_STOP",
    "PROMPTS",
    "TEMPLATE_SUFFIXES",
    "PromptTemplate",
    "build_requests",
    "chat_model_warning",
    "describe_prompts",
    "effective_sampling",
    "list_prompts",
    "load_prompt",
    "prompts_dir",
    "request_id",
    "sampling_hash",
]
