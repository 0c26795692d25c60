"""`grade`, `is_equivalent`, `grade_many`: the grading entry points.

Extraction and the fast paths (normalized strings, exact numbers) run in the caller's
process; anything that needs SymPy runs in a killable worker process under a hard
wall-clock limit, so a hostile completion costs at most `timeout` + about a second. This
works from any process (threads, asyncio, notebooks, daemonic `multiprocessing` workers).
Only bad arguments raise (ConfigError); an internal failure (a worker that cannot start,
a bug in a parser) is a Verdict with status `error`, never an exception.
"""

from __future__ import annotations

import logging
import math
import os
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from mwpbench.errors import ConfigError, UnknownNameError
from mwpbench.grading.compare import compare_answers, fast_compare
from mwpbench.grading.extract import Extraction, choice_letter, extract
from mwpbench.types import GRADERS, Verdict

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 5.0
MAX_COMPLETION = 200_000  # characters of a completion that are looked at (its tail)
_AHEAD = 64  # grade_many: fast items prepared in a row before their verdicts go out
_EARLY_ITEMS = 8192  # grade_many: items prepared, at most, while the workers start


def _check_timeout(timeout: float) -> float:
    """A positive, finite number of seconds (inf would be no limit at all)."""
    if (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
            or not 0 < timeout < math.inf):  # fmt: skip
        raise ConfigError(
            f"timeout must be a positive, finite number of seconds, got {timeout!r}"
        )
    return float(timeout)


