// The allocator settings of the service executables (intake, adjudication, payout) and of the
// benchmarks that run their code as they run it: jemalloc replaces glibc's malloc in every
// executable that links claims::server_allocator, configured here rather than by an environment
// variable an operator would have to set.
//
// A service allocates small objects on one thread and frees them on another, all the time: a
// call's request and event are made on a gRPC thread and freed on a committer thread once Kafka
// answered; librdkafka copies every record and frees it on its broker threads. glibc's malloc
// then takes the lock of the arena the memory came from, and consolidates its free lists, which
// cost intake about a tenth of its CPU. jemalloc's thread caches hand such memory back without
// that lock. Measured in one run, alternating (intake_bench 64 5 100000, the numbers in
// services/intake's notes): CPU per SubmitClaim call 2.72-2.78 x the echo's with glibc's malloc,
// 2.32-2.43 x with jemalloc; BulkEnroll 73-76 CPU-us per member against 57-61.
//
// `background_thread:true`: a jemalloc thread returns unused memory to the kernel after a while
// (the default decay, 10 s), instead of the threads that serve calls doing it in passing.

extern "C" {
// Read by jemalloc when it starts (its documented configuration symbol).
const char* malloc_conf = "background_thread:true";
}
