from __future__ import annotations

import dataclasses
import hashlib

import pytest

from mwpbench.errors import ConfigError, UnknownNameError
from mwpbench.prompts import (
    OFFICIAL_STOP,
    PROMPTS,
    build_requests,
    list_prompts,
    load_prompt,
    prompts_dir,
    request_id,
    sampling_hash,
)
from mwpbench.types import Problem, SamplingParams

Q = "Natalia sold clips to 48 of her friends in April.\nHow many clips did she sell?"
P = Problem(id="gsm8k/7", task="gsm8k", subset="gsm8k", question=Q, answer="72")

# Expected texts typed from OFFICIAL_GRADER.md ("The driver's other defaults").
OFFICIAL = {
    "none": Q,
    "alpaca": (
        "Below is an instruction that describes a task. Write a response that appropriately "
        "completes the request.\n\n### Instruction:\n" + Q + "\n\n### Response:"
    ),
    "alpaca_force_ans": (
        "Below is an instruction that describes a task. Write a response that appropriately "
        "completes the request.\n\n### Instruction:\n"
        + Q
        + "\n\nTry to conclude your response with 'The answer is ...'.\n### Response:"
    ),
    "alpaca_cot": (
        "Below is an instruction that describes a task. Write a response that appropriately "
        "completes the request.\n\n### Instruction:\n"
        + Q
        + "\n\n### Response: Let's think step by step."
    ),
}


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_official_templates_character_for_character(name):
    prompt = load_prompt(name)
    assert prompt.render(P) == OFFICIAL[name]
    assert not prompt.is_chat
    assert prompt.stop == OFFICIAL_STOP


def test_official_stop_strings():
    assert OFFICIAL_STOP == (
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


def test_questions_are_not_interpreted_as_jinja():
    tricky = dataclasses.replace(P, question="{{ 1 + 1 }} {% if %} \\boxed{x} $a_{n}$")
    assert load_prompt("none").render(tricky) == tricky.question


def test_chat_boxed_prompt():
    prompt = load_prompt("chat_boxed")
    assert prompt.is_chat and prompt.stop == ()
    assert prompt.render(P) == (
        {
            "role": "user",
            "content": Q + "\nPlease reason step by step, and put your final answer within "
            "\\boxed{}.",
        },
    )


def test_fewshot_prompts_use_exemplar_file():
    text = load_prompt("fewshot_boxed")
    assert len(text.fewshot) == 4
    rendered = text.render(P)
    assert rendered.count("Question: ") == 5
    assert rendered.endswith("Question: " + Q + "\nAnswer:")
    assert "$\\boxed{26}$" in rendered
    chat = load_prompt("chat_fewshot_boxed").render(P)
    assert [m["role"] for m in chat] == ["user", "assistant"] * 4 + ["user"]
    assert chat[1]["content"].endswith("The final answer is $\\boxed{26}$.")
    assert chat[-1]["content"].startswith(Q)


def test_every_shipped_prompt_loads_and_files_match_table():
    assert list_prompts() == list(PROMPTS)
    on_disk = sorted(p.stem for p in prompts_dir().glob("*.jinja"))
    assert on_disk == sorted(PROMPTS)
    for name in PROMPTS:
        prompt = load_prompt(name)
        assert prompt.name == name
        assert prompt.render(P)


def test_hash_is_sha256_of_template_source():
    prompt = load_prompt("alpaca")
    source = (prompts_dir() / "alpaca.jinja").read_bytes()
    assert prompt.hash == hashlib.sha256(source).hexdigest()
    assert len({load_prompt(n).hash for n in PROMPTS}) == len(PROMPTS)


def test_unknown_prompt_name_did_you_mean():
    with pytest.raises(UnknownNameError, match="Did you mean 'alpaca'"):
        load_prompt("alpacca")


def test_user_template_file(tmp_path):
    path = tmp_path / "mine.jinja"
    path.write_text("Q: {{ question }}\nA:\n", encoding="utf-8")
    prompt = load_prompt(str(path))
    assert prompt.name == "mine" and not prompt.is_chat and prompt.stop == ()
    assert prompt.render(P) == "Q: " + Q + "\nA:"
    assert prompt.hash == hashlib.sha256(path.read_bytes()).hexdigest()
    path.write_text("Q: {{ question }}\nAnswer:\n", encoding="utf-8")
    assert load_prompt(path).hash != prompt.hash


def test_user_chat_template_with_header(tmp_path):
    path = tmp_path / "chat.jinja"
    path.write_text(
        "{#- mwpbench\nkind: chat\nstop: ['###']\n-#}\n<|system|>\nBe brief.\n<|user|>\n"
        "{{ question }} ({{ task }})\n",
        encoding="utf-8",
    )
    prompt = load_prompt(path)
    assert prompt.is_chat and prompt.stop == ("###",)
    assert prompt.render(P) == (
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": Q + " (gsm8k)"},
    )


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{{ question ", "syntax error"),
        ("{#- mwpbench\nkind: chatty\n-#}\n{{ question }}", "kind"),
        ("{#- mwpbench\ncolour: red\n-#}\n{{ question }}", "unknown header key"),
        ("{#- mwpbench\nstop: 3\n-#}\n{{ question }}", "stop"),
    ],
)
def test_bad_user_templates(tmp_path, text, match):
    path = tmp_path / "bad.jinja"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=match):
        load_prompt(path)


