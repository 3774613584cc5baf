"""Run one piece of a replay in a forked second process while another runs in this one.

A replay's runs share nothing but their inputs (each sails its own seeded world), so the runs
that need nothing from the engine's (blind, forewarned, hindsight) can go to a second core
while the engine runs here; news, which needs the engine's open alerts at each booking, can
follow them there, taking each booking's alerts as the engine posts them. The child is forked: it starts with this process's scenario,
shipments, playbooks and loaded modules, and nothing is pickled on the way in; only its
results come back. The child first gives HiGHS a fresh thread pool: a forked child inherits
the parent's pool but not its threads, and its first parallel solve would wait for them for
ever (seen with 4 solver threads). Where fork is not available (Windows, macOS's default), or
this process may not have children (a daemonic pool worker), both pieces run here, one after
the other (this process's piece first: the other may take what it posts).
"""

from __future__ import annotations

import multiprocessing
import pickle
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

import highspy

Progress = Callable[[str, int, int], None]  # (run name, step, steps), as twin.replay.run's
Post = Callable[[Any], None]  # this process's piece sends the other one a message
Take = Callable[[], Any]  # the other piece's next message, waiting for it; None after the last
Mine = TypeVar("Mine")
Theirs = TypeVar("Theirs")


def can_fork() -> bool:
    """Whether `alongside` can use a second process here."""
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and not multiprocessing.current_process().daemon
    )


def alongside(
    theirs: Callable[[Progress | None, Take], Theirs],
    mine: Callable[[Progress | None, Post], Mine],
    progress: Progress | None = None,
) -> tuple[Mine, Theirs]:
    """`mine(progress, post)` here and `theirs(progress, take)` in a forked child, at the same
    time; both results. What `mine` posts, `theirs` takes, in order (None once `mine` is done);
    posting never waits. The child's progress is relayed to `progress` whenever `mine` reports
    its own.

    An exception in the child is raised here (as itself where it pickles, else as a
    RuntimeError carrying its traceback); an exception here stops the child.
    """
    if not can_fork():
        posted: list[Any] = []
        result = mine(progress, posted.append)
        posted.append(None)
        return result, theirs(progress, iter(posted).__next__)
    context = multiprocessing.get_context("fork")
    # A queue, not a pipe: its feeder thread buffers what is posted, so `mine` never waits for
    # the child to take it (the child is busy with its own runs until then).
    feed = context.Queue()
    receive, send = context.Pipe(duplex=False)
    child = context.Process(
        target=_serve,
        args=(theirs, send, feed, progress is not None),
        name="twin-replay",
        daemon=True,
    )
    child.start()
    send.close()  # the child holds the only sending end: its exit ends the pipe
    relay = _Relay(receive, progress, child)
    try:
        result = mine(relay.report if progress is not None else None, feed.put)
        feed.put(None)
        return result, relay.result()
    finally:
        if child.is_alive() and not relay.finished:
            child.terminate()
        child.join()
        receive.close()
        # Whatever the child did not take is dropped: nothing waits to flush it.
        feed.cancel_join_thread()
        feed.close()


class _Relay:
    """The parent's end of the pipe: progress messages passed on, the child's result kept."""

    def __init__(self, receive: Connection, progress: Progress | None, child: Any):
        self.receive = receive
        self.progress = progress
        self.child = child
        self.finished = False
        self._outcome: tuple[str, Any] | None = None

    def report(self, name: str, step: int, steps: int) -> None:
        assert self.progress is not None
        self._drain(block=False)
        self.progress(name, step, steps)

    def result(self) -> Any:
        while self._outcome is None:
            self._drain(block=True)
        kind, value = self._outcome
        if kind == "error":
            raise _rebuilt(value)
        return value

    def _drain(self, *, block: bool) -> None:
        while self._outcome is None and (block or self.receive.poll()):
            try:
                message = self.receive.recv()
            except EOFError:
                self.child.join()
                raise RuntimeError(
                    "the replay's second process ended without a result "
                    f"(exit code {self.child.exitcode})"
                ) from None
            if message[0] == "progress":
                if self.progress is not None:
                    self.progress(*message[1:])
                block = False
                continue
            self._outcome = (message[0], message[1])
            self.finished = True


def _serve(
    work: Callable[[Progress | None, Take], Any],
    send: Connection,
    feed: Any,
    relay_progress: bool,
) -> None:
    """The child: run `work` (taking from `feed`), send its progress and then its result (or
    its error)."""

    def report(name: str, step: int, steps: int) -> None:
        send.send(("progress", name, step, steps))

    try:
        highspy._Highs.resetGlobalScheduler(False)  # type: ignore[attr-defined]
        send.send(("done", work(report if relay_progress else None, feed.get)))
    except BaseException as error:  # noqa: BLE001 - every failure goes back to the parent
        send.send(("error", _portable(error)))
    finally:
        send.close()


def _portable(
    error: BaseException,
) -> BaseException | tuple[type[BaseException], tuple[Any, ...], dict[str, Any]]:
    """The error itself if it survives pickling; else its class, arguments and attributes (an
    error whose constructor takes other arguments, as InputError's problems); else a
    RuntimeError with its traceback."""
    for candidate in (error, (type(error), error.args, vars(error))):
        try:
            pickle.loads(pickle.dumps(candidate))
        except Exception:  # noqa: BLE001, S112 - any failure to pickle: try the next form
            continue
        return candidate
    text = "".join(traceback.format_exception(error))
    return RuntimeError(f"the replay's second process failed:\n{text}")


def _rebuilt(
    sent: BaseException | tuple[type[BaseException], tuple[Any, ...], dict[str, Any]],
) -> BaseException:
    """The child's error as `_portable` sent it, whole again."""
    if isinstance(sent, BaseException):
        return sent
    kind, args, attributes = sent
    error = kind.__new__(kind)
    error.args = args
    vars(error).update(attributes)
    return error
