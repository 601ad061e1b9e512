"""Files S3 takes in one PutObject: each read once, into memory, and its digests those
of the very bytes sent (the :class:`~fsartifacts.stores.s3.writes.S3Writes` of the S3
ops, beside their multipart uploads and copies)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING

from fsspec.callbacks import Callback, NoOpCallback

from fsartifacts.hashing import DigestsOnUse, FileDigests, hash_bytes, read_whole
from fsartifacts.stores.base import FolderFile, StoredCopy
from fsartifacts.stores.journals import UploadJournals
from fsartifacts.stores.s3.filesystem import part_size_for
from fsartifacts.stores.s3.objects import S3Objects


class OnePutUploads(S3Objects):
    """A file sent in one PutObject is read once, into memory, and its digests are those
    of the very bytes sent (``hashes_uploads``): hashed first and read again to be sent,
    it was read and hashed twice. A file sent in parts is hashed first, since its sha256
    goes in the metadata its multipart upload begins with, but by the upload, which takes
    each part's CRC32 in that read to check the part by when it reads it again to send it
    (:meth:`S3Writes.upload_hashing`): hashed by the push, the parts were hashed again."""

    hashes_uploads = True

    def hashes_upload_of(self, size: int) -> bool:
        return True

    def _one_put(self, size: int) -> bool:
        return size < 2 * part_size_for(size, self.transfer.part_size)  # s3fs's own rule

    def _wanted(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(("sha256", *self.upload_digests)))

    def upload_hashing(
        self,
        src: IO[bytes],
        rpath: str,
        *,
        exclusive: bool,
        callback: Callback | None = None,
        journals: UploadJournals | None = None,
    ) -> FileDigests:
        """A file for one PutObject read once, hashed from those bytes and sent; a larger
        one (or one whose size changes under the read) as the generic way does it."""
        size = os.fstat(src.fileno()).st_size
        if self._one_put(size):
            data = src.read(size + 1)
            st = os.fstat(src.fileno())
            if len(data) == size == st.st_size:
                digests = FileDigests(hash_bytes(data, self._wanted()), st)
                self._send(rpath, src.name, data, digests["sha256"], exclusive=exclusive,
                           record=True, callback=callback)  # fmt: skip
                return digests
            src.seek(0)
        return super().upload_hashing(src, rpath, exclusive=exclusive, callback=callback,
                                      journals=journals)  # fmt: skip

    def upload_member(
        self,
        folder: str,
        file: FolderFile,
        callback: Callback,
        *,
        sources: Mapping[str, StoredCopy] | None = None,
    ) -> None:
        """A file of a folder not hashed yet, for one PutObject: read once, hashed from
        those bytes (its digests, for the manifest, are theirs) and sent, or copied from
        its source in ``sources``."""
        lpath, relative, digests = file
        read = None
        if (
            isinstance(digests, DigestsOnUse)
            and digests.pending
            and self._one_put(digests.size_found)
        ):
            read = read_whole(lpath, digests.size_found)
        if read is None or not isinstance(digests, DigestsOnUse):
            super().upload_member(folder, file, callback, sources=sources)
            return
        sent = hash_bytes(read.data, self._wanted())
        digests.hashed(read._replace(digests=sent))
        rpath = f"{folder}/{relative}"
        source = (sources or {}).get(sent["sha256"])
        if source is not None and self.copy(source, rpath, digests=digests):
            callback.relative_update(source.size)
            return
        self._send(rpath, lpath, read.data, sent["sha256"], exclusive=False, record=False,
                   callback=callback)  # fmt: skip

    if TYPE_CHECKING:

        def _put_small(
            self,
            bucket: str,
            key: str,
            data: bytes,
            metadata: dict[str, str] | None,
            content_type: str,
            *,
            exclusive: bool,
        ) -> None: ...

    def _send(
        self,
        rpath: str,
        lpath: str,
        data: bytes,
        sha256: str,
        *,
        exclusive: bool,
        record: bool,
        callback: Callback | None,
    ) -> None:
        """One PutObject of ``data`` (the local file ``lpath``'s bytes, of ``sha256``)."""
        callback = callback or NoOpCallback()
        bucket, key = self._split(rpath)
        metadata = self._metadata(sha256 if record else None)
        with self._errors(rpath, "upload to"):
            callback.set_size(len(data))
            self._put_small(bucket, key, data, metadata, self._content_type(lpath),
                            exclusive=exclusive)  # fmt: skip
            callback.relative_update(len(data))
