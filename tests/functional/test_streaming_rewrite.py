"""The streaming rewrite gives what the in-memory rewrite gives, for any chunking, in bounded memory."""

from __future__ import annotations

import json
import tracemalloc
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from pipeline_functions.exceptions import RewriteError, UnparseableDocumentError
from pipeline_functions.shared import streaming_json
from pipeline_functions.shared.rewrite import Rewriter, content_format, dump_document, parse_document
from pipeline_functions.shared.streaming import find_identifiers, first_stream_difference, rewrite_chunks

if TYPE_CHECKING:
    from collections.abc import Iterator

PROD_BUCKET = "company-data-prod-us-east-1-pl01"
DEV_BUCKET = "company-data-dev-us-east-1-pl01"
REPLACEMENTS = [(PROD_BUCKET, DEV_BUCKET), ("-prod-pl01", "-dev-pl01")]
OVERLAY = {"logging": {"level": "DEBUG", "sinks": {"stdout": True}}, "environment": "dev", "alarms": []}
REWRITER = Rewriter(REPLACEMENTS, OVERLAY)
PLAIN = Rewriter(REPLACEMENTS, {})
CHUNK_SIZES = (1, 7, 64 * 1024)

JSON_DOCUMENTS = {
    "nested": {
        "service": "orders",
        "bucket": PROD_BUCKET,
        "tables": [
            {"name": f"ddb-orders-prod-pl01-{i}", "arn": f"arn:aws:s3:::{PROD_BUCKET}/raw/{i}", "shards": i}
            for i in range(5)
        ],
        "logging": {"level": "INFO", "sinks": {"file": "/var/log/x", "stdout": False}, "retention": 7},
        "environment": "prod",
    },
    "unicode and escapes": (
        '{"t\\u00e9am": "donn\\u00e9es \\u2603 \\ud83d\\ude00", "path": "s3:\\/\\/' + PROD_BUCKET + '\\/x",'
        ' "quote": "say \\"' + PROD_BUCKET + '\\"", "nl": "a\\nb", "h\u00e9": "\u00e9\u2603\U0001f600"}'
    ),
    "numbers": '{"big": 123456789012345678901234567890, "dec": 1.10000000000000000001, "exp": 1e-7,'
    ' "neg": -0.0, "int": -42, "account": 123456789012, "list": [0, 1.5, 2E+3, true, false, null]}',
    "not a mapping": [PROD_BUCKET, {"k-prod-pl01": 1}, 3],
    "a string": json.dumps(PROD_BUCKET),
    "empty": {},
    "overlay keys present but not mappings": {"logging": "file", "alarms": [{"name": "x"}], "environment": None},
    "duplicate keys": '{"logging": {"level": 1}, "a": 1, "logging": {"other": 2}}',
}


def _text(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document, indent=2, ensure_ascii=False)


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    return (data[i : i + size] for i in range(0, len(data), size))


def rewritten(data: bytes, fmt: str, rewriter: Rewriter = REWRITER, size: int = 64 * 1024) -> bytes:
    return b"".join(rewrite_chunks(chunked(data, size), fmt, rewriter, "s3://dev/object"))


def ordered(value: Any) -> str:
    """Values with their key order, so equality also checks that the order is the in-memory path's."""
    return json.dumps(value, default=repr, ensure_ascii=False)


@pytest.mark.parametrize("size", CHUNK_SIZES)
@pytest.mark.parametrize("name", JSON_DOCUMENTS)
def test_json_rewrite_equals_the_in_memory_rewrite(name: str, size: int) -> None:
    data = _text(JSON_DOCUMENTS[name]).encode("utf-8")
    expected = REWRITER.document(parse_document(data, "json"))

    output = rewritten(data, "json", size=size)

    assert ordered(json.loads(output)) == ordered(expected)
    assert PROD_BUCKET not in json.loads(output.decode("utf-8")).__repr__()


