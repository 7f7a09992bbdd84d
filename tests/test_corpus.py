"""The real-world corpus (../shared/corpus, 3,362 files) lints without a crash."""

from __future__ import annotations

import json
from pathlib import Path

from migration_lint.cli import main


def test_whole_corpus_lints_without_a_traceback(corpus: Path, capsys):
    code = main([str(corpus), "--format", "json"])
    out, err = capsys.readouterr()
    assert code in (0, 1)
    assert err == ""
    data = json.loads(out)
    files = data["files"]
    assert len(files) > 2500
    internal = [(f["path"], x["message"]) for f in files for x in f["findings"] if "internal error" in x["message"]]
    assert internal == []
    unparsable = [f for f in files if any(x["rule"] == "parse-error" for x in f["findings"])]
    # the templated supabase/auth files and one crates.io file with a missing semicolon
    assert all(f["risk"] == "HIGH" for f in unparsable)
    assert {Path(f["path"]).parts[-2] for f in unparsable if "supabase__auth" in f["path"]} == {"supabase__auth"}
    for f in files:
        for x in f["findings"]:
            assert x["line"] >= 1 and x["column"] >= 1 and x["url"]
        for s in f["statements"]:
            assert s["risk"] in ("LOW", "MEDIUM", "HIGH")
