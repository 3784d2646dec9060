"""MicroPython's ``asyncio`` API on virtual time (vclock), for the firmware's VM runs.

A stand-in below aioble and the firmware, like the ``bluetooth`` and ``machine``
stand-ins: the WebAssembly port's own asyncio runs on the browser's event loop (no
``run``, no ``ThreadSafeFlag``) and on the wall clock. This scheduler keeps the
semantics aioble and the firmware rely on -- tasks, cancellation by throwing
``CancelledError`` into the task, ``Event``, ``ThreadSafeFlag`` (one waiter, cleared by
``wait``), ``gather``, ``sleep_ms`` -- and the ESP32's timing (vclock's docstring): a
blocked scheduler wakes at the first FreeRTOS tick after its earliest deadline, or at a
GPIO interrupt.
"""

import sys

import vclock


class CancelledError(BaseException):
    pass


class TimeoutError(Exception):
    pass


_ready = []  # [task, exc or None]
_timers = []  # [t_us, seq, task, token], sorted
_seq = [0]
_cur = [None]


def _park():
    """Token for the current task's next park (a stale wake-up carries an old token)."""
    t = _cur[0]
    t.token = object()
    return t, t.token


def _wake(task, token, exc=None):
    if task.token is not token or task.done_:
        return
    task.token = None
    for i in range(len(_timers)):
        if _timers[i][2] is task:
            _timers.pop(i)
            break
    _ready.append([task, exc])


class Task:
    def __init__(self, coro):
        self.coro = coro
        self.done_ = False
        self.result = None
        self.exc = None
        self.waiters = []
        self.token = None
        self.retrieved = False

    def done(self):
        return self.done_

    def cancel(self):
        if self.done_:
            return False
        if self.token is not None:
            _wake(self, self.token, CancelledError())
        else:  # already queued to run: deliver the cancellation instead
            for r in _ready:
                if r[0] is self:
                    r[1] = CancelledError()
                    return True
            _ready.append([self, CancelledError()])
        return True

    def __iter__(self):
        while not self.done_:
            t, tok = _park()
            self.waiters.append((t, tok))
            yield None
        self.retrieved = True
        if self.exc is not None:
            raise self.exc
        return self.result

    __await__ = __iter__


class _Sleep:
    def __init__(self, us):
        self.us = us

    def __iter__(self):
        if self.us <= 0:
            yield None
            return
        t, tok = _park()
        _seq[0] += 1
        entry = [vclock.now[0] + self.us, _seq[0], t, tok]
        i = len(_timers)
        while i > 0 and (_timers[i - 1][0], _timers[i - 1][1]) > (entry[0], entry[1]):
            i -= 1
        _timers.insert(i, entry)
        yield None

    __await__ = __iter__


class _Yield:
    def __iter__(self):
        _ready.append([_cur[0], None])
        yield None

    __await__ = __iter__


def sleep_ms(ms):
    return _Sleep(int(ms) * 1000) if ms > 0 else _Yield()


def sleep(s):
    return _Sleep(int(s * 1_000_000)) if s > 0 else _Yield()


class Event:
    def __init__(self):
        self.state = False
        self.waiting = []

    def is_set(self):
        return self.state

    def set(self):
        self.state = True
        w, self.waiting = self.waiting, []
        for t, tok in w:
            _wake(t, tok)

    def clear(self):
        self.state = False

    def wait(self):
        return _EventWait(self)


class _EventWait:
    def __init__(self, ev):
        self.ev = ev

    def __iter__(self):
        while not self.ev.state:
            self.ev.waiting.append(_park())
            yield None
        return True

    __await__ = __iter__


class ThreadSafeFlag:
    """Set from an interrupt handler; one task waits; ``wait`` clears it."""

    def __init__(self):
        self.state = 0
        self.waiter = None

    def set(self):
        self.state = 1
        w = self.waiter
        if w is not None:
            self.waiter = None
            _wake(w[0], w[1])

    def clear(self):
        self.state = 0

    def wait(self):
        return _FlagWait(self)


