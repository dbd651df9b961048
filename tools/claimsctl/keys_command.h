#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "libs/bus/security.h"

// The operators' key commands: `keys rewrap` re-wraps every member's data key in keys.members.v1
// under a new master key (key_rewrap.h; deploy/README.md, "Rotating keys").
namespace claims::ctl {

// Adds the services' Kafka security flags (libs/bus/security.h, same names and meaning) to
// `cmd`, filling `security`.
void AddKafkaSecurity(CLI::App* cmd, bus::KafkaSecurity& security);

class KeyCommands {
 public:
  // Registers "keys" and its subcommands on `app`; `output` is the shared --output value.
  void Register(CLI::App& app, std::string& output);
  // The exit code when one of these commands was parsed; nullopt otherwise.
  std::optional<int> Run();

 private:
  int Rewrap();

  std::string* output_ = nullptr;
  CLI::App* rewrap_ = nullptr;
  std::string bootstrap_servers_;
  bus::KafkaSecurity security_;
  std::string old_key_file_;
  std::string new_key_file_;
  bool dry_run_ = false;
  int timeout_s_ = 600;
};

}  // namespace claims::ctl
