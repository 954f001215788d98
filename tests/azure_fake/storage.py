"""Azure Blob Storage: the blob calls azure-storage-blob makes for uploads, existence checks,
listings and downloads. Blobs live in `cloud.blobs[(account, container)][blob_name]`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from azure_fake.http import Request, Response

if TYPE_CHECKING:
    from azure_fake.cloud import FakeAzure

BLOB_HOST = r"(?P<account>[a-z0-9]+)\.blob\.core\.windows\.net"
LAST_MODIFIED = "Thu, 26 Nov 2026 20:00:00 GMT"


@dataclass
class Blob:
    data: bytes
    metadata: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/octet-stream"

    @property
    def etag(self) -> str:
        return '"0x' + hashlib.md5(self.data).hexdigest()[:16].upper() + '"'

    def headers(self) -> dict[str, str]:
        headers = {
            "ETag": self.etag,
            "Last-Modified": LAST_MODIFIED,
            "x-ms-blob-type": "BlockBlob",
            "Content-Type": self.content_type,
            "Accept-Ranges": "bytes",
        }
        headers.update({f"x-ms-meta-{k}": v for k, v in self.metadata.items()})
        return headers


def sas_token(cloud: FakeAzure) -> str:
    """A SAS query string the fake will accept (the signature is only compared, not computed)."""
    signature = secrets.token_urlsafe(12)
    cloud.sas_signatures.add(signature)
    return f"sv=2023-11-03&sr=c&sp=racwdl&se=2099-01-01T00%3A00%3A00Z&sig={signature}"


def register(cloud: FakeAzure) -> None:
    router = cloud.router
    container_path = r"/(?P<container>[a-z0-9-]+)"
    blob_path = container_path + r"/(?P<blob>.+)"

    def authorized(request: Request) -> bool:
        if request.query.get("sig") in cloud.sas_signatures:
            return True
        # Shared-key requests (from datastore account keys) carry "SharedKey account:signature".
        header = request.headers.get("authorization", "")
        return header.startswith(f"SharedKey {request.params['account']}:")

    def container(request: Request) -> dict[str, Blob]:
        return cloud.blobs.setdefault((request.params["account"], request.params["container"]), {})

    def forbidden() -> Response:
        body = b"<?xml version='1.0'?><Error><Code>AuthenticationFailed</Code></Error>"
        return Response(403, body, {"x-ms-error-code": "AuthenticationFailed"})

    def not_found() -> Response:
        return Response(404, None, {"x-ms-error-code": "BlobNotFound"})

    @router.route("PUT", BLOB_HOST, blob_path)
    def put_blob(request: Request) -> Response:
        if not authorized(request):
            return forbidden()
        blobs, name = container(request), request.params["blob"]
        comp = request.query.get("comp")
        if comp == "block":
            cloud.staged_blocks[(request.params["account"], name, request.query["blockid"])] = (
                request.body
            )
            return Response(201)
        if comp == "blocklist":
            ids = [e.text or "" for e in ElementTree.fromstring(request.body)]
            data = b"".join(
                cloud.staged_blocks.pop((request.params["account"], name, i)) for i in ids
            )
            blobs[name] = Blob(data, metadata(request), content_type(request))
            return Response(201, None, {"ETag": blobs[name].etag, "Last-Modified": LAST_MODIFIED})
        if comp == "metadata":
            if name not in blobs:
                return not_found()
            blobs[name].metadata = metadata(request)
            return Response(200, None, {"ETag": blobs[name].etag})
        if comp is not None:
            raise AssertionError(f"the blob fake does not implement comp={comp}")
        blobs[name] = Blob(request.body, metadata(request), content_type(request))
        return Response(201, None, {"ETag": blobs[name].etag, "Last-Modified": LAST_MODIFIED})

    @router.route("HEAD", BLOB_HOST, blob_path)
    def head_blob(request: Request) -> Response:
        if not authorized(request):
            return forbidden()
        blob = container(request).get(request.params["blob"])
        if blob is None:
            return not_found()
        return Response(200, None, {**blob.headers(), "Content-Length": str(len(blob.data))})

    @router.route("GET", BLOB_HOST, blob_path)
    def get_blob(request: Request) -> Response:
        if not authorized(request):
            return forbidden()
        blob = container(request).get(request.params["blob"])
        if blob is None:
            return not_found()
        data, status, headers = blob.data, 200, blob.headers()
        wanted = request.headers.get("x-ms-range") or request.headers.get("range")
        if wanted:
            start, _, end = wanted.removeprefix("bytes=").partition("-")
            last = min(int(end) if end else len(data) - 1, len(data) - 1)
            headers["Content-Range"] = f"bytes {start}-{last}/{len(data)}"
            data, status = data[int(start) : last + 1], 206
        return Response(status, data, headers)

    @router.route("GET", BLOB_HOST, container_path)
    def list_blobs(request: Request) -> Response:
        if not authorized(request):
            return forbidden()
        if request.query.get("comp") != "list":
            raise AssertionError(f"the blob fake only lists containers, got {request.url}")
        prefix = request.query.get("prefix", "")
        delimiter = request.query.get("delimiter")
        items, prefixes = [], set()
        for name, blob in sorted(container(request).items()):
            if not name.startswith(prefix):
                continue
            rest = name[len(prefix) :]
            if delimiter and delimiter in rest:
                prefixes.add(prefix + rest.split(delimiter)[0] + delimiter)
                continue
            meta = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in blob.metadata.items())
            items.append(
                f"<Blob><Name>{escape(name)}</Name><Properties>"
                f"<Last-Modified>{LAST_MODIFIED}</Last-Modified><Etag>{blob.etag}</Etag>"
                f"<Content-Length>{len(blob.data)}</Content-Length>"
                f"<Content-Type>{blob.content_type}</Content-Type><BlobType>BlockBlob</BlobType>"
                f"</Properties><Metadata>{meta}</Metadata></Blob>"
            )
        items += [f"<BlobPrefix><Name>{escape(p)}</Name></BlobPrefix>" for p in sorted(prefixes)]
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<EnumerationResults ContainerName="{request.params["container"]}">'
            f"<Prefix>{escape(prefix)}</Prefix><Blobs>{''.join(items)}</Blobs><NextMarker/>"
            "</EnumerationResults>"
        )
        return Response(200, body.encode(), {"Content-Type": "application/xml"})


def metadata(request: Request) -> dict[str, str]:
    return {
        k[len("x-ms-meta-") :]: v for k, v in request.headers.items() if k.startswith("x-ms-meta-")
    }


def content_type(request: Request) -> str:
    return request.headers.get("x-ms-blob-content-type", "application/octet-stream")


def blob_names(cloud: FakeAzure, pattern: str) -> list[str]:
    """Every stored blob path `account/container/name` that matches a regex, for assertions."""
    return sorted(
        f"{account}/{container}/{name}"
        for (account, container), blobs in cloud.blobs.items()
        for name in blobs
        if re.search(pattern, name)
    )
