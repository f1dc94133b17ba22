"""Schemathesis hooks for scripts/fuzz (loaded through SCHEMATHESIS_HOOKS).

CPython before 3.11.8 keeps the AST constructor's recursion counter in state
shared by every thread (python/cpython#106905). When two threads run
``ast.parse`` at once and a garbage collection runs Python code between them,
one of them fails with ``SystemError: AST constructor recursion depth
mismatch``. Hypothesis parses source to describe lambdas, and Schemathesis runs
``--workers`` threads, so the CI fuzz run failed that way once on this
machine's Python 3.11.7 (no request to the app was involved). Parsing one at a
time removes the race; parsing is rare, so the lock costs nothing measurable.
"""

import ast
import sys
import threading

if sys.version_info < (3, 11, 8):
    _parse = ast.parse
    _parse_lock = threading.Lock()

    def _serialized_parse(*args, **kwargs):
        with _parse_lock:
            return _parse(*args, **kwargs)

    ast.parse = _serialized_parse