@pytest.mark.parametrize("window", [16, 64, 1024])
def test_json_containers_longer_than_the_window_are_walked_with_the_same_result(
    window: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(streaming_json, "WINDOW", window)
    for name, document in JSON_DOCUMENTS.items():
        data = _text(document).encode("utf-8")
        output = rewritten(data, "json", size=5)
        assert ordered(json.loads(output)) == ordered(REWRITER.document(parse_document(data, "json"))), name


def test_json_numbers_and_layout_are_kept_as_prod_wrote_them() -> None:
    data = _text(JSON_DOCUMENTS["numbers"]).encode()

    output = rewritten(data, "json", PLAIN).decode()

    assert output == data.decode()  # nothing names prod: the replica is byte for byte the same
    assert "123456789012345678901234567890" in output
    assert "1.10000000000000000001" in output


def test_json_overlay_merges_nested_and_appends_new_keys_at_the_end() -> None:
    data = json.dumps({"environment": "prod", "logging": {"sinks": {"file": "x"}, "retention": 7}, "z": 1}).encode()

    result = json.loads(rewritten(data, "json", size=3))

    assert list(result) == ["environment", "logging", "z", "alarms"]
    assert result["environment"] == "dev"
    assert result["logging"] == {"sinks": {"file": "x", "stdout": True}, "retention": 7, "level": "DEBUG"}
    assert list(result["logging"]) == ["sinks", "retention", "level"]


def test_json_top_level_that_is_not_a_mapping_gets_no_overlay() -> None:
    data = json.dumps([{"environment": "prod"}]).encode()

    assert json.loads(rewritten(data, "json")) == [{"environment": "prod"}]


def test_json_identifier_written_with_escapes_is_rewritten_like_the_in_memory_path() -> None:
    data = b'{"b": "\\u0063ompany-data-prod-us-east-1-pl01", "k\\u002dprod-pl01": 1}'

    result = json.loads(rewritten(data, "json", PLAIN, size=1))

    assert result == {"b": DEV_BUCKET, "k-dev-pl01": 1}


@pytest.mark.parametrize(
    ("fmt", "data"),
    [
        ("json", b'{"old": "\\u006cegacy-bucket/x"}'),
        ("json", b'{"\\u006cegacy-bucket": 1}'),
        ("yaml", b'old: "\\x6cegacy-bucket/x"\n'),
        ("text", b"old=legacy-bucket/x\n"),
    ],
)
def test_leftover_identifiers_after_rewriting_raise_rewrite_error(fmt: str, data: bytes) -> None:
    # The second replacement brings the prod bucket back: the replica would name prod.
    rewriter = Rewriter([(PROD_BUCKET, DEV_BUCKET), ("legacy-bucket", PROD_BUCKET)], {})

    with pytest.raises(RewriteError, match=rf"s3://dev/object still names source identifiers \['{PROD_BUCKET}'\]"):
        rewritten(data, fmt, rewriter, size=4)


def test_an_overlay_naming_prod_raises_rewrite_error() -> None:
    rewriter = Rewriter(REPLACEMENTS, {"bucket": PROD_BUCKET})

    with pytest.raises(RewriteError, match=PROD_BUCKET):
        rewritten(b'{"a": 1}', "json", rewriter)


@pytest.mark.parametrize(
    "data",
    [
        b'{"a": 1,}',
        b'{"a": tru}',
        b'{"a": [1, 2',
        b'{"a": 1} {"b": 2}',
        b'{"a": "x\ny"}',
        b'{"a" 1}',
        b"",
        b'{"a": "\xff"}',
        b"\xef\xbb\xbf{}",
    ],
)
def test_invalid_json_raises_unparseable(data: bytes) -> None:
    with pytest.raises(UnparseableDocumentError):
        rewritten(data, "json", size=3)


YAML_DOCUMENTS = {
    "config with comments": f"""# orders service
service: orders   # owner: data team
bucket: {PROD_BUCKET}
environment: prod
logging:
  level: INFO
  sinks: {{file: /var/log/x, stdout: false}}
tables:
  - name: ddb-orders-prod-pl01
    arn: "arn:aws:s3:::{PROD_BUCKET}/raw"
    shards: 12345678901234567890
    created: 2024-01-01
    ratio: 0.25
    description: |
      Loaded from {PROD_BUCKET}
      nightly
  - name: 'ddb-items-prod-pl01'
    enabled: yes
""",
    "anchors and merge keys": f"""defaults: &defaults
  bucket: {PROD_BUCKET}
  logging: {{level: WARN, retention: 3}}
jobs:
  - <<: *defaults
    name: a
  - *defaults
logging: *defaults
""",
    "top-level merge key": """base: &base
  logging: {retention: 9}
  environment: prod
<<: *base
other: 1
""",
    "unicode and double-quoted escapes": 'team: "donn\\xe9es \\u2603"\npath: "\\x63ompany-data-prod-us-east-1-pl01"\n'
    "h\u00e9: \u00e9\u2603\U0001f600\n",
    "ordered map and set": f"order: !!omap [{{a: {PROD_BUCKET}}}, {{b: 2}}]\nmembers: !!set {{{PROD_BUCKET}: null}}\n",
    "flow mapping": "{environment: prod, logging: {level: INFO}, tail: x,}",
    "not a mapping": f"- {PROD_BUCKET}\n- k-prod-pl01: 1\n",
    "empty": "",
    "keep chomping at the end": "notes: |+\n  kept\n\n",
    "overlay key with an empty value": "logging:\nenvironment:\n",
}


@pytest.mark.parametrize("size", CHUNK_SIZES)
@pytest.mark.parametrize("name", YAML_DOCUMENTS)
def test_yaml_rewrite_equals_the_in_memory_rewrite(name: str, size: int) -> None:
    data = YAML_DOCUMENTS[name].encode("utf-8")
    expected = REWRITER.document(parse_document(data, "yaml"))

    output = rewritten(data, "yaml", size=size)

    assert ordered(yaml.safe_load(output)) == ordered(expected)
    assert REWRITER.leftovers(yaml.safe_load(output)) == []


def test_yaml_keeps_comments_and_layout_and_quotes_only_what_changed() -> None:
    output = rewritten(YAML_DOCUMENTS["config with comments"].encode(), "yaml", PLAIN).decode()

    assert output.startswith("# orders service\nservice: orders   # owner: data team\n")
    assert f'bucket: "{DEV_BUCKET}"\n' in output
    assert "shards: 12345678901234567890\n" in output


def test_yaml_overlay_merges_into_what_a_merge_key_brings() -> None:
    result = yaml.safe_load(rewritten(YAML_DOCUMENTS["top-level merge key"].encode(), "yaml"))

    assert result["logging"] == {"retention": 9, "level": "DEBUG", "sinks": {"stdout": True}}
    assert result["environment"] == "dev"


@pytest.mark.parametrize(
    "data",
    [
        b"a: [1, 2\n",
        b"a: 1\n---\nb: 2\n",
        b"a: !!python/object:os.system x\n",
        b"a: !custom x\n",
        b"a: &x 1\nb: &x 2\n",
        b"a: *nowhere\n",
        b"? [a, b]\n: 1\n",
        b"a: =\n",
        b"a: !!int abc\n",
        b"a: 2024-13-45\n",
        b"<<: 1\n",
        b"a: \xff\n",
    ],
)
def test_invalid_yaml_raises_unparseable(data: bytes) -> None:
    with pytest.raises(UnparseableDocumentError):
        rewritten(data, "yaml", size=3)


def test_more_than_one_yaml_document_is_refused_by_name() -> None:
    with pytest.raises(UnparseableDocumentError, match="more than one document"):
        rewritten(b"a: 1\n---\nb: 2\n", "yaml")


TEXT = f"""# settings
bucket={PROD_BUCKET}
table = ddb-config-prod-pl01  ; {PROD_BUCKET}{PROD_BUCKET}
caf\u00e9=\u2603
"""


def test_text_split_at_every_position_gives_the_in_memory_result() -> None:
    data = TEXT.encode("utf-8")
    expected = PLAIN.text(TEXT).encode("utf-8")

    for cut in range(len(data) + 1):
        assert b"".join(rewrite_chunks([data[:cut], data[cut:]], "text", PLAIN, "x")) == expected, cut
    for size in CHUNK_SIZES:
        assert rewritten(data, "text", PLAIN, size=size) == expected


def test_text_replacements_are_sequential_and_overlapping_sources_match_str_replace() -> None:
    rewriter = Rewriter([("aa", "b"), ("bb", "c"), ("aba", "x")], {})
    text = "aaaaaaaaa abaaba aab"
    data = text.encode()

    for cut in range(len(data) + 1):
        assert b"".join(rewrite_chunks([data[:cut], data[cut:]], "text", rewriter, "x")).decode() == rewriter.text(text)
    assert rewritten(data, "text", rewriter, size=1).decode() == rewriter.text(text)


def test_text_that_is_not_utf8_is_unparseable() -> None:
    with pytest.raises(UnparseableDocumentError, match="not UTF-8"):
        rewritten(b"key=\xff\xfe", "text", PLAIN, size=1)


@pytest.mark.parametrize(
    ("replica", "difference"),
    [
        ('{"environment": "dev", "bucket": "other", "list": [1, 2]}', "$.bucket is 'other', expected 'B'"),
        ('{"environment": "dev", "list": [1, 2]}', "$.bucket missing in replica"),
        ('{"environment": "dev", "bucket": "B", "list": [1, 2], "extra": 1}', "$.extra only in replica"),
        ('{"environment": "dev", "bucket": "B", "list": [1, 2, 3]}', "$.list[2] only in replica"),
        ('{"environment": "dev", "bucket": "B", "list": [1]}', "$.list[1] missing in replica"),
        ('{"environment": "dev", "bucket": "B", "list": [1, {"a": 1}]}', "$.list[1] is a mapping, expected 2"),
        ('{"environment": "dev", "bucket": ', "replica is not valid json: "),
    ],
)
def test_first_stream_difference_json(replica: str, difference: str) -> None:
    rewriter = Rewriter([("P", "B")], {"environment": "dev"})
    prod = b'{"environment": "prod", "bucket": "P", "list": [1, 2]}'

    found = first_stream_difference(chunked(prod, 4), chunked(replica.encode(), 3), "json", rewriter)

    assert found is not None
    assert found.startswith(difference), found


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_first_stream_difference_is_none_for_replicas_of_either_path(fmt: str) -> None:
    documents = JSON_DOCUMENTS if fmt == "json" else YAML_DOCUMENTS
    for name, document in documents.items():
        if name == "duplicate keys":
            continue  # the in-memory path drops the repeated key; the stream keeps it (both parse equal)
        prod = _text(document).encode()
        streamed = rewritten(prod, fmt)
        in_memory = dump_document(REWRITER.document(parse_document(prod, fmt)), fmt)
        assert first_stream_difference(chunked(prod, 7), chunked(streamed, 5), fmt, REWRITER) is None, name
        if "merge key" not in name and "anchors" not in name:  # "<<" is compared as written, not flattened
            assert first_stream_difference([prod], [in_memory], fmt, REWRITER) is None, name


def test_first_stream_difference_yaml_and_text() -> None:
    prod = b"a: {b: [1, 2, 3]}\nc: x\n"
    assert first_stream_difference([prod], [b"a: {b: [1, 2, 4]}\nc: x\n"], "yaml", PLAIN) == "$.a.b[2] is 4, expected 3"
    two = b"a: {b: [1, 2, 3]}\nc: x\n---\nd: 1\n"
    assert first_stream_difference([prod], [two], "yaml", PLAIN).startswith("replica is not valid yaml: ")

    text = TEXT.encode()
    replica = PLAIN.text(TEXT).replace("ddb-config", "ddb-konfig").encode()
    assert first_stream_difference(chunked(text, 3), [replica], "text", PLAIN) == (
        "line 3, column 13: replica has 'konfig-dev-pl01  ; company-data-dev-us-e...', "
        "expected 'config-dev-pl01  ; company-data-dev-us-e...'"
    )
    assert first_stream_difference(chunked(text, 3), [PLAIN.text(TEXT).encode()], "text", PLAIN) is None


def test_first_stream_difference_raises_when_prod_is_unparseable_or_cannot_be_rewritten() -> None:
    with pytest.raises(UnparseableDocumentError):
        first_stream_difference([b'{"a": 1, "b": '], [b'{"a": 2}'], "json", PLAIN)  # even after a difference
    back_to_prod = Rewriter([(PROD_BUCKET, DEV_BUCKET), ("legacy-bucket", PROD_BUCKET)], {})
    with pytest.raises(RewriteError, match=PROD_BUCKET):
        first_stream_difference([b"a: legacy-bucket\n"], [b"a: legacy-bucket\n"], "yaml", back_to_prod)


IDENTIFIERS = [PROD_BUCKET, "-prod-pl01", "123456789012", "absent"]


@pytest.mark.parametrize(
    ("fmt", "data", "expected"),
    [
        ("json", b'{"b": "\\u0063ompany-data-prod-us-east-1-pl01", "account": 123456789012}', [PROD_BUCKET]),
        ("json", b'{"b": "x-prod-pl01", ', ["-prod-pl01"]),  # does not parse: raw text scan
        ("yaml", b'k: "\\x63ompany-data-prod-us-east-1-pl01"\nt-prod-pl01: 1\n', [PROD_BUCKET, "-prod-pl01"]),
        ("text", b"account=123456789012\nbucket=company-data-prod-us-east-1-pl01\n", [PROD_BUCKET, "123456789012"]),
        (None, b"\x00\xffcompany-data-prod-us-east-1-pl01\x00-prod-pl01", [PROD_BUCKET, "-prod-pl01"]),
    ],
)
def test_find_identifiers(fmt: str | None, data: bytes, expected: list[str]) -> None:
    assert find_identifiers(chunked(data, 3), fmt, IDENTIFIERS) == sorted(expected)
    assert find_identifiers([data], fmt, IDENTIFIERS) == sorted(expected)


def test_content_format_by_suffix() -> None:
    assert [content_format(k) for k in ("a.JSON", "b.yml", "c.Yaml", "d.toml", "e.ini", "f.bin")] == [
        "json",
        "yaml",
        "yaml",
        "text",
        "text",
        None,
    ]
    assert [content_format(k) for k in (".env", "config/.env", "app.env", "config/env", "x.txt.gz")] == [
        "text",
        "text",
        "text",
        None,
        None,
    ]


def _big_json(size: int) -> Iterator[bytes]:
    """A JSON object of about ``size`` bytes naming prod in every record, generated chunk by chunk."""
    record = json.dumps(
        {
            "name": "ddb-orders-prod-pl01",
            "bucket": PROD_BUCKET,
            "size": 123456789012345678901,
            "description": "Orders loaded nightly from the raw zone; " * 24,
        }
    ).encode()
    block = b",".join([record] * 64)
    yield b'{"environment": "prod", "tables": [' + block
    for _ in range(size // len(block)):
        yield b"," + block
    yield b"]}"


def test_memory_stays_flat_for_a_32_mib_json_document() -> None:
    size = 32 * 1024 * 1024
    written = 0
    tracemalloc.start()
    try:
        for chunk in rewrite_chunks(_big_json(size), "json", REWRITER, "big"):
            written += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert written > size * 0.9
    assert peak < 8 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"
