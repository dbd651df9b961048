#pragma once

#include <map>
#include <string>

namespace claims::test_support {

// The dev broker (librdkafka's mock cluster) checks an idempotent producer's sequence numbers
// only for transactional producers. So when a produce request fails (an injected error) while a
// later one is in flight, the retried request lands behind the later one: its records come out
// of order. A real broker refuses the later request (OUT_OF_ORDER_SEQUENCE) and the producer
// keeps the order. Producers of tests that inject produce errors add this to their
// ProducerOptions::properties: one request in flight per broker keeps the order on the dev
// broker too.
inline void OneRequestInFlight(std::map<std::string, std::string>& properties) {
  const std::string key = "max.in.flight.requests.per.connection";
  properties.insert_or_assign(key, std::string(1, '1'));
}

}  // namespace claims::test_support
