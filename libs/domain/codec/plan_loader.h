#pragma once

#include <string>
#include <string_view>

#include "libs/base/status.h"
#include "libs/domain/plan.h"

namespace claims::codec {

// Parses a plan written in protobuf text format (mutualaid.plan.v1.Plan) and validates it with
// domain::ValidatePlan. `source` names the text in errors (a file path). On failure: an
// INVALID_ARGUMENT status whose violations name "<source>:<line>: <field path>" for every
// problem found (syntax errors stop at the first). The plan's sha256 is the SHA-256 of `text`.
Result<domain::Plan> ParsePlan(std::string_view text, const std::string& source);

// Reads and parses a plan file. NOT_FOUND when it cannot be read.
Result<domain::Plan> LoadPlanFile(const std::string& path);

}  // namespace claims::codec
