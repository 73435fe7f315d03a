"""All SQL of the audit service: the chain, the records as people read them, the audit unit's reviews."""

from services.audit.repository.chain import (
    append_links,
    chain_hashes,
    existing_event_ids,
    find_checkpoint,
    find_link,
    first_record_not_named,
    insert_checkpoint,
    iter_record_chunks,
    list_checkpoints,
    lock_chain_head,
    records_made_from,
)
from services.audit.repository.records import (
    count_by_day,
    find_record,
    find_records,
    flagged_attempts,
    search_summaries,
)
from services.audit.repository.reviews import (
    completeness_checked,
    get_sample,
    insert_completeness,
    insert_finding,
    insert_sample,
    sample_findings,
    sample_items,
)

__all__ = [
    "append_links",
    "chain_hashes",
    "completeness_checked",
    "count_by_day",
    "existing_event_ids",
    "find_checkpoint",
    "find_link",
    "find_record",
    "find_records",
    "first_record_not_named",
    "flagged_attempts",
    "get_sample",
    "insert_checkpoint",
    "insert_completeness",
    "insert_finding",
    "insert_sample",
    "iter_record_chunks",
    "list_checkpoints",
    "lock_chain_head",
    "records_made_from",
    "sample_findings",
    "sample_items",
    "search_summaries",
]
