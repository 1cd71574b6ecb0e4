"""The Lambda code artefact: a deterministic zip, stored in S3 under its own SHA-256.

The zip holds the part of this package the handlers import plus pure-python dependencies
copied from the running interpreter's site-packages. Entries are sorted and carry a fixed
timestamp and mode, so the same code gives the same bytes, the same key, an unchanged
template, and therefore no Lambda update (the seed re-uploaded and updated both functions on
every deploy). Compiled extensions and pydantic are refused: the Lambda runtime may differ
from this machine, and the handlers must not need the spec models.

``cached_zip`` builds it once per content: the zip is kept in ``$RUNNERFLEET_HOME/cache``
under the fingerprint of its entries (every name and every byte), so a deploy of unchanged
code reads it back instead of compressing a megabyte again.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runnerfleet.aws.awscall import aws_call, error_code, translate
from runnerfleet.errors import AwsError, RunnerfleetError
from runnerfleet.files import runnerfleet_home

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # src/runnerfleet
# Parts of runnerfleet the handlers use; the rest (envfile, stack, sim, cli, sandbox) stays out.
PACKAGE_PARTS = (
    "__init__.py",
    "errors.py",
    "py.typed",
    "handlers",
    "ops",
    "scaling",
    "drain",
    "gitlab",
    "aws",
    "ops",
)
# Operator-side modules: the operator's use cases import the environment-file models
# (pydantic); the stack adapters serve only them.
EXCLUDED_PARTS = (
    "aws/access_teardown.py",
    "aws/artifacts.py",
    "aws/cloudformation.py",
    "aws/preview.py",
    "aws/organization.py",  # the StackSet rollout: operator side
    "aws/stacksets.py",
    "aws/stackstatus.py",
    "ops/access_",  # access deploy and destroy: operator side, import the access spec
    "ops/changeset.py",
    "ops/deploy.py",
    "ops/destroy.py",
    "ops/doctor",
    "ops/drain_fleet.py",
    "ops/fleet.py",
    "ops/fleet_view.py",
    "ops/image.py",  # the image stack's deploy: operator side, imports the spec models
    "ops/why.py",
    "ops/parallel.py",
    "ops/ports.py",
    "ops/registrations.py",
    "ops/restore.py",
    "ops/runners.py",
    "ops/stackset",  # the StackSet rollout and its plan: operator side, like deploy
    "ops/terminate.py",
)
DEPENDENCIES = (
    "httpx",
    "httpcore",
    "h11",
    "anyio",
    "idna",
    "certifi",
    "prometheus_client",
    "croniter",
    "python-dateutil",
    "six",
    "typing_extensions",
)
FORBIDDEN_DISTRIBUTIONS = ("pydantic", "pydantic-core")
COMPILED_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
ZIP_FORMAT = "zip-1 deflate-6 0644 1980"  # in the cache's fingerprint: change it with the layout
CACHE_GLOB = "lambda-*.zip"


@dataclass(frozen=True)
class Artefact:
    """The built zip and where it lives (or will live) in S3."""

    data: bytes
    sha256: str
    bucket: str
    key: str

    @property
    def size(self) -> int:
        return len(self.data)


def build_zip(
    root: Path = PACKAGE_ROOT, dependencies: tuple[str, ...] = DEPENDENCIES
) -> tuple[bytes, str]:
    """The deterministic zip and its SHA-256 (hex)."""
    return _zip(_entries(root, dependencies))


def cached_zip(
    root: Path = PACKAGE_ROOT,
    dependencies: tuple[str, ...] = DEPENDENCIES,
    cache_dir: Path | None = None,
) -> tuple[bytes, str]:
    """``build_zip``'s result, read back from the cache when its entries are unchanged.

    A cached zip is used only when its bytes still have the SHA-256 it was stored with; a
    cache that cannot be read or written is skipped (the zip is built as without one)."""
    entries = _entries(root, dependencies)
    folder = runnerfleet_home() / "cache" if cache_dir is None else cache_dir
    path = folder / f"lambda-{_fingerprint(entries)}.zip"
    found = _read_cached(path)
    if found is not None:
        return found
    data, digest = _zip(entries)
    _keep(path, data, digest)
    return data, digest


def _entries(root: Path, dependencies: tuple[str, ...]) -> dict[str, bytes]:
    files = dict(_package_files(root))
    for dist in dependencies:
        files.update(_distribution_files(dist))
    return {name: files[name].read_bytes() for name in sorted(files)}


def _zip(entries: dict[str, bytes]) -> tuple[bytes, str]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for arcname, content in entries.items():
            info = zipfile.ZipInfo(arcname, date_time=FIXED_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, content)
    data = buffer.getvalue()
    return data, hashlib.sha256(data).hexdigest()


def _fingerprint(entries: dict[str, bytes]) -> str:
    digest = hashlib.sha256(ZIP_FORMAT.encode())
    for name, content in entries.items():
        digest.update(b"%d:%s%d:" % (len(name), name.encode(), len(content)))
        digest.update(content)
    return digest.hexdigest()


def _read_cached(path: Path) -> tuple[bytes, str] | None:
    try:
        data = path.read_bytes()
        digest = path.with_suffix(".sha256").read_text(encoding="ascii").strip()
    except OSError:
        return None
    return (data, digest) if hashlib.sha256(data).hexdigest() == digest else None


def _keep(path: Path, data: bytes, digest: str) -> None:
    """Store the zip (and only the latest one): written aside, then renamed into place."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob(CACHE_GLOB):
            if old != path:
                old.unlink(missing_ok=True)
                old.with_suffix(".sha256").unlink(missing_ok=True)
        for target, payload in ((path, data), (path.with_suffix(".sha256"), digest.encode())):
            aside = target.with_name(f"{target.name}.{os.getpid()}.tmp")
            aside.write_bytes(payload)
            os.replace(aside, target)
    except OSError:
        return  # no cache this time: the next deploy builds the zip again


