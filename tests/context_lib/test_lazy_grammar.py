"""jsonschema's IRI formats still check IRIs when their grammar is built late.

Each test runs in a fresh interpreter: the stand-in must go in before jsonschema.
"""

from __future__ import annotations

import json
import subprocess
import sys


def _run(code: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_grammar_is_built_on_the_first_iri_check_with_the_real_verdicts() -> None:
    result = _run(
        "import json, sys\n"
        "from context_lib.lazy_grammar import defer_iri_grammar\n"
        "defer_iri_grammar()\n"
        "import jsonschema\n"
        "before = 'lark' in sys.modules\n"
        "checker = jsonschema.FormatChecker()\n"
        "verdicts = [checker.conforms(v, f) for v, f in [\n"
        "    ('https://example.org/a?b#c', 'iri'), ('http://exa mple.org', 'iri'),\n"
        "    ('/relative/ref', 'iri-reference'), ('no scheme', 'iri')]]\n"
        "print(json.dumps({'before': before, 'after': 'lark' in sys.modules,\n"
        "                  'verdicts': verdicts}))\n"
    )
    assert result == {"before": False, "after": True, "verdicts": [True, False, True, False]}


def test_the_same_verdicts_as_without_the_stand_in() -> None:
    code = (
        "import json, jsonschema\n"
        "checker = jsonschema.FormatChecker()\n"
        "values = ['https://例え.jp/パス', 'http://[::1]:80/', 'urn:uuid:1', 'a b', '%zz', '']\n"
        "print(json.dumps({'v': [[checker.conforms(v, f) for f in ('iri', 'iri-reference')]\n"
        "                        for v in values]}))\n"
    )
    deferred = "from context_lib.lazy_grammar import defer_iri_grammar\ndefer_iri_grammar()\n"
    assert _run(deferred + code) == _run(code)


def test_a_second_call_and_a_call_after_the_real_import_change_nothing() -> None:
    result = _run(
        "import json, sys\n"
        "import rfc3987_syntax\n"
        "real = sys.modules['rfc3987_syntax']\n"
        "from context_lib.lazy_grammar import defer_iri_grammar\n"
        "defer_iri_grammar(); defer_iri_grammar()\n"
        "print(json.dumps({'same': sys.modules['rfc3987_syntax'] is real}))\n"
    )
    assert result == {"same": True}
