"""The Lambda artefact: deterministic bytes, content-addressed key, upload once, clear errors."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest

from runnerfleet.aws.artifacts import (
    PACKAGE_ROOT,
    artefact_for,
    artefact_key,
    build_zip,
    cached_zip,
    upload_if_absent,
)
from runnerfleet.errors import AwsError


@pytest.fixture(scope="module")
def built() -> tuple[bytes, str]:
    return build_zip()


def test_zip_is_deterministic_and_named_by_its_hash(built):
    again = build_zip()
    assert again == built
    assert (
        artefact_key("runnerfleet/", built[1]) == f"runnerfleet/lambda/runnerfleet-{built[1]}.zip"
    )
    assert artefact_key("custom", built[1]).startswith("custom/lambda/")


def test_zip_holds_the_handlers_and_pure_python_deps_only(built):
    archive = zipfile.ZipFile(io.BytesIO(built[0]))
    names = archive.namelist()
    assert names == sorted(names)
    assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert "runnerfleet/handlers/__init__.py" in names
    assert "runnerfleet/aws/clients.py" in names
    assert any(n.startswith("httpx/") for n in names)
    assert any(n.startswith("prometheus_client/") for n in names)
    assert "certifi/cacert.pem" in names
    for name in names:
        assert not name.endswith((".so", ".pyd", ".pyc")), name
        assert not name.startswith(("pydantic", "runnerfleet/envfile/", "runnerfleet/cli/")), name
        assert name != "runnerfleet/ops/deploy.py"


def test_artefact_uploads_once_then_keeps_its_key(factory, bucket):
    first = artefact_for(bucket, "runnerfleet/")
    s3 = factory.client("s3")
    assert upload_if_absent(s3, first) is True
    second = artefact_for(bucket, "runnerfleet/")
    assert second.key == first.key
    assert upload_if_absent(s3, second) is False
    body = s3.get_object(Bucket=bucket, Key=first.key)["Body"].read()
    assert body == first.data


def test_missing_bucket_is_a_clear_error_with_the_fix(factory):
    artefact = artefact_for("no-such-bucket-here", "runnerfleet/")
    with pytest.raises(AwsError) as caught:
        upload_if_absent(factory.client("s3"), artefact)
    assert "does not exist" in caught.value.message
    assert "aws s3 mb s3://no-such-bucket-here" in (caught.value.hint or "")
    assert caught.value.exit_code == 5


def test_the_cached_zip_is_the_built_one_and_follows_every_change(tmp_path: Path) -> None:
    root, cache = tmp_path / "runnerfleet", tmp_path / "cache"
    shutil.copytree(PACKAGE_ROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    fresh = build_zip(root, ())
    assert cached_zip(root, (), cache) == fresh  # built, then kept
    (kept,) = cache.glob("lambda-*.zip")
    assert cached_zip(root, (), cache) == fresh  # read back
    (root / "scaling" / "decide.py").write_text("# changed\n", encoding="utf-8")
    changed = cached_zip(root, (), cache)
    assert changed == build_zip(root, ()) and changed[1] != fresh[1]
    assert not kept.exists() and len(list(cache.glob("lambda-*.zip"))) == 1  # only the latest


def test_a_damaged_or_unwritable_cache_only_costs_a_build(tmp_path: Path) -> None:
    root, cache = tmp_path / "runnerfleet", tmp_path / "cache"
    shutil.copytree(PACKAGE_ROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    fresh = cached_zip(root, (), cache)
    (kept,) = cache.glob("lambda-*.zip")
    kept.write_bytes(kept.read_bytes()[:100])  # truncated: its SHA-256 no longer matches
    assert cached_zip(root, (), cache) == fresh
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("not a folder", encoding="utf-8")
    assert cached_zip(root, (), in_the_way) == fresh
