"""All SQL of the records service: reads (partitions, inserts, lookups by id) and search."""

from services.records.repository.reads import (
    HELD_FOR_CASE,
    drop_superseded_previews,
    ensure_day_partitions,
    existing_partition_days,
    get_image,
    get_read,
    insert_images,
    insert_reads,
    partition_name,
    plate_days_partition,
    plate_days_partition_ddl,
    set_hotlist_hits,
    store_reads,
    utc_day,
)
from services.records.repository.search import SearchPredicates, search_predicates, search_reads

__all__ = [
    "HELD_FOR_CASE",
    "SearchPredicates",
    "drop_superseded_previews",
    "ensure_day_partitions",
    "existing_partition_days",
    "get_image",
    "get_read",
    "insert_images",
    "insert_reads",
    "partition_name",
    "plate_days_partition",
    "plate_days_partition_ddl",
    "search_predicates",
    "search_reads",
    "set_hotlist_hits",
    "store_reads",
    "utc_day",
]
