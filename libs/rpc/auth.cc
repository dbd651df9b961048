#include "libs/rpc/auth.h"

#include <grpcpp/security/auth_context.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "libs/crypto/sha256.h"

namespace claims::rpc {

const char* RoleName(Role role) {
  switch (role) {
    case Role::kPartner:
      return "partner";
    case Role::kReviewer:
      return "reviewer";
    case Role::kOperator:
      return "operator";
    case Role::kAuditor:
      return "auditor";
  }
  return "?";
}

Result<Caller> ParsePrincipal(std::string_view principal) {
  const size_t colon = principal.find(':');
  if (colon == std::string_view::npos) {
    return Unauthenticated("principal must be ROLE:ID");
  }
  const std::string_view role = principal.substr(0, colon);
  const std::string_view id = principal.substr(colon + 1);
  Caller caller;
  if (role == "partner") {
    caller.role = Role::kPartner;
  } else if (role == "reviewer") {
    caller.role = Role::kReviewer;
  } else if (role == "operator") {
    caller.role = Role::kOperator;
  } else if (role == "auditor") {
    caller.role = Role::kAuditor;
  } else {
    return Unauthenticated("unknown role in principal");
  }
  if (id.empty() || id.size() > 64) return Unauthenticated("principal id must be 1-64 characters");
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return Unauthenticated("principal id has a character outside [A-Za-z0-9._-]");
  }
  caller.id = std::string(id);
  return caller;
}

namespace {

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

uint8_t HexValue(char c) {
  if (c >= '0' && c <= '9') return static_cast<uint8_t>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<uint8_t>(c - 'a' + 10);
  return static_cast<uint8_t>(c - 'A' + 10);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

Result<BearerTokens> BearerTokens::Parse(std::string_view text, std::string_view source) {
  BearerTokens out;
  size_t line_number = 0;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    std::string_view line = Trim(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++line_number;
    if (line.empty() || line.front() == '#') continue;
    const std::string where = std::string(source) + ":" + std::to_string(line_number);
    auto bad = [&](const std::string& why) {
      return InvalidArgument("bad bearer token line " + where + ": " + why, {{where, why}});
    };
    const size_t space = line.find_first_of(" \t");
    if (space == std::string_view::npos) return bad("want '<sha256 hex> <principal>'");
    const std::string_view hash = line.substr(0, space);
    const std::string_view principal = Trim(line.substr(space + 1));
    if (hash.size() != 64 || !std::all_of(hash.begin(), hash.end(), IsHex)) {
      return bad("the hash must be 64 hex digits (the SHA-256 of the token)");
    }
    Result<Caller> caller = ParsePrincipal(principal);
    if (!caller.ok()) return bad(caller.status().message());
    Entry entry{{}, std::move(caller).value()};
    for (size_t i = 0; i < 32; ++i) {
      entry.sha256[i] =
          static_cast<uint8_t>(HexValue(hash[2 * i]) << 4 | HexValue(hash[2 * i + 1]));
    }
    for (const Entry& e : out.entries_) {
      if (e.sha256 == entry.sha256) return bad("the same token hash is listed twice");
    }
    out.entries_.push_back(std::move(entry));
  }
  return out;
}

Result<BearerTokens> BearerTokens::FromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read bearer tokens file " + path);
  std::stringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

Result<Caller> BearerTokens::Find(std::string_view token) const {
  const crypto::Sha256Digest digest = crypto::Sha256(token);
  // Every entry is compared in full, whatever matches: the time taken tells nothing about which
  // bytes of which hash agree.
  const Entry* found = nullptr;
  for (const Entry& e : entries_) {
    uint8_t diff = 0;
    for (size_t i = 0; i < digest.size(); ++i)
      diff |= static_cast<uint8_t>(e.sha256[i] ^ digest[i]);
    volatile uint8_t settled = diff;
    if (settled == 0) found = &e;
  }
  if (found == nullptr) return Unauthenticated("unknown bearer token");
  return found->caller;
}

Result<Caller> Authenticate(const grpc::ServerContextBase& context, const AuthOptions& options) {
  const auto& metadata = context.client_metadata();
  if (options.insecure_dev) {
    auto it = metadata.find(kPrincipalHeader);
    if (it == metadata.end()) {
      return Unauthenticated(std::string("missing metadata ") + kPrincipalHeader);
    }
    return ParsePrincipal(std::string_view(it->second.data(), it->second.size()));
  }
  if (options.bearer_tokens != nullptr) {
    auto it = metadata.find(kAuthorizationHeader);
    if (it != metadata.end()) {
      const std::string_view value(it->second.data(), it->second.size());
      constexpr std::string_view kScheme = "Bearer ";
      if (value.size() <= kScheme.size() || value.substr(0, kScheme.size()) != kScheme) {
        return Unauthenticated("authorization metadata must be 'Bearer <token>'");
      }
      return options.bearer_tokens->Find(value.substr(kScheme.size()));
    }
  }
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) {
    return Unauthenticated(options.bearer_tokens != nullptr
                               ? "a bearer token or a verified client certificate is required"
                               : "a verified client certificate is required");
  }
  const std::vector<grpc::string_ref> names = auth->FindPropertyValues("x509_common_name");
  if (names.empty()) return Unauthenticated("the client certificate has no common name");
  return ParsePrincipal(std::string_view(names.front().data(), names.front().size()));
}

Result<Caller> Authenticate(const grpc::ServerContextBase& context, bool insecure_dev) {
  return Authenticate(context, AuthOptions{.insecure_dev = insecure_dev});
}

Status Require(const Caller& caller, Role role) {
  if (caller.role == role) return Status::Ok();
  return PermissionDenied(std::string("this call needs the ") + RoleName(role) +
                          " role; caller is " + RoleName(caller.role));
}

}  // namespace claims::rpc
