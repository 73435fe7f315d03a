"""All SQL of the records service: reads (partitions, inserts, lookups by id) and search."""

from services.records.repository.reads import (
    HELD_FOR_CASE,
    Image,
    drop_superseded_previews,
    ensure_day_partitions,
    existing_partition_days,
    get_image,
    get_read,
    insert_reads,
    partition_name,
    plate_days_partition,
    plate_days_partition_ddl,
    store_reads,
    store_reads_alone,
    utc_day,
)
from services.records.repository.search import SearchPredicates, search_predicates, search_reads

__all__ = [
    "HELD_FOR_CASE",
    "Image",
    "SearchPredicates",
    "drop_superseded_previews",
    "ensure_day_partitions",
    "existing_partition_days",
    "get_image",
    "get_read",
    "insert_reads",
    "partition_name",
    "plate_days_partition",
    "plate_days_partition_ddl",
    "search_predicates",
    "search_reads",
    "store_reads",
    "store_reads_alone",
    "utc_day",
]
