"""Records settings: retention is bounded by law, and refused at start-up when it is not."""

from __future__ import annotations

from pydantic import Field, model_validator

from libs.common.settings import MAX_RETENTION_DAYS, RetentionSettings

__all__ = ["MAX_RETENTION_DAYS", "RecordsSettings"]


class RecordsSettings(RetentionSettings):
    unmatched_retention_days: int | None = None  # B5: shorter cap for reads that matched no hotlist
    # a read may be dated into tomorrow (the clock skew), so its partition must exist; a month ahead is plenty
    partitions_ahead_days: int = Field(default=3, ge=1, le=31)
    # the retention purge runs this often (first run after one interval). Positive: 0 or less would run it back
    # to back; a day at most, since a read outlives its cutoff by up to one interval
    purge_interval_s: float = Field(default=3600.0, gt=0, le=86_400)
    ingest_batch: int = Field(default=1000, ge=1)  # reads per transaction
    # images per store, base64 bytes: they travel as one bytea[] value (flows.store_chunks), PostgreSQL's cap 1 GB
    ingest_image_bytes: int = Field(default=64 * 1024 * 1024, ge=1)
    # READS messages per fetch: a read each, or a bundle of up to 50 from a batch post
    ingest_fetch: int = Field(default=50, ge=1)
    # fetch-store loops per replica. One suffices: its consumer already fetches, parses and matches the next
    # batch while the current one waits on PostgreSQL (BatchConsumer's prefetch and prepare), and a second
    # halved each transaction: at 2,000 single posts/s records and PostgreSQL took 118-122 us a read with
    # two against 101-106 with one, batched 95-100 against 87-90 in all, the batched rate within the runs'
    # spread (bench/ingest.py, 2026-12-07). More help only where PostgreSQL, not this process, is the bound.
    ingest_pipelines: int = Field(default=1, ge=1)
    # after a short fetch, wait this long before the next (see BatchConsumer): single-read posts then share
    # a transaction by the dozen; 0 fetches again at once
    ingest_gather_ms: float = Field(default=20.0, ge=0, le=1000)
    # a read waits this long for its plate text; a minute would hold the whole batch's transaction
    recognize_timeout_s: float = Field(default=2.0, gt=0, le=60)
    # finding and reading a frame's plates: longer than a crop's reading, well inside the FRAMES ack wait (60 s)
    frame_read_timeout_s: float = Field(default=15.0, gt=0, lt=60)
    # FRAMES messages per fetch, read by the recognizer side by side (it batches them)
    frames_fetch: int = Field(default=8, ge=1)
    # rows one search may return: at least one, and bounded so a search cannot pull the whole table
    search_result_cap: int = Field(default=1000, ge=1, le=100_000)
    lookalike_classes: str = ""

    @model_validator(mode="after")
    def _unmatched_within_retention(self) -> RecordsSettings:
        if self.unmatched_retention_days is not None and not (
            1 <= self.unmatched_retention_days <= self.retention_days
        ):
            raise ValueError("ALPR_UNMATCHED_RETENTION_DAYS must be between 1 and the retention period")
        return self
