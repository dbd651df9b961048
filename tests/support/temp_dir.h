#pragma once

#include <string>

#include "libs/base/status.h"

namespace claims::test_support {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
// Movable, not copyable.
class TempDir {
 public:
  // `prefix` starts the directory's name, to tell tests apart in /tmp.
  static Result<TempDir> Create(const std::string& prefix = "claims-test");
  ~TempDir();
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace claims::test_support