def grade(
    completion: str,
    gold: str,
    *,
    grader: str = "strict",
    task: str | None = None,
    finish_reason: str | None = None,
    choices: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Verdict:
    """Grade one model completion against one gold answer. Raises only on bad arguments
    (ConfigError): model text never does, and an internal failure is status `error`.

    `grader` is "strict" (value equivalence, the default) or "official" (the MWPBench
    fuzzy matcher). `finish_reason="length"` marks a truncated completion: without a
    committed answer it is `no_answer`. `choices` maps option letters to option texts.
    """
    timeout = _check_timeout(timeout)
    if grader != "strict":
        fn = _other_grader(grader)
        try:
            return fn(completion, gold, task=task, finish_reason=finish_reason, choices=choices,
                      timeout=timeout)  # fmt: skip
        except Exception as exc:
            return _internal_error(exc)
    return grade_strict(
        completion, gold, task=task, finish_reason=finish_reason, choices=choices, timeout=timeout
    )


def grade_strict(
    completion: str,
    gold: str,
    *,
    task: str | None = None,
    finish_reason: str | None = None,
    choices: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Verdict:
    """The strict grader (see `grade`)."""
    timeout = _check_timeout(timeout)
    ex: Extraction | None = None
    try:
        prepared = _prepare(completion, gold, finish_reason, choices)
        if isinstance(prepared, Verdict):
            return prepared
        ex, pred, gold_text = prepared
        from mwpbench.grading.pool import shared_pool

        outcome = shared_pool().call(compare_answers, (pred, gold_text), timeout)
        return _finish(ex, pred, outcome)
    except Exception as exc:
        return _internal_error(exc, ex)


def is_equivalent(pred: str, gold: str, *, timeout: float = DEFAULT_TIMEOUT) -> bool:
    """Answer vs answer under the strict policy (no extraction). Never raises on `pred`."""
    timeout = _check_timeout(timeout)
    if not isinstance(pred, str) or not isinstance(gold, str):
        return False
    try:
        fast = _fast(pred, gold)
        if fast is not None:
            return fast[0]
        from mwpbench.grading.pool import shared_pool

        outcome = shared_pool().call(compare_answers, (pred, gold), timeout)
    except Exception as exc:
        _internal_error(exc)  # logged
        return False
    if outcome.status == "error":
        log.warning("is_equivalent(%.80r, %.80r): %.300s", pred, gold, outcome.error)
    return outcome.status == "ok" and bool(outcome.value[0])


def grade_many(
    items: Iterable[Mapping[str, Any]],
    *,
    grader: str = "strict",
    jobs: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Iterator[Verdict]:
    """Grade items (`completion`, `gold`, optional `task`, `finish_reason`, `choices`) and
    stream their Verdicts in input order. Symbolic work is spread over `jobs` worker
    processes (default: all cores); memory stays flat however many items there are."""
    timeout = _check_timeout(timeout)
    if grader != "strict":
        fn = _other_grader(grader)
        for item in items:
            try:
                yield fn(
                    item.get("completion", ""), item.get("gold", ""), task=item.get("task"),
                    finish_reason=item.get("finish_reason"), choices=item.get("choices"),
                    timeout=timeout,
                )  # fmt: skip
            except Exception as exc:
                yield _internal_error(exc)
        return
    from mwpbench.grading.pool import NO_WORK, WorkerPool

    jobs = jobs or os.cpu_count() or 1
    if not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"jobs must be a positive integer, got {jobs!r}")
    iterator = iter(items)
    for item in iterator:  # no worker until the first item that needs one
        first = _prepare_item(item)
        if not isinstance(first, Verdict):
            break
        yield first
    else:
        return
    # The workers pull the symbolic items from `symbolic()`, which prepares the items
    # (extraction and the fast path, in this process) as the workers need more: this
    # process prepares while they compare. `ahead` holds what is prepared, in input order;
    # its entries that are not Verdicts match what `symbolic()` yields, one for one.
    ahead: deque[Verdict | tuple[Extraction, str, str] | None] = deque([first])
    early: deque[tuple[str, str]] = deque([(first[1], first[2])])
    failure: list[Exception] = []  # the caller's iterator raised: re-raised in its place
    exhausted = False

    def prepare_next() -> Verdict | tuple[Extraction, str, str] | None:
        """The next item prepared; None at the end of the input or on the caller's error."""
        nonlocal exhausted
        try:
            item = next(iterator)
        except StopIteration:
            exhausted = True
            return None
        except Exception as exc:  # the caller's: raised after the items before it
            failure.append(exc)
            exhausted = True
            return None
        return _prepare_item(item)

    pool: WorkerPool | None = None
    try:
        pool = WorkerPool(jobs)
        pool.start(wait=False)
        starting = not pool.ready
    except Exception:  # met again, and reported, when the first item is dispatched
        starting = False
    # while the grading processes start (imports and warm-up, about a second the first
    # time), this process goes on preparing: those items are ready when the workers are
    try:
        while starting and pool is not None and len(ahead) < _EARLY_ITEMS:
            prepared = prepare_next()
            if prepared is None:
                break
            ahead.append(prepared)
            if not isinstance(prepared, Verdict):
                early.append((prepared[1], prepared[2]))
            starting = not pool.ready  # each time: the input may come slowly (a live run)
    except BaseException:
        if pool is not None:
            pool.close()
        raise

    def symbolic() -> Iterator[tuple[Any, ...]]:
        while early:
            yield early.popleft()
        since = 0  # items prepared since the last one handed over
        while not exhausted:
            prepared = prepare_next()
            if prepared is None:
                return
            ahead.append(prepared)
            if not isinstance(prepared, Verdict):
                since = 0
                yield prepared[1], prepared[2]
            elif (since := since + 1) >= _AHEAD:  # let the verdicts out: memory stays flat
                since = 0
                ahead.append(None)
                yield NO_WORK

    outcomes: Iterator[Any] = iter(())
    try:
        if pool is None:
            pool = WorkerPool(jobs)
        outcomes = pool.imap(compare_answers, symbolic(), timeout)
        broken: Exception | None = None  # the pool failed: the remaining symbolic items are errors
    except Exception as exc:
        broken = _pool_failed(exc)
    received: deque[Any] = deque()  # outcomes that came before their items' turn
    finished = broken is not None
    try:
        while True:
            if not ahead:
                if finished:
                    break
                try:
                    received.append(next(outcomes))  # prepares more items into `ahead`
                except StopIteration:
                    finished = True
                except Exception as exc:
                    broken, finished = _pool_failed(exc), True
                continue
            p = ahead.popleft()
            if isinstance(p, Verdict):
                yield p
                continue
            outcome = None
            if broken is None:
                try:
                    outcome = received.popleft() if received else next(outcomes)
                except Exception as exc:  # StopIteration cannot come: p is still owed
                    broken, finished = _pool_failed(exc), True
            if p is None:  # a NO_WORK slot
                continue
            yield _error_verdict(broken, p[0]) if broken is not None else _finish(*p[:2], outcome)
        if failure:
            raise failure[0]
        if broken is not None:  # the rest, without workers: symbolic items are errors
            for item in iterator:
                p = _prepare_item(item)
                yield p if isinstance(p, Verdict) else _error_verdict(broken, p[0])
    finally:
        if pool is not None:
            pool.close()


# ---------------------------------------------------------------- internals


def _other_grader(name: str) -> Any:
    """The grader function of a closed set (types.GRADERS) other than strict."""
    if name == "official":
        return grade_official_bounded
    raise UnknownNameError("grader", name, GRADERS)


OFFICIAL_INLINE = 100_000
"""Characters (completion + gold) up to which the official grader runs in the calling
process: its work is linear (a few milliseconds at this size). Longer texts go to a
grading worker under the same hard wall-clock limit as the strict grader's symbolic work
(a 200 MB completion takes the official matcher tens of seconds)."""


def grade_official_bounded(
    completion: Any, gold: Any, *, timeout: float = DEFAULT_TIMEOUT, **_ignored: object
) -> Verdict:
    """The official grader with a hard time limit per item. Never raises."""
    from mwpbench.grading.official import grade_official

    size = (len(completion) if isinstance(completion, str) else 0) + (
        len(gold) if isinstance(gold, str) else 0)  # fmt: skip
    if size <= OFFICIAL_INLINE:
        return grade_official(completion, gold)
    from mwpbench.grading.pool import shared_pool

    try:
        outcome = shared_pool().call(grade_official, (completion, gold), _check_timeout(timeout))
    except Exception as exc:
        return _internal_error(exc)
    if outcome.status == "ok":
        return outcome.value  # type: ignore[no-any-return]
    if outcome.status == "timeout":
        return Verdict(False, "timeout", None, None, "official", "grading time limit reached")
    if (outcome.error or "").startswith("MemoryError"):
        return Verdict(False, "parse_error", None, None, "official",
                       "over the memory cap of a grading worker")  # fmt: skip
    return Verdict(False, "error", None, None, "official",
                   f"internal grading error: {outcome.error}"[:500])  # fmt: skip


def _fast(pred: str, gold: str) -> tuple[bool, str] | None:
    try:
        return fast_compare(pred, gold)
    except (ValueError, ZeroDivisionError, OverflowError, RecursionError):
        return None


def _prepare(
    completion: Any, gold: Any, finish_reason: str | None, choices: Mapping[str, str] | None
) -> Verdict | tuple[Extraction, str, str]:
    """Extract and try the fast path: a final Verdict, or what the worker must compare."""
    if not isinstance(gold, str) or not gold.strip():
        return Verdict(False, "parse_error", None, None, None, "empty gold answer")
    if not isinstance(completion, str):
        return Verdict(False, "no_answer", None, "none", None, "completion is not text")
    text = completion[-MAX_COMPLETION:]
    ex = extract(text, choices=choices, finish_reason=finish_reason)
    if ex.answer is None:
        detail = "truncated before committing to an answer" if ex.truncated else None
        return Verdict(False, "no_answer", None, ex.rule, None, detail)
    if ex.broken:
        if ex.truncated:
            return Verdict(False, "no_answer", ex.answer, ex.rule, None,
                           "cut off inside an unclosed \\boxed{")  # fmt: skip
        return Verdict(False, "parse_error", ex.answer, ex.rule, None, "unclosed \\boxed{")
    pred = ex.answer
    gold_text = gold
    if choices:
        letter = choice_letter(pred, choices)
        gold_letter = choice_letter(gold, choices, with_text=False)  # a gold is a letter or a text
        if letter is not None and gold_letter is not None:
            ok = letter == gold_letter
            return Verdict(ok, "correct" if ok else "incorrect", letter, ex.rule, "choice")
        options = {k.upper(): v for k, v in choices.items()}
        if letter is not None:  # compare the chosen option's text with the gold
            pred = options[letter]
        elif gold_letter is not None:  # the answer written out against a gold letter
            gold_text = options[gold_letter]
    if not pred.strip() or pred.strip() in ("{}",):
        return Verdict(False, "no_answer", pred, ex.rule, None, "empty answer")
    fast = _fast(pred, gold_text)
    if fast is not None:
        ok, method = fast
        return Verdict(ok, "correct" if ok else "incorrect", ex.answer, ex.rule, method)
    return ex, pred, gold_text


def _prepare_item(item: Any) -> Verdict | tuple[Extraction, str, str]:
    """`_prepare` for one grade_many item; an item it cannot handle is an `error` Verdict."""
    try:
        return _prepare(
            item.get("completion", ""), item.get("gold", ""), item.get("finish_reason"),
            item.get("choices"),
        )  # fmt: skip
    except Exception as exc:
        return _internal_error(exc)


def _finish(ex: Extraction, pred: str, outcome: Any) -> Verdict:
    if outcome.status == "timeout":
        return Verdict(False, "timeout", ex.answer, ex.rule, None, "grading time limit reached")
    if outcome.status != "ok":
        if outcome.error.startswith("MemoryError"):  # the worker's memory cap: too big
            return Verdict(False, "parse_error", ex.answer, ex.rule, None,
                           "over the memory cap of a grading worker")  # fmt: skip
        return Verdict(False, "error", ex.answer, ex.rule, None, (outcome.error or "")[:500])
    ok, status, method, detail = outcome.value
    return Verdict(bool(ok), status, ex.answer, ex.rule, method, detail)


def _internal_error(exc: BaseException, ex: Extraction | None = None) -> Verdict:
    """An internal failure (not the model's text): logged, and returned as status `error`."""
    # a message may quote the model's text: one short line (the traceback with --debug)
    log.warning("internal grading error: %s: %.300s", type(exc).__name__, exc,
                exc_info=exc if log.isEnabledFor(logging.DEBUG) else None)  # fmt: skip
    return _error_verdict(exc, ex)


def _pool_failed(exc: Exception) -> Exception:
    log.error("grade_many: the worker pool failed (%s); the remaining items that need a "
              "worker get status 'error'", exc, exc_info=exc)  # fmt: skip
    return exc


def _error_verdict(exc: BaseException, ex: Extraction | None) -> Verdict:
    detail = f"internal grading error: {type(exc).__name__}: {exc}"[:500]
    answer, rule = (ex.answer, ex.rule) if ex is not None else (None, None)
    return Verdict(False, "error", answer, rule, None, detail)
