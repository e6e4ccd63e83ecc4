"""A lower environment never names prod: every text replica is rewritten or refused, whatever its size."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
import yaml

from .conftest import bucket_name, s3_event
from .test_replicator_objects import make_replicator, outcomes

if TYPE_CHECKING:
    from .conftest import Aws

pytestmark = pytest.mark.filterwarnings("ignore:Couldn't determine the remaining time:UserWarning")
PROD = bucket_name("prod")


def big_config(entries: int) -> dict[str, object]:
    return {"bucket": PROD, "datasets": [{"name": f"ds-{i}", "path": f"s3://{PROD}/raw/{i}/"} for i in range(entries)]}


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_a_document_above_the_in_memory_limit_is_rewritten_not_copied(aws: Aws, fmt: str) -> None:
    # GIVEN a prod document of ~2 MiB that names prod's bucket throughout (the old 1 MiB limit copied it as is)
    document = big_config(25_000)
    body = json.dumps(document) if fmt == "json" else yaml.safe_dump(document)
    key = f"config/big.{fmt}"
    aws.put(key, body)
    assert len(body) > 1024**2
    # WHEN it is replicated
    result = make_replicator(aws).handle(s3_event(key))
    # THEN each replica is prod's document rewritten for it, and names prod nowhere
    assert outcomes(result) == {"dev": "replicated", "staging": "replicated"}
    replica = aws.read(key, "staging")
    assert PROD.encode() not in replica
    parsed = json.loads(replica) if fmt == "json" else yaml.safe_load(replica)
    assert parsed["datasets"][24_999]["path"] == f"s3://{bucket_name('staging')}/raw/24999/"
    assert len(parsed["datasets"]) == 25_000


def test_a_document_above_the_rewrite_limit_is_refused_not_copied(aws: Aws) -> None:
    aws.put("config/huge.json", json.dumps(big_config(100)))
    result = make_replicator(aws, REWRITE_MAX_BYTES="1000").handle(s3_event("config/huge.json"))
    assert outcomes(result) == {"dev": "refused", "staging": "refused"}
    assert not aws.exists("config/huge.json", "dev")
    [letter] = aws.dead_letters()
    assert "above the rewrite limit of 1000 bytes" in letter["responsePayload"]["errorMessage"]


@pytest.mark.parametrize("in_memory", ["1048576", "8"])
def test_a_prod_identifier_hidden_in_json_escapes_is_rewritten_after_decoding(aws: Aws, in_memory: str) -> None:
    # "\u0070rod" is "prod": the raw text never shows the identifier, the decoded string does
    hidden = '{"bucket": "company-data-\\u0070rod-us-east-1-pl01"}'
    aws.put("config/hidden.json", hidden)
    result = make_replicator(aws, REWRITE_IN_MEMORY_BYTES=in_memory).handle(s3_event("config/hidden.json"))
    assert outcomes(result) == {"dev": "replicated", "staging": "replicated"}
    assert json.loads(aws.read("config/hidden.json", "dev"))["bucket"] == bucket_name("dev")


@pytest.mark.parametrize(
    ("key", "body"),
    [
        ("config/app.properties", f"data.bucket={PROD}\nqueue=sqs-tasks-prod-pl01\n"),
        ("config/.env", f"DATA_BUCKET={PROD}\n"),
        ("config/settings.ini", f"[storage]\nbucket = {PROD}\n"),
        ("config/pipeline.toml", f'bucket = "{PROD}"\n'),
        ("config/notes.txt", f"reads from {PROD}\n"),
    ],
)
def test_other_text_configuration_is_rewritten(aws: Aws, key: str, body: str) -> None:
    aws.put(key, body)
    result = make_replicator(aws).handle(s3_event(key))
    assert outcomes(result) == {"dev": "replicated", "staging": "replicated"}
    assert aws.read(key, "dev").decode() == body.replace(PROD, bucket_name("dev")).replace("-prod-pl01", "-dev-pl01")


def test_text_that_is_not_utf8_is_refused(aws: Aws) -> None:
    aws.put("config/latin1.txt", f"bucket={PROD} caf\xe9".encode("latin-1"))
    result = make_replicator(aws).handle(s3_event("config/latin1.txt"))
    assert outcomes(result) == {"dev": "refused", "staging": "refused"}


def test_binary_content_is_copied_as_is(aws: Aws) -> None:
    payload = PROD.encode() + b"\x00\xff"
    aws.put("config/model.bin", payload)
    make_replicator(aws).handle(s3_event("config/model.bin"))
    assert aws.read("config/model.bin", "dev") == payload


def test_a_verbatim_prefix_copies_an_unrewritable_document_and_marks_it(aws: Aws) -> None:
    broken = b'{"bucket": "company-data-prod-us-east-1-pl01", '
    aws.put("config/vendor/broken.json", broken)
    result = make_replicator(aws, VERBATIM_PREFIXES='["config/vendor/"]').handle(s3_event("config/vendor/broken.json"))
    assert outcomes(result) == {"dev": "replicated", "staging": "replicated"}
    assert aws.read("config/vendor/broken.json", "dev") == broken
    head = aws.s3.head_object(Bucket=bucket_name("dev"), Key="config/vendor/broken.json")
    assert head["Metadata"]["replica-verbatim"] == "true"
    assert all("copied verbatim" in n["body"]["reason"] for n in aws.notifications("success"))
