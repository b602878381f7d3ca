"""EFS, read-only: a file system by its Name tag."""

from __future__ import annotations

from .reader import AwsReader


def file_system(aws: AwsReader, name: str) -> dict | None:
    """``elasticfilesystem:DescribeFileSystems``: the file system whose Name tag is ``name`` (None if there is
    none; the first by creation time if several)."""
    found = [fs for fs in aws.pages("efs", "describe_file_systems", "FileSystems") if fs.get("Name") == name]
    return min(found, key=lambda fs: str(fs.get("CreationTime", ""))) if found else None
