"""Any S3-compatible object store (AWS S3, Cloudflare R2, MinIO, Railway buckets) through boto3.

`VIDEO_STORAGE_URL=s3://bucket/prefix`; credentials, region and endpoint come
from the standard AWS variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
`AWS_REGION`, and `AWS_ENDPOINT_URL` for stores other than AWS). Objects are
private (no ACL is ever set); viewers get presigned GET URLs, or
`VIDEO_PUBLIC_BASE_URL/<key>` when a CDN or bucket website fronts the bucket.
When the workers reach the store at an internal address (`http://minio:9000`
in compose), `VIDEO_S3_PRESIGN_ENDPOINT_URL` names the address viewers use; a
signature covers the host, so URLs are signed for that one.
"""

from __future__ import annotations

import base64
import hashlib
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from worker.db.models import utcnow
from worker.errors import StorageUnavailable
from worker.storage.base import MintedUrl
from worker.storage.keys import CACHE_CONTROL, content_type

#: Short timeouts and one SDK retry: Celery's retry (with backoff) is the real one.
_CLIENT_CONFIG = Config(
    connect_timeout=5, read_timeout=30, retries={"max_attempts": 2, "mode": "standard"}, signature_version="s3v4"
)
#: Presigning needs a region; S3-compatible stores accept this one.
DEFAULT_REGION = "us-east-1"


class S3Store:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        public_base_url: str = "",
        url_ttl_s: int = 604_800,
        presign_endpoint_url: str = "",
        client=None,
    ) -> None:
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.public_base_url, self.url_ttl_s = public_base_url, url_ttl_s
        self.presign_endpoint_url = presign_endpoint_url
        self._client, self._presigner = client, None

    @property
    def urls_expire(self) -> bool:
        return not self.public_base_url

    @classmethod
    def from_url(cls, url: str, **options) -> S3Store:
        parts = urlsplit(url)
        return cls(parts.netloc, parts.path, **options)

    @property
    def client(self):
        if self._client is None:
            self._client = boto3.client("s3", region_name=_region(), config=_CLIENT_CONFIG)
        return self._client

    @property
    def presigner(self):
        """The client that signs viewers' URLs: the workers' own, unless viewers reach the store elsewhere."""
        if not self.presign_endpoint_url:
            return self.client
        if self._presigner is None:
            self._presigner = boto3.client(
                "s3", region_name=_region(), config=_CLIENT_CONFIG, endpoint_url=self.presign_endpoint_url
            )
        return self._presigner

    def object_name(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, source: Path, key: str, sha256: str) -> None:
        name, size = self.object_name(key), source.stat().st_size
        try:
            if self._verified(name, size, sha256):
                return  # a re-delivered job: the object is there already
            with source.open("rb") as body:
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=name,
                    Body=body,
                    ContentType=content_type(key),
                    CacheControl=CACHE_CONTROL,
                    Metadata={"sha256": sha256},
                    ContentMD5=_md5_base64(source),
                )
            if not self._verified(name, size, sha256):
                raise StorageUnavailable(f"object {key} did not verify after upload")
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable(f"could not store {key} in the object store: {type(exc).__name__}") from exc

    def url(self, key: str) -> MintedUrl:
        name = self.object_name(key)
        if self.public_base_url:
            return MintedUrl(f"{self.public_base_url}/{name}")
        url = self.presigner.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": name}, ExpiresIn=self.url_ttl_s
        )
        return MintedUrl(url, utcnow() + timedelta(seconds=self.url_ttl_s))

    def _verified(self, name: str, size: int, sha256: str) -> bool:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return head["ContentLength"] == size and head.get("Metadata", {}).get("sha256") == sha256


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def _md5_base64(path: Path) -> str:
    """Content-MD5 makes the store itself reject a body damaged on the way."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return base64.b64encode(digest.digest()).decode()
