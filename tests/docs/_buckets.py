"""Named, empty buckets on the S3 and GCS emulators, for samples that name their bucket."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

import botocore.session


def _request(url: str, method: str = "GET", body: bytes | None = None) -> bytes:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        data: bytes = response.read()
        return data


def empty_s3_bucket(endpoint: str, name: str) -> None:
    """Create the bucket on moto, or delete what an earlier sample left in it."""
    s3 = botocore.session.get_session().create_client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    try:
        try:
            s3.create_bucket(Bucket=name)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        for item in s3.list_objects_v2(Bucket=name).get("Contents", []):
            s3.delete_object(Bucket=name, Key=item["Key"])
    finally:
        s3.close()


def empty_gcs_bucket(url: str, name: str) -> None:
    """Create the bucket on fake-gcs-server or delete what it holds."""
    try:
        _request(f"{url}/storage/v1/b?project=doc-test", "POST", json.dumps({"name": name}).encode())
    except urllib.error.HTTPError as exc:
        if exc.code != 409:
            raise
    listing = json.loads(_request(f"{url}/storage/v1/b/{name}/o"))
    for item in listing.get("items", []):
        _request(f"{url}/storage/v1/b/{name}/o/{urllib.parse.quote(item['name'], safe='')}", "DELETE")