class _FlagWait:
    def __init__(self, flag):
        self.flag = flag

    def __iter__(self):
        while not self.flag.state:
            self.flag.waiter = _park()
            yield None
        self.flag.state = 0

    __await__ = __iter__


class _WaitAny:
    def __init__(self, tasks):
        self.tasks = tasks

    def __iter__(self):
        t, tok = _park()
        for task in self.tasks:
            task.waiters.append((t, tok))
        yield None

    __await__ = __iter__


def create_task(coro):
    t = Task(coro)
    _ready.append([t, None])
    return t


def current_task():
    return _cur[0]


async def gather(*aws, return_exceptions=False):
    tasks = [a if isinstance(a, Task) else create_task(a) for a in aws]
    try:
        while True:
            pending = [t for t in tasks if not t.done_]
            for t in tasks:
                if t.done_ and t.exc is not None and not return_exceptions:
                    t.retrieved = True
                    for o in pending:
                        o.cancel()
                    raise t.exc
            if not pending:
                break
            await _WaitAny(pending)
    except CancelledError:
        for t in tasks:
            t.cancel()
        raise
    for t in tasks:
        t.retrieved = True
    return [t.exc if t.exc is not None else t.result for t in tasks]


async def wait_for_ms(aw, ms):
    task = aw if isinstance(aw, Task) else create_task(aw)
    me = current_task()
    fired = [False]

    async def _timeout():
        await sleep_ms(ms)
        fired[0] = True
        me.cancel()

    timer = create_task(_timeout())
    try:
        return await task
    except CancelledError:
        if fired[0]:
            task.cancel()
            raise TimeoutError() from None
        raise
    finally:
        timer.cancel()


async def wait_for(aw, timeout):
    return await wait_for_ms(aw, int(timeout * 1000))


def _step(task, exc):
    _cur[0] = task
    try:
        if exc is not None:
            task.coro.throw(exc)
        else:
            task.coro.send(None)
    except StopIteration as e:
        task.done_ = True
        task.result = e.value
    except BaseException as e:  # stored, and re-raised to whoever awaits the task
        task.done_ = True
        task.exc = e
    finally:
        _cur[0] = None
    if task.done_:
        w, task.waiters = task.waiters, []
        for t, tok in w:
            _wake(t, tok)
        if task.exc is not None and not w and not isinstance(task.exc, CancelledError):
            task.reported = True
            print("Task exception wasn't retrieved:", repr(task.exc))
            sys.print_exception(task.exc)


def _run_once():
    """Run ready tasks, else sleep (virtually) until the next wake; False when stuck."""
    vclock.run_due()
    if _ready:
        batch = _ready[:]
        del _ready[:]
        for task, exc in batch:
            if not task.done_:
                _step(task, exc)
        return True
    deadline = _timers[0][0] if _timers else None
    wake = vclock.next_wake()
    if deadline is None and wake is None:
        if vclock._events:  # only non-waking events left: the next tick sees them
            vclock.advance_to(vclock.grid(vclock._events[0][0]))
            return True
        return False
    target = vclock.grid(deadline) if deadline is not None else None
    if wake is not None and (target is None or wake < target):
        target = wake
    vclock.advance_to(target)
    while _timers and _timers[0][0] <= vclock.now[0]:
        _, _, task, tok = _timers.pop(0)
        _wake(task, tok)
    return True


def run_until(task, limit_us=None):
    while not task.done_:
        if limit_us is not None and vclock.now[0] > limit_us:
            raise RuntimeError("virtual time limit reached")
        if not _run_once():
            raise RuntimeError("deadlock: every task waits and nothing is scheduled")
    task.retrieved = True
    if task.exc is not None:
        raise task.exc
    return task.result


def run(coro):
    return run_until(create_task(coro))


def new_event_loop():
    """Forget every task and timer (MicroPython: a fresh loop)."""
    for task, _ in _ready:
        task.done_ = True
    for entry in _timers:
        entry[2].done_ = True
    del _ready[:]
    del _timers[:]
    return sys.modules[__name__]


def get_event_loop():
    return sys.modules[__name__]