def artefact_for(bucket: str, prefix: str, root: Path = PACKAGE_ROOT) -> Artefact:
    data, digest = build_zip(root)
    return Artefact(data=data, sha256=digest, bucket=bucket, key=artefact_key(prefix, digest))


def artefact_key(prefix: str, digest: str) -> str:
    base = prefix if not prefix or prefix.endswith("/") else prefix + "/"
    return f"{base}lambda/runnerfleet-{digest}.zip"


def _package_files(root: Path) -> Iterator[tuple[str, Path]]:
    for part in PACKAGE_PARTS:
        path = root / part
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            rel = file.relative_to(root).as_posix()
            if _wanted(file) and not rel.startswith(EXCLUDED_PARTS):
                yield f"runnerfleet/{rel}", file


def _wanted(file: Path) -> bool:
    return file.is_file() and "__pycache__" not in file.parts and file.suffix != ".pyc"


def _distribution_files(name: str) -> Iterator[tuple[str, Path]]:
    if name.lower() in FORBIDDEN_DISTRIBUTIONS:
        raise RunnerfleetError(f"{name} must not go into the Lambda artefact")
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError as exc:
        raise RunnerfleetError(
            f"the Lambda artefact needs {name}, which is not installed here",
            hint="reinstall runnerfleet with its dependencies (make venv)",
        ) from exc
    for entry in dist.files or []:
        rel = entry.as_posix()
        if ".dist-info/" in rel or rel.startswith("..") or "__pycache__" in rel:
            continue
        if rel.endswith(".pyc"):
            continue
        if rel.endswith(COMPILED_SUFFIXES):
            raise RunnerfleetError(
                f"{name} ships compiled code ({rel}); the Lambda artefact takes pure python only",
                hint="use a pure-python dependency in the handlers",
            )
        yield rel, Path(str(entry.locate()))


def upload_if_absent(s3: Any, artefact: Artefact) -> bool:
    """Upload unless the key already exists; True when it uploaded. A missing bucket is fatal."""
    check_bucket(s3, artefact.bucket)
    try:
        s3.head_object(Bucket=artefact.bucket, Key=artefact.key)
        return False
    except Exception as exc:
        if error_code(exc) not in ("404", "NoSuchKey", "NotFound"):
            raise translate(exc, f"checking s3://{artefact.bucket}/{artefact.key}") from exc
    aws_call(
        lambda: s3.put_object(
            Bucket=artefact.bucket,
            Key=artefact.key,
            Body=artefact.data,
            ChecksumSHA256=_b64_sha256(artefact.data),
            ServerSideEncryption="AES256",
        ),
        f"upload the Lambda code to s3://{artefact.bucket}/{artefact.key}",
    )
    return True


INLINE_TEMPLATE_LIMIT = 51200  # bytes CreateChangeSet takes as TemplateBody


def template_url(s3: Any, *, bucket: str, prefix: str, stack: str, body: str, region: str) -> str:
    """Store a template too large to pass inline; content-addressed, uploaded once."""
    digest = hashlib.sha256(body.encode()).hexdigest()
    base = prefix if not prefix or prefix.endswith("/") else prefix + "/"
    artefact = Artefact(body.encode(), digest, bucket, f"{base}templates/{stack}-{digest}.json")
    upload_if_absent(s3, artefact)
    # Path style: bucket names with dots stay valid, and CloudFormation accepts it.
    return f"https://s3.{region}.amazonaws.com/{bucket}/{artefact.key}"


def check_bucket(s3: Any, bucket: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
    except Exception as exc:
        code = error_code(exc)
        if code in ("404", "NoSuchBucket", "NotFound"):
            raise AwsError(
                f"the artefact bucket {bucket} does not exist in this account and region",
                hint=f"create it (aws s3 mb s3://{bucket} --region REGION, with versioning and "
                "encryption), or set artifacts.bucket in the environment file to an existing one",
            ) from exc
        if code in ("403", "AccessDenied"):
            raise AwsError(
                f"access to the artefact bucket {bucket} is denied",
                hint="grant the deploying role s3:GetObject/PutObject/ListBucket on it, "
                "or use a bucket this account owns",
            ) from exc
        raise translate(exc, f"checking the artefact bucket {bucket}") from exc


def _b64_sha256(data: bytes) -> str:
    import base64

    return base64.b64encode(hashlib.sha256(data).digest()).decode()
