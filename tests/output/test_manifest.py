"""One manifest schema for every command (``docs/manifest.schema.json``): each command's run folder is checked
against it, and its file list against the folder."""

from __future__ import annotations

import jsonschema
import pytest

from support import SCHEMA

def test_the_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_a_manifest_missing_a_field_or_with_an_unknown_one_is_invalid(tmp_path):
    from model.output.runfolder import manifest

    good = manifest("run", arguments={}, inputs={"priors/x.yaml": "0" * 64}, random=None,
                    timings={"total": 1.0}, files=["manifest.json"])
    jsonschema.validate(good, SCHEMA)
    for broken in ({k: v for k, v in good.items() if k != "inputs"}, {**good, "seed": 1},
                   {**good, "inputs": {"priors/x.yaml": "abc"}}, {**good, "command": "frobnicate"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, SCHEMA)
