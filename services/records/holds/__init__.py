"""Legal holds (B2): reads kept past retention because reasonable suspicion ties them to a crime.

A hold names a case, a justification, its requester, a different approving supervisor and a review
date, and its reads by id or by plate and window. Only an approved (active) hold keeps anything.
When the purge reaches a held read's partition it copies the read and its images to `held_reads` /
`held_read_images` first. Such a copy answers a search only when the search's purpose names the case
number of an active hold that keeps it (and the window, within the person's class look-back, covers
it); a detail or image view of it follows from that search like any other. When the hold is released
or its review date passes, the next purge (started at once on release) deletes the copies that no
other active hold keeps, and its deletion certificate counts them.
"""
