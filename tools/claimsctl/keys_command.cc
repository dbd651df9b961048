#include "tools/claimsctl/keys_command.h"

#include <chrono>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "libs/crypto/keys.h"
#include "tools/claimsctl/client.h"
#include "tools/claimsctl/key_rewrap.h"
#include "tools/claimsctl/progress.h"
#include "tools/claimsctl/table.h"

namespace claims::ctl {

void AddKafkaSecurity(CLI::App* cmd, bus::KafkaSecurity& security) {
  cmd->add_option("--kafka-security-protocol", security.protocol,
                  "plaintext, ssl or sasl_ssl (as the services' flag)")
      ->capture_default_str();
  cmd->add_option("--kafka-ssl-ca-file", security.ssl_ca_file,
                  "CA certificates (PEM) that verify the brokers; default: the system's");
  cmd->add_option("--kafka-ssl-cert-file", security.ssl_cert_file,
                  "Client certificate (PEM), with --kafka-ssl-key-file");
  cmd->add_option("--kafka-ssl-key-file", security.ssl_key_file,
                  "Client key (PEM), with --kafka-ssl-cert-file");
  // Left empty unless given, as the services do, so that a mechanism without sasl_ssl is an
  // error; empty means SCRAM-SHA-512.
  security.sasl_mechanism.clear();
  cmd->add_option("--kafka-sasl-mechanism", security.sasl_mechanism,
                  "SCRAM-SHA-512 (default) or PLAIN (sasl_ssl only)");
  cmd->add_option("--kafka-sasl-username", security.sasl_username, "SASL user (sasl_ssl only)");
  cmd->add_option("--kafka-sasl-password-file", security.sasl_password_file,
                  "File holding the SASL password (never a flag value)");
}

void KeyCommands::Register(CLI::App& app, std::string& output) {
  output_ = &output;
  CLI::App* keys = app.add_subcommand("keys", "Members' data keys (operators)");
  keys->require_subcommand(1);
  rewrap_ = keys->add_subcommand(
      "rewrap",
      "Master-key rotation: re-wrap every member's data key in keys.members.v1 under the new "
      "master key. Reads every partition to its end (the snapshot), writes a re-wrapped record "
      "(acks=all) for each live key still under the old key, skips keys already under the new "
      "one (re-running is harmless), and tombstones again any key erased while it ran. A key "
      "neither master key opens is reported by member id and left alone (exit 1). Prints the "
      "counts: read, live, rewrapped, already_new, erased_during_run, failed.");
  rewrap_->add_option("--bootstrap-servers", bootstrap_servers_, "Kafka bootstrap servers")
      ->required();
  rewrap_
      ->add_option("--old-master-key-file", old_key_file_,
                   "The master key being replaced (32 bytes, raw or 64 hex digits)")
      ->required();
  rewrap_
      ->add_option("--new-master-key-file", new_key_file_,
                   "The master key the services now use as --master-key-file")
      ->required();
  rewrap_->add_flag("--dry-run", dry_run_,
                    "Read and count only, write nothing: 'rewrapped' is what remains under the "
                    "old key (0 once the rotation is complete)");
  rewrap_->add_option("--timeout", timeout_s_, "Seconds the whole run may take")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  AddKafkaSecurity(rewrap_, security_);
  AddOutput(rewrap_, output);
  rewrap_->footer(kExitCodesHelp);
}

std::optional<int> KeyCommands::Run() {
  if (rewrap_ != nullptr && rewrap_->parsed()) return Rewrap();
  return std::nullopt;
}

int KeyCommands::Rewrap() {
  Result<crypto::MasterKey> old_key = crypto::MasterKey::FromFile(old_key_file_);
  if (!old_key.ok()) return Usage("--old-master-key-file", old_key.status().message());
  Result<crypto::MasterKey> new_key = crypto::MasterKey::FromFile(new_key_file_);
  if (!new_key.ok()) return Usage("--new-master-key-file", new_key.status().message());
  if (new_key->material().SameAs(old_key->material())) {
    return Usage("--new-master-key-file",
                 new_key_file_ + " holds the same key as --old-master-key-file " + old_key_file_);
  }
  Result<std::map<std::string, std::string>> kafka = bus::KafkaSecurityProperties(security_);
  if (!kafka.ok()) {
    std::cerr << "claimsctl: " << kafka.status().message() << "\n";
    return kExitUsage;
  }
  RewrapOptions options;
  options.bootstrap_servers = bootstrap_servers_;
  options.kafka_properties = *kafka;
  options.dry_run = dry_run_;
  options.timeout = std::chrono::seconds(timeout_s_);
  ProgressBar bar("keys");
  options.progress = [&](uint64_t done, uint64_t total) { bar.Update(done, total, done); };
  Result<RewrapResult> result = RewrapKeys(*old_key, *new_key, options);
  if (!result.ok()) {
    std::cerr << "claimsctl: keys rewrap: " << StatusCodeName(result.status().code()) << ": "
              << result.status().message() << "\n";
    const StatusCode code = result.status().code();
    return code == StatusCode::kUnavailable || code == StatusCode::kDeadlineExceeded
               ? kExitUnavailable
               : kExitUsage;
  }
  const RewrapResult& r = *result;
  for (const RewrapFailure& f : r.failures) {
    std::cerr << "claimsctl: member " << f.member_id << ": the key record at " << options.topic
              << "/" << f.partition << "@" << f.offset << " " << f.reason
              << "; nothing written for it\n";
  }
  if (dry_run_) std::cerr << "claimsctl: keys rewrap: dry run, nothing written\n";
  if (!r.incomplete.ok()) {
    std::cerr << "claimsctl: keys rewrap: " << StatusCodeName(r.incomplete.code()) << ": "
              << r.incomplete.message() << "\n";
  }
  for (const std::string& member : r.erase_again) {
    std::cerr << "claimsctl: member " << member << ": erase again\n";
  }
  if (*output_ == "json") {
    nlohmann::ordered_json j;
    j["dry_run"] = dry_run_;
    j["read"] = r.read;
    j["live"] = r.live;
    j["rewrapped"] = r.rewrapped;
    j["already_new"] = r.already_new;
    j["erased_during_run"] = r.erased_during_run;
    j["failed"] = r.failed;
    j["failures"] = nlohmann::ordered_json::array();
    for (const RewrapFailure& f : r.failures) {
      j["failures"].push_back({{"member_id", f.member_id},
                               {"partition", f.partition},
                               {"offset", f.offset},
                               {"reason", f.reason}});
    }
    j["complete"] = r.incomplete.ok();
    j["erase_again"] = r.erase_again;
    std::cout << j.dump(2) << "\n";
  } else {
    Table table;
    table.columns = {"read", "live", "rewrapped", "already_new", "erased_during_run", "failed"};
    table.numeric = {true, true, true, true, true, true};
    table.rows.push_back({std::to_string(r.read), std::to_string(r.live),
                          std::to_string(r.rewrapped), std::to_string(r.already_new),
                          std::to_string(r.erased_during_run), std::to_string(r.failed)});
    table.Print(*output_, std::cout);
  }
  if (!r.incomplete.ok()) return kExitUnavailable;
  return r.failed > 0 ? kExitFailures : kExitOk;
}

}  // namespace claims::ctl
