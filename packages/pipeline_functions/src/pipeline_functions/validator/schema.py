"""JSON Schema checks through Powertools' validation utility.

Compiling a schema is the expensive part, so records are validated in batches against one array schema
(one compile per batch); only a failing batch is re-checked record by record to name each bad record.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.validation import SchemaValidationError, validate
from aws_lambda_powertools.utilities.validation.exceptions import InvalidSchemaFormatError
from botocore.exceptions import ClientError

from pipeline_functions.validator.exceptions import InvalidFileError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from mypy_boto3_s3 import S3Client

BATCH_SIZE = 500
MAX_ERRORS = 20


def schema_key(dataset: str) -> str:
    return f"schemas/{dataset}.json"


def load_schema(s3: S3Client, bucket: str, dataset: str) -> dict[str, Any]:
    key = schema_key(dataset)
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise InvalidFileError(f"no schema for dataset {dataset!r}: s3://{bucket}/{key} does not exist") from exc
        raise
    try:
        schema = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidFileError(f"schema s3://{bucket}/{key} is not valid JSON: {exc}") from exc
    if not isinstance(schema, dict):
        raise InvalidFileError(f"schema s3://{bucket}/{key} must be a JSON object")
    return schema


def _array_schema(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The record schema wrapped for a list; None when refs or ids make wrapping unsafe."""
    if "$id" in schema or "id" in schema:
        return None
    wrapper: dict[str, Any] = {"type": "array", "items": schema}
    for shared in ("$schema", "definitions", "$defs"):
        if shared in schema:
            wrapper[shared] = schema[shared]  # '#/definitions/x' refs resolve against the document root
    return wrapper


class RecordValidator:
    """Collects up to MAX_ERRORS messages naming the record (line or element number) and the rule broken."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self._schema = schema
        self._array = _array_schema(schema)
        self._pending: list[tuple[int, Any]] = []
        self.errors: list[str] = []
        self.error_count = 0
        self.records = 0

    def add_all(self, records: Iterable[tuple[int, Any]]) -> None:
        for position, record in records:
            self.records += 1
            self._pending.append((position, record))
            if len(self._pending) >= BATCH_SIZE:
                self.flush()
        self.flush()

    def flush(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        if self._array is not None:
            try:
                validate(event=[record for _, record in batch], schema=self._array)
                return
            except SchemaValidationError:
                pass  # find which records broke it, below
            except InvalidSchemaFormatError as exc:
                raise InvalidFileError(f"schema is not a valid JSON Schema: {exc}") from exc
        for position, record in batch:
            try:
                validate(event=record, schema=self._schema)
            except SchemaValidationError as exc:
                self.error_count += 1
                if len(self.errors) < MAX_ERRORS:
                    self.errors.append(f"record {position}: {exc.validation_message} ({exc.name})")
            except InvalidSchemaFormatError as exc:
                raise InvalidFileError(f"schema is not a valid JSON Schema: {exc}") from exc
