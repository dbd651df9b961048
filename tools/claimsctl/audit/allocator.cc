// The allocator settings of the executables that audit (claimsctl, audit_bench), which link
// claims_audit_allocator: jemalloc replaces glibc's malloc in them, configured here rather than
// by an environment variable a user would have to set.
//
// An audit keeps every member's state (hundreds of MB for a million events) and allocates small
// objects for every event. On glibc's malloc a third of its CPU time went to the allocator and
// to page faults, one per 4 KiB page the heap grows by. jemalloc's thread caches make the small
// allocations cheaper, and `thp:always` backs its memory with transparent huge pages (it
// madvise()s its extents; a kernel whose THP mode is "never" simply ignores that), so the heap
// takes one fault per 2 MiB instead of 512. Freed memory is kept for reuse rather than handed
// back to the kernel after a while (`dirty_decay_ms:-1`, `muzzy_decay_ms:-1`): handing it back
// and faulting it in again, zeroed, cost more than anything a short-lived CLI saves by it.

extern "C" {
// Read by jemalloc when it starts (its documented configuration symbol).
const char* malloc_conf = "thp:always,metadata_thp:auto,dirty_decay_ms:-1,muzzy_decay_ms:-1";
}