def test_undefined_variable_and_missing_file(tmp_path):
    path = tmp_path / "undef.jinja"
    path.write_text("{{ nonsense }}", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot render"):
        load_prompt(path).render(P)
    with pytest.raises(ConfigError, match="does not exist"):
        load_prompt(tmp_path / "nope.jinja")


def test_build_requests_ids_meta_and_stop():
    problems = [P, dataclasses.replace(P, id="gsm8k/8")]
    sampling = SamplingParams(max_tokens=512, stop=("\n\n\n", "Question:"))
    reqs = build_requests(problems, "alpaca", sampling)
    assert [r.prompt for r in reqs] == [OFFICIAL["alpaca"]] * 2
    assert reqs[0].sampling.stop == OFFICIAL_STOP + ("\n\n\n",)
    assert reqs[0].sampling.max_tokens == 512
    assert reqs[0].meta["gold"] == "72" and reqs[0].meta["problem_id"] == "gsm8k/7"
    assert reqs[0].meta["prompt_hash"] == load_prompt("alpaca").hash
    assert len({r.id for r in reqs}) == 2
    # stable: same inputs give the same ids; any change of prompt or sampling changes them
    assert [r.id for r in build_requests(problems, "alpaca", sampling)] == [r.id for r in reqs]
    other_prompt = build_requests(problems, "alpaca_cot", sampling)
    other_sampling = build_requests(problems, "alpaca", dataclasses.replace(sampling, seed=1))
    assert not {r.id for r in reqs} & {r.id for r in other_prompt}
    assert not {r.id for r in reqs} & {r.id for r in other_sampling}
    assert reqs[0].id == request_id(
        "gsm8k", "gsm8k/7", load_prompt("alpaca").hash, sampling_hash(reqs[0].sampling)
    )


def test_build_requests_chat_uses_messages():
    [r] = build_requests([P], load_prompt("chat_boxed"))
    assert r.prompt is None and r.messages[0]["role"] == "user"
    assert r.sampling == SamplingParams()


def test_sampling_hash_covers_every_field():
    base = SamplingParams()
    variants = [
        dataclasses.replace(base, temperature=0.5),
        dataclasses.replace(base, top_p=0.9),
        dataclasses.replace(base, max_tokens=10),
        dataclasses.replace(base, stop=("x",)),
        dataclasses.replace(base, n=2),
        dataclasses.replace(base, seed=0),
    ]
    hashes = {sampling_hash(v) for v in [base, *variants]}
    assert len(hashes) == len(variants) + 1


def test_cli_lists_and_renders_prompts():
    from click.testing import CliRunner

    from mwpbench.cli import cli

    runner = CliRunner()
    listing = runner.invoke(cli, ["prompts"])
    assert listing.exit_code == 0
    for name in PROMPTS:
        assert name in listing.output
    assert load_prompt("alpaca").hash[:12] in listing.output
    shown = runner.invoke(cli, ["prompts", "alpaca", "--question", Q])
    assert shown.exit_code == 0 and shown.output.endswith(OFFICIAL["alpaca"] + "\n")


def test_prompts_dir_prefers_the_wheel_copy(tmp_path, monkeypatch):
    import mwpbench.config as config_module  # where the shipped-folder lookup lives

    packaged = tmp_path / "_data" / "prompts"
    packaged.mkdir(parents=True)
    monkeypatch.setattr(config_module.resources, "files", lambda package: tmp_path)
    prompts_dir.cache_clear()
    try:
        assert prompts_dir() == packaged
    finally:
        monkeypatch.undo()
        prompts_dir.cache_clear()
    assert (prompts_dir() / "alpaca.jinja").is_file()


# --- a template file is untrusted text: sandboxed, and only template files are read ------

INJECTIONS = [
    "{{ cycler.__init__.__globals__.os.popen('touch MARKER').read() }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ problem.__class__.__init__.__globals__ }}",
    "{% set x = joiner.__init__.__globals__ %}{{ x.os.system('touch MARKER') }}",
]


@pytest.mark.parametrize("text", INJECTIONS)
def test_a_template_cannot_reach_python(tmp_path, monkeypatch, text):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.jinja"
    path.write_text(text + "\n{{ question }}", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot render.*unsafe"):
        load_prompt(path).render(P)
    assert not (tmp_path / "MARKER").exists()


def test_eval_with_an_injected_template_runs_nothing_and_writes_nothing(tmp_path, monkeypatch):
    from mwpbench.cli import main

    monkeypatch.chdir(tmp_path)
    release = tmp_path / "release.jsonl"
    release.write_text('{"data_source": "gsm8k", "question_number": 1, "data_topic": "gsm8k", '
                       '"question": "1+1?", "answer": "2", "license": "x"}\n')  # fmt: skip
    path = tmp_path / "evil.jinja"
    path.write_text(INJECTIONS[0], encoding="utf-8")
    code = main(["eval", "--model", "m", "--backend", "mock", "--data-file", str(release),
                 "--prompt", str(path), "--output", str(tmp_path / "out"), "-q"])  # fmt: skip
    assert code == 2
    assert not (tmp_path / "MARKER").exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["secrets.txt", "id_rsa", "data.json", "notes.md"])
def test_prompt_path_accepts_only_template_files(tmp_path, name):
    path = tmp_path / name
    path.write_text("{{ question }} sk-secret-key", encoding="utf-8")
    with pytest.raises(ConfigError, match="not a template file"):
        load_prompt(path)
    with pytest.raises(ConfigError, match="not a template file"):
        load_prompt(str(path))


def test_prompt_file_that_is_not_utf8_or_a_folder(tmp_path):
    path = tmp_path / "latin.jinja"
    path.write_bytes(b"caf\xe9 {{ question }}")
    with pytest.raises(ConfigError, match="UTF-8"):
        load_prompt(path)
    (tmp_path / "dir.jinja").mkdir()
    with pytest.raises(ConfigError, match="does not exist"):
        load_prompt(tmp_path / "dir.jinja")


@pytest.mark.parametrize("fewshot", ["../outside.jsonl", "/etc/passwd", "shots.txt"])
def test_fewshot_file_stays_beside_the_template(tmp_path, fewshot):
    folder = tmp_path / "prompts"
    folder.mkdir()
    (tmp_path / "outside.jsonl").write_text('{"question": "q", "answer": "a"}\n')
    (folder / "shots.txt").write_text('{"question": "q", "answer": "a"}\n')
    path = folder / "fs.jinja"
    path.write_text(f"{{#- mwpbench\nfewshot: {fewshot}\n-#}}\n{{{{ question }}}}", encoding="utf-8")
    with pytest.raises(ConfigError, match="fewshot must name a .jsonl file beside"):
        load_prompt(path)
    (folder / "shots.jsonl").write_text('{"question": "q", "answer": "a"}\n')
    path.write_text("{#- mwpbench\nfewshot: shots.jsonl\n-#}\n{{ question }}", encoding="utf-8")
    assert load_prompt(path).fewshot[0]["answer"] == "a"
