#pragma once

// Requests to intake that tests and benchmarks send. Header-only: the including target links the
// generated intake API.

#include <string>

#include "mutualaid/intake/v1/intake.pb.h"

namespace claims::test_support {

// An accidental-injury claim of 60,000 fen with its medical receipts and `medical_detail` (health
// data, which intake seals).
inline mutualaid::intake::v1::SubmitClaimRequest AccidentClaim(
    const std::string& key, const std::string& member,
    const std::string& medical_detail = "左腿骨折") {
  mutualaid::intake::v1::SubmitClaimRequest r;
  r.set_idempotency_key(key);
  r.set_member_id(member);
  r.set_coverage(mutualaid::events::v1::ACCIDENTAL_INJURY);
  r.set_incident_date("2024-05-20");
  r.set_amount_fen(60000);
  r.add_documents("MEDICAL_RECEIPTS");
  r.set_medical_detail(medical_detail);
  return r;
}

}  // namespace claims::test_support
